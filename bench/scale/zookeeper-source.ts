/**
 * A real ZooKeeper (Debian's, test-support/peers/zookeeper.mjs) as the scale bench's source,
 * holding Dubbo interface-level providers, and ZooKeeper's own watch latency floor (bare clients).
 */
import zookeeper from 'node-zookeeper-client';
import { serviceFromParts, type EndpointPart } from '../../src/registry/zookeeper/build-service.js';
import { ZOOKEEPER_REGISTRY_KIND } from '../../src/registry/zookeeper/index.js';
import { interfaceServiceName, parseProviderNode, providerPart } from '../../src/registry/zookeeper/providers.js';
import { javaUrlEncode, loadZookeeperPeers, type ZookeeperServer } from '../../test-support/zookeeper.js';
import { registryName, type BridgeSource, type Change } from './protocol.js';
import { SourceKind, address, asError, floorOf, interfaceName, sleep, versionOf, type FloorSample, type IdleCount, type RealSource } from './source.js';

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

export class ZkSource implements RealSource {
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
    const { value: service } = serviceFromParts({ registry: registryName(0), kind: ZOOKEEPER_REGISTRY_KIND, name: interfaceServiceName(iface, group, version), attributes, parts });
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
