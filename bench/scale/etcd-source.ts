/**
 * A real etcd (test-support/peers/peers.mjs) as the scale bench's source, holding one JSON
 * instance per key, and etcd's own watch latency floor (bare clients).
 */
import { request as httpRequest } from 'node:http';
import { Etcd3 } from 'etcd3';
import { Protocol } from '../../src/model/index.js';
import { serviceFromInstances as buildEtcdService, parseInstance, templateLayout, type InstanceRecord } from '../../src/registry/etcd/index.js';
import { loadPeers, type Etcd } from '../../test-support/peers.js';
import { registryName, type BridgeSource, type Change } from './protocol.js';
import { SourceKind, address, floorOf, interfaceName, sleep, versionOf, type FloorSample, type IdleCount, type RealSource } from './source.js';

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

export class EtcdSource implements RealSource {
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
      const { value: record } = parseInstance({ registry: registryName(0), key: ETCD_PREFIX + rel, modRevision: 1, match, value: Buffer.from(this.value(c.svc, k, k === 0 ? c.variant : 0)) });
      if (record === undefined) throw new Error(`bench value of ${rel} does not parse`);
      records.push(record);
    }
    const { value: service } = buildEtcdService(records, { registry: registryName(0), defaultProtocol: Protocol.TCP });
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
