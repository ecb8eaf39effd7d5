/**
 * Real registries as the scale bench's source: a ZooKeeper (Debian's, test-support/peers/zookeeper.mjs)
 * holding Dubbo interface-level providers, or an etcd (test-support/peers/peers.mjs) holding one JSON
 * instance per key. The bench process (not the bridge) populates the registry before the bridge
 * starts, writes every change as a provider would, counts the requests the bridge makes to the
 * registry, and predicts each change's ServiceEntry version with the adapters' own pure parse and
 * build functions (checked against the full sync: see scale.ts). Also the registries' own watch
 * latency floors, measured with bare clients.
 *
 * Contract: every peer binds 127.0.0.1 and is stopped by stop(); a missing peer is a reason
 * string, never an exception (the bench is not CI). Nothing here asserts on time.
 */
import { request as httpRequest } from 'node:http';
import { Etcd3 } from 'etcd3';
import zookeeper from 'node-zookeeper-client';
import { convert, hostFor } from '../../src/convert/index.js';
import { Protocol, type Service } from '../../src/model/index.js';
import { buildService as buildEtcdService, parseInstance, templateLayout, type InstanceRecord } from '../../src/registry/etcd/index.js';
import { buildService as buildZkService, type EndpointPart } from '../../src/registry/zookeeper/build-service.js';
import { ZOOKEEPER_REGISTRY_KIND } from '../../src/registry/zookeeper/index.js';
import { interfaceServiceName, parseProviderNode, providerPart } from '../../src/registry/zookeeper/providers.js';
import { javaUrlEncode, loadZookeeperPeers, type ZookeeperServer } from '../../test-support/zookeeper.js';
import { loadPeers, type Etcd } from '../../test-support/peers.js';
import { percentile } from '../harness.js';
import { conversionOptions, registryName, type BridgeSource, type Change } from './protocol.js';

export const SourceKind = { ZOOKEEPER: 'zookeeper', ETCD: 'etcd' } as const;
export type SourceKind = (typeof SourceKind)[keyof typeof SourceKind];

export interface IdleCount {
  /** Requests the bridge sent to the registry over the interval (keepalive pings excluded). */
  readonly requests: number;
  readonly detail: string;
}

export interface RealSource {
  readonly kind: SourceKind;
  readonly bridgeSource: BridgeSource;
  /** Writes every service (variant 0) in bulk; resolves with the time it took and the write requests. */
  populate(): Promise<{ readonly ms: number; readonly requests: number }>;
  /** Sends change `c` (endpoint 0 of service c.svc moves to c.variant); settles on the registry's ack. */
  write(c: Change): Promise<void>;
  /** The ServiceEntry (namespace/name) and version the bridge should publish after `c`. */
  expected(c: Pick<Change, 'svc' | 'variant'>): { readonly name: string; readonly version: string };
  /** Starts counting the requests other clients than this one send; the result counts until it is called. */
  countRequests(): Promise<() => Promise<IdleCount>>;
  readonly notes: string;
  stop(): Promise<void>;
}

export interface FloorSample {
  readonly name: string;
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly notes: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/** Address of endpoint k of service i at `variant` (as bench/data.ts: variant > 0 moves endpoint 0 to 11.x.y.z). */
function address(i: number, k: number, variant: number): string {
  return k === 0 && variant > 0 ? `11.${(variant >> 16) & 255}.${(variant >> 8) & 255}.${variant & 255}` : `10.${(i >> 8) & 255}.${i & 255}.${k + 1}`;
}

function interfaceName(i: number): string {
  return `com.example.shop${i % 100}.OrderService${i}`;
}

/** ServiceEntry name (namespace/name) and content version the pipeline gives `s` (one registry, one service per host). */
function versionOf(s: Service): { name: string; version: string } {
  const o = conversionOptions();
  const r = convert({ host: hostFor(s, o), primary: s, ports: s.ports, endpoints: s.endpoints, origins: [s.registry] }, o).resources[0];
  if (r === undefined) throw new Error(`conversion of ${s.name} gave no resource`);
  return { name: `${r.namespace}/${r.name}`, version: r.version };
}

/** Why `kind`'s peer cannot run here (undefined: it can). */
export async function sourceMissing(kind: SourceKind): Promise<string | undefined> {
  if (kind === SourceKind.ZOOKEEPER) return (await loadZookeeperPeers()).zookeeperPeerMissing('zookeeper');
  return (await loadPeers()).peerAvailable('etcd') ? undefined : 'etcd not built: run test-support/peers/build-peers.sh';
}

export async function startSource(kind: SourceKind, services: number, endpoints: number): Promise<RealSource> {
  return kind === SourceKind.ZOOKEEPER ? ZkSource.start(services, endpoints) : EtcdSource.start(services, endpoints);
}

// ---------------------------------------------------------------------------------------------
// ZooKeeper

class Zk {
  private constructor(readonly client: zookeeper.Client) {}
  static async connect(connectString: string): Promise<Zk> {
    const client = zookeeper.createClient(connectString, { sessionTimeout: 30_000 });
    await new Promise<void>((resolve) => {
      client.once('connected', () => resolve());
      client.connect();
    });
    return new Zk(client);
  }
  sessionId(): bigint {
    return BigInt(`0x${this.client.getSessionId().toString('hex')}`);
  }
  create(path: string): Promise<void> {
    return new Promise((resolve, reject) => this.client.create(path, Buffer.alloc(0), zookeeper.CreateMode.PERSISTENT, (e) => (e ? reject(asError(e)) : resolve())));
  }
  remove(path: string): Promise<void> {
    return new Promise((resolve, reject) => this.client.remove(path, (e) => (e ? reject(asError(e)) : resolve())));
  }
  /** Creates (persistent) and removes in one multi request. */
  multi(creates: readonly string[], removes: readonly string[] = []): Promise<void> {
    const t = this.client.transaction();
    for (const p of removes) t.remove(p);
    for (const p of creates) t.create(p, Buffer.alloc(0), zookeeper.CreateMode.PERSISTENT);
    return new Promise((resolve, reject) => t.commit((e) => (e ? reject(asError(e)) : resolve())));
  }
  /** Lists `path`'s children and arms a one-shot children watch; `fired` resolves when it fires. */
  watchChildren(path: string): Promise<{ fired: Promise<number> }> {
    let fire: ((at: number) => void) | undefined;
    const fired = new Promise<number>((r) => (fire = r));
    return new Promise((resolve, reject) =>
      this.client.getChildren(
        path,
        () => fire?.(performance.now()),
        (e) => (e ? reject(asError(e)) : resolve({ fired })),
      ),
    );
  }
  close(): void {
    this.client.close();
  }
}

/** Sums of recved and lcxid (last client xid: requests, never pings) per session id, from `cons`. */
function parseCons(text: string): Map<bigint, { recved: number; lcxid: number }> {
  const out = new Map<bigint, { recved: number; lcxid: number }>();
  for (const line of text.split('\n')) {
    const sid = /sid=0x([0-9a-f]+)/.exec(line)?.[1];
    if (sid === undefined) continue;
    const recved = Number(/recved=([0-9]+)/.exec(line)?.[1] ?? 0);
    const lcxid = /lcxid=0x([0-9a-f]+)/.exec(line)?.[1];
    out.set(BigInt(`0x${sid}`), { recved, lcxid: lcxid === undefined ? 0 : Number.parseInt(lcxid, 16) });
  }
  return out;
}

class ZkSource implements RealSource {
  readonly kind = SourceKind.ZOOKEEPER;
  readonly notes =
    'ZooKeeper 3.8 (Debian), Dubbo interface-level providers /dubbo/<interface>/providers/<URL-encoded dubbo:// URL>, one per endpoint (persistent nodes; Dubbo writes ephemeral ones, the watch path is the same); a change removes one provider node and creates its replacement in one multi request';
  private readonly current = new Map<number, number>();
  private constructor(
    private readonly server: ZookeeperServer,
    private readonly writer: Zk,
    private readonly services: number,
    private readonly endpoints: number,
  ) {}

  static async start(services: number, endpoints: number): Promise<ZkSource> {
    const server = await (await loadZookeeperPeers()).startZookeeper();
    try {
      const writer = await Zk.connect(server.connectString);
      return new ZkSource(server, writer, services, endpoints);
    } catch (e) {
      await server.stop();
      throw e;
    }
  }

  get bridgeSource(): BridgeSource {
    return { kind: 'zookeeper', connectString: this.server.connectString };
  }

  private providerNode(i: number, k: number, variant: number): string {
    const iface = interfaceName(i);
    const url =
      `dubbo://${address(i, k, variant)}:20880/${iface}?anyhost=true&application=shop${i % 100}-provider&dubbo=2.0.2&group=shop` +
      `&interface=${iface}&methods=get,list,put&pid=4242&release=3.2.0&side=provider&timestamp=1700000000000&version=1.0.0&weight=100`;
    return javaUrlEncode(url);
  }

  private providerPath(i: number, k: number, variant: number): string {
    return `/dubbo/${interfaceName(i)}/providers/${this.providerNode(i, k, variant)}`;
  }

  async populate(): Promise<{ ms: number; requests: number }> {
    const t = performance.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.writer.create('/dubbo');
        break;
      } catch (e) {
        if (attempt > 50) throw e;
        await sleep(200); // "not currently serving requests" right after start
      }
    }
    // One multi per service (interface, providers folder, its providers), 64 in flight.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < this.services) {
        const i = next++;
        const base = `/dubbo/${interfaceName(i)}`;
        await this.writer.multi([base, `${base}/providers`, ...Array.from({ length: this.endpoints }, (_, k) => this.providerPath(i, k, 0))]);
      }
    };
    await Promise.all(Array.from({ length: 64 }, worker));
    return { ms: performance.now() - t, requests: this.services + 1 };
  }

  write(c: Change): Promise<void> {
    const old = this.current.get(c.svc) ?? 0;
    this.current.set(c.svc, c.variant);
    // One session: ZooKeeper applies its requests in order, so pipelined changes of one service chain.
    return this.writer.multi([this.providerPath(c.svc, 0, c.variant)], [this.providerPath(c.svc, 0, old)]);
  }

  expected(c: Pick<Change, 'svc' | 'variant'>): { name: string; version: string } {
    // As ZookeeperRegistry.rebuildInterface: parse every provider node, group, build.
    const iface = interfaceName(c.svc);
    const parts: EndpointPart[] = [];
    let group = '';
    let version = '';
    for (let k = 0; k < this.endpoints; k++) {
      const p = parseProviderNode(this.providerNode(c.svc, k, k === 0 ? c.variant : 0));
      if (p.type !== 'ok') throw new Error(`bench provider URL does not parse: ${p.type}`);
      const e = p.entry;
      group = e.group;
      version = e.version;
      parts.push(providerPart(e));
    }
    const attributes: Record<string, string> = { interface: iface };
    if (group !== '') attributes['group'] = group;
    if (version !== '') attributes['version'] = version;
    const { service } = buildZkService({ registry: registryName(0), kind: ZOOKEEPER_REGISTRY_KIND, name: interfaceServiceName(iface, group, version), attributes, parts });
    if (service === undefined) throw new Error('no service built');
    return versionOf(service);
  }

  async countRequests(): Promise<() => Promise<IdleCount>> {
    const mine = this.writer.sessionId();
    const read = async (): Promise<{ recved: number; lcxid: number; sessions: number }> => {
      const cons = parseCons(await this.server.fourLetter('cons'));
      let recved = 0;
      let lcxid = 0;
      let sessions = 0;
      for (const [sid, v] of cons) {
        if (sid === mine) continue;
        recved += v.recved;
        lcxid += v.lcxid;
        sessions += 1;
      }
      return { recved, lcxid, sessions };
    };
    const before = await read();
    return async () => {
      const after = await read();
      const requests = after.lcxid - before.lcxid;
      const packets = after.recved - before.recved;
      return {
        requests,
        detail:
          `ZooKeeper \`cons\` (4lw) over the bridge's session${after.sessions === 1 ? '' : `s (${after.sessions})`}: ` +
          `${requests} requests (last client xid delta), ${packets - requests} pings (packets received ${packets})`,
      };
    };
  }

  async stop(): Promise<void> {
    this.writer.close();
    await this.server.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// etcd

const ETCD_PREFIX = '/meshbridge/services/';
const ETCD_LAYOUT = '{namespace}/{service}/{instance}';

function getText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end();
  });
}

/** grpc_method -> summed value of a Prometheus counter. */
function counterByMethod(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const method = /grpc_method="([^"]+)"/.exec(line)?.[1] ?? '?';
    out.set(method, (out.get(method) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

function hostOf(endpoint: string): string {
  return endpoint.replace(/^https?:\/\//, '');
}

class EtcdSource implements RealSource {
  readonly kind = SourceKind.ETCD;
  readonly notes = `etcd 3.6 (--unsafe-no-fsync), one JSON instance per key ${ETCD_PREFIX}${ETCD_LAYOUT}; a change is one put of endpoint 0's key (puts of one key wait for the previous one's ack, so they land in order)`;
  private readonly layout = templateLayout(ETCD_LAYOUT);
  /** Service -> its last put not yet acknowledged. */
  private readonly inFlight = new Map<number, Promise<void>>();
  private constructor(
    private readonly etcd: Etcd,
    private readonly writer: Etcd3,
    private readonly services: number,
    private readonly endpoints: number,
  ) {}

  static async start(services: number, endpoints: number): Promise<EtcdSource> {
    const etcd = await (await loadPeers()).startEtcd();
    return new EtcdSource(etcd, new Etcd3({ hosts: hostOf(etcd.endpoint) }), services, endpoints);
  }

  get bridgeSource(): BridgeSource {
    return { kind: 'etcd', endpoint: this.etcd.endpoint, prefix: ETCD_PREFIX, layout: ETCD_LAYOUT };
  }

  private relKey(i: number, k: number): string {
    return `team${i % 20}/${interfaceName(i)}/i${k}`;
  }

  private value(i: number, k: number, variant: number): string {
    return JSON.stringify({
      address: address(i, k, variant),
      ports: { http: 8080, grpc: { number: 19090, protocol: 'GRPC' } },
      labels: { app: `service${i}`, version: k === 2 ? 'v2' : 'v1', 'dubbo.version': '3.2.0', 'example.com/team': `team${i % 20}` },
      weight: 100,
      locality: `us-east1/us-east1-${'bcd'[k % 3] ?? 'b'}`,
    });
  }

  async populate(): Promise<{ ms: number; requests: number }> {
    const t = performance.now();
    // Batched txn puts: 100 keys per txn (etcd's default --max-txn-ops is 128), 8 in flight.
    const puts: Array<{ key: Buffer; value: Buffer }> = [];
    for (let i = 0; i < this.services; i++) {
      for (let k = 0; k < this.endpoints; k++) puts.push({ key: Buffer.from(ETCD_PREFIX + this.relKey(i, k)), value: Buffer.from(this.value(i, k, 0)) });
    }
    const batches: Array<typeof puts> = [];
    for (let b = 0; b < puts.length; b += 100) batches.push(puts.slice(b, b + 100));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < batches.length) {
        const batch = batches[next++] ?? [];
        await this.writer.kv.txn({ success: batch.map((p) => ({ request_put: p })) });
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    return { ms: performance.now() - t, requests: batches.length };
  }

  write(c: Change): Promise<void> {
    // Concurrent unary calls may be applied in any order: chain the puts of one key so the last
    // change of a service is the value etcd ends with (other keys' puts still run in parallel).
    const put = (): Promise<void> =>
      this.writer
        .put(ETCD_PREFIX + this.relKey(c.svc, 0))
        .value(this.value(c.svc, 0, c.variant))
        .exec()
        .then(() => undefined);
    const prev = this.inFlight.get(c.svc);
    const w = prev === undefined ? put() : prev.then(put, put);
    this.inFlight.set(c.svc, w);
    void w.finally(() => {
      if (this.inFlight.get(c.svc) === w) this.inFlight.delete(c.svc);
    }).catch(() => undefined);
    return w;
  }

  expected(c: Pick<Change, 'svc' | 'variant'>): { name: string; version: string } {
    // As EtcdRegistry: parse every key's value, build the service from its records.
    const records: InstanceRecord[] = [];
    for (let k = 0; k < this.endpoints; k++) {
      const rel = this.relKey(c.svc, k);
      const match = this.layout.match(rel);
      if (match === undefined) throw new Error(`bench key ${rel} is outside the layout`);
      const { record } = parseInstance({ registry: registryName(0), key: ETCD_PREFIX + rel, modRevision: 1, match, value: Buffer.from(this.value(c.svc, k, k === 0 ? c.variant : 0)) });
      if (record === undefined) throw new Error(`bench value of ${rel} does not parse`);
      records.push(record);
    }
    const { service } = buildEtcdService(records, { registry: registryName(0), defaultProtocol: Protocol.TCP });
    if (service === undefined) throw new Error('no service built');
    return versionOf(service);
  }

  async countRequests(): Promise<() => Promise<IdleCount>> {
    const read = async (): Promise<{ msgs: Map<string, number>; started: Map<string, number> }> => {
      const text = await getText(`${this.etcd.endpoint}/metrics`);
      return { msgs: counterByMethod(text, 'grpc_server_msg_received_total'), started: counterByMethod(text, 'grpc_server_started_total') };
    };
    const before = await read();
    return async () => {
      const after = await read();
      const delta = (a: Map<string, number>, b: Map<string, number>): Array<[string, number]> =>
        [...a].map(([m, v]): [string, number] => [m, v - (b.get(m) ?? 0)]).filter(([, d]) => d !== 0);
      const msgs = delta(after.msgs, before.msgs);
      const started = delta(after.started, before.started);
      const requests = msgs.reduce((x, [, d]) => x + d, 0);
      const by = (l: Array<[string, number]>): string => (l.length === 0 ? 'none' : l.map(([m, d]) => `${m} ${d}`).join(', '));
      return {
        requests,
        detail: `etcd /metrics: gRPC messages received ${requests} (by method: ${by(msgs)}), calls/streams started: ${by(started)}; HTTP/2 keepalive pings are not gRPC messages`,
      };
    };
  }

  async stop(): Promise<void> {
    this.writer.close();
    await this.etcd.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Floors: the registries' own watch latency, with bare clients.

function floorOf(name: string, samples: readonly number[], notes: string): FloorSample {
  const s = samples.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const lost = samples.length - s.length;
  return { name, n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), notes: notes + (lost > 0 ? `; ${lost} never fired within 5 s` : '') };
}

/** ZooKeeper: child created/deleted by one session -> the getChildren watch of another fires. */
export async function zookeeperWatchFloor(): Promise<FloorSample> {
  const server = await (await loadZookeeperPeers()).startZookeeper();
  let writer: Zk | undefined;
  let watcher: Zk | undefined;
  try {
    writer = await Zk.connect(server.connectString);
    watcher = await Zk.connect(server.connectString);
    for (let attempt = 0; ; attempt++) {
      try {
        await writer.create('/floor');
        break;
      } catch (e) {
        if (attempt > 50) throw e;
        await sleep(200);
      }
    }
    const samples: number[] = [];
    for (let i = 0; i < 35; i++) {
      const { fired } = await watcher.watchChildren('/floor');
      const t = performance.now();
      const w = i % 2 === 0 ? writer.create('/floor/child') : writer.remove('/floor/child');
      const at = await Promise.race([fired, sleep(5000).then(() => Number.NaN)]);
      await w;
      if (i >= 5) samples.push(at - t);
      await sleep(20);
    }
    return floorOf(
      'ZooKeeper watch (child create/delete -> getChildren watch fires)',
      samples,
      'bare node-zookeeper-client, two sessions (writer, watcher), 5 warm-up; the adapter then re-reads the children (one more round trip)',
    );
  } finally {
    writer?.close();
    watcher?.close();
    await server.stop();
  }
}

/** etcd: put by one client -> watch event at another. */
export async function etcdWatchFloor(): Promise<FloorSample> {
  const etcd = await (await loadPeers()).startEtcd();
  const writer = new Etcd3({ hosts: hostOf(etcd.endpoint) });
  const watcher = new Etcd3({ hosts: hostOf(etcd.endpoint) });
  try {
    let onPut: ((at: number) => void) | undefined;
    const watch = await watcher.watch().prefix('/floor/').create();
    watch.on('put', () => onPut?.(performance.now()));
    const samples: number[] = [];
    for (let i = 0; i < 35; i++) {
      const got = new Promise<number>((r) => (onPut = r));
      const t = performance.now();
      const w = writer.put('/floor/key').value(String(i)).exec(); // builders are lazy: exec() sends now
      const at = await Promise.race([got, sleep(5000).then(() => Number.NaN)]);
      await w;
      if (i >= 5) samples.push(at - t);
      await sleep(20);
    }
    await watch.cancel();
    return floorOf('etcd watch (put -> watch event)', samples, 'etcd3 client, two connections (writer, watcher), 5 warm-up; the adapter applies the event without another read');
  } finally {
    writer.close();
    watcher.close();
    await etcd.stop();
  }
}
