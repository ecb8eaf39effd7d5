/**
 * Fault scenarios of the registries themselves (MCP route): each registry kind's server is
 * restarted under a running Meshbridge (ZooKeeper, etcd, Consul, Nacos, Eureka) and etcd's
 * history is compacted under a watch that is behind. Nothing may be removed at the ADS client;
 * a change after the recovery must arrive.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdsClient } from '../../test-support/xds/adsc.js';
import type { PeersModule } from '../../test-support/peers.js';
import { metricSum, startMeshbridge, type MeshbridgeProcess } from '../../test-support/meshbridge.js';
import { loadNacos } from '../../test-support/nacos.js';
import { loadConsul } from '../../test-support/consul.js';
import { EtcdPeer } from '../../test-support/etcd.js';
import { CutProxy } from '../../test-support/cut-proxy.js';
import { loadEureka, type InstanceSpec } from '../../test-support/eureka.js';
import { javaUrlEncode, loadZookeeperPeers, ZkWriter } from '../../test-support/zookeeper.js';
import { mcpConfig, mostMissing, registryEntries, registryNames, rssSampler, SE, SHORT, sleep, until, untilMetric, type Row } from '../../test-support/faults.js';

/** ZooKeeper server restart (sessions survive): nothing removed; a change after it arrives. */
export async function zkRestart(peers: PeersModule): Promise<Row> {
  const zkPeers = await loadZookeeperPeers();
  const zk = await zkPeers.startZookeeper();
  const N = SHORT ? 20 : 200;
  const dir = await mkdtemp(join(tmpdir(), 'mb-fault-zkr-'));
  const w = await ZkWriter.connect(zk.connectString);
  for (let i = 0; i < N; i++) {
    const iface = `com.example.R${i}`;
    await w.mkdirp(`/dubbo/${iface}/providers`);
    await w.create(`/dubbo/${iface}/providers/${javaUrlEncode(`dubbo://10.9.${i >> 8}.${i & 255}:20880/${iface}?side=provider&interface=${iface}`)}`, undefined, false);
  }
  const { config, admin, xds } = await mcpConfig(dir, peers, `  - {name: zk, kind: zookeeper, namespace: faults, zookeeper: {servers: "${zk.connectString}", sessionTimeoutMs: 6000}}`);
  const mb = await startMeshbridge({ config, adminPort: admin });
  const rss = rssSampler(() => mb);
  const c = new AdsClient({ port: xds });
  try {
    c.subscribe([SE]);
    await until(() => registryEntries(c).at(-1) === N, 60_000, 'initial state');
    const from = c.responsesFor(SE).length;
    await zk.restart();
    const t0 = Date.now();
    const w2 = await ZkWriter.connect(zk.connectString);
    const iface = 'com.example.AfterRestart';
    await w2.mkdirp(`/dubbo/${iface}/providers`);
    await w2.create(`/dubbo/${iface}/providers/${javaUrlEncode(`dubbo://10.8.0.1:20880/${iface}?side=provider&interface=${iface}`)}`, undefined, false);
    await until(() => registryEntries(c).at(-1) === N + 1, 60_000, 'a change after the restart');
    const convergeMs = Date.now() - t0;
    w2.close();
    const removed = N - Math.min(N, ...registryEntries(c, from));
    return { scenario: 'ZooKeeper server restart', route: 'mcp', services: N, removed, convergeMs, writes: c.responsesFor(SE).length - from, peakRssMiB: await rss.stop(), note: 'converge: restart -> a new provider visible', ok: removed === 0 };
  } finally {
    c.close();
    w.close();
    await mb.stop();
    await rss.stop();
    await zk.stop();
  }
}


/** A Meshbridge on one registry (MCP route) with an ADS client posing as istiod, past its initial state. */
interface Followed {
  readonly mb: MeshbridgeProcess;
  readonly c: AdsClient;
  /** The registry's ServiceEntries (names) in the initial state. */
  readonly baseline: ReadonlySet<string>;
  /** The first response after the initial state. */
  readonly from: number;
  /** The peak RSS so far (MiB); stops the sampler. */
  peakRss(): Promise<number>;
  close(): Promise<void>;
}

/** Starts Meshbridge on `registry` (one `registries:` item) and waits until istiod holds `n` services. */
async function follow(peers: PeersModule, tag: string, registry: string, n: number): Promise<Followed> {
  const dir = await mkdtemp(join(tmpdir(), `mb-fault-${tag}-`));
  const { config, admin, xds } = await mcpConfig(dir, peers, registry);
  const mb = await startMeshbridge({ config, adminPort: admin, readyTimeoutMs: 60_000 });
  const rss = rssSampler(() => mb);
  const c = new AdsClient({ port: xds });
  const close = async (): Promise<void> => {
    c.close();
    await mb.stop();
    await rss.stop();
  };
  try {
    c.subscribe([SE]);
    await until(() => registryEntries(c).at(-1) === n, 60_000, `initial state of ${n} services`);
  } catch (e) {
    await close();
    throw e;
  }
  return { mb, c, baseline: registryNames(c).at(-1) ?? new Set(), from: c.responsesFor(SE).length, peakRss: () => rss.stop(), close };
}

/**
 * Waits until istiod's last response holds `n` registry services with every name of `keep` among
 * them and none of `gone`, and the guard holds nothing back for `registry`.
 */
async function converged(f: Followed, registry: string, o: { n: number; keep: ReadonlySet<string>; gone?: readonly string[]; ms?: number; what: string }): Promise<void> {
  await until(
    async () => {
      const last = registryNames(f.c).at(-1);
      if (last === undefined || last.size !== o.n) return false;
      if ([...o.keep].some((k) => !last.has(k)) || (o.gone ?? []).some((g) => last.has(g))) return false;
      return metricSum(await f.mb.metrics(), 'meshbridge_protect_held_services', { registry }) === 0;
    },
    o.ms ?? 60_000,
    o.what,
  );
}

/** The row of a registry fault: removed counts the names of `keep` missing from any response since the fault. */
async function row(f: Followed, o: { scenario: string; services: number; keep: ReadonlySet<string>; convergeMs: number; note: string; ok?: boolean }): Promise<Row> {
  const removed = mostMissing(f.c, o.keep, f.from);
  const writes = f.c.responsesFor(SE).length - f.from;
  return { scenario: o.scenario, route: 'mcp', services: o.services, removed, convergeMs: o.convergeMs, writes, peakRssMiB: await f.peakRss(), note: o.note, ok: removed === 0 && (o.ok ?? true) };
}

const stale = (f: Followed, registry: string): Promise<number> =>
  untilMetric(f.mb, 'meshbridge_registry_stale', { registry }, (v) => v === 1, 30_000, `Meshbridge noticed the outage of ${registry}`);

const ETCD_PREFIX = '/mb/services/';
const etcdRegistry = (endpoint: string): string => `  - {name: etcd, kind: etcd, namespace: faults, etcd: {endpoints: ["${endpoint}"], prefix: ${ETCD_PREFIX}}}`;
const ip = (net: number, i: number): string => `10.${net}.${(i >> 8) & 255}.${i & 255}`;

/** etcd restart (same port and data dir) after 3 s down: nothing removed; a key put after it arrives. */
export async function etcdRestart(peers: PeersModule): Promise<Row> {
  const N = SHORT ? 20 : 200;
  const etcd = await EtcdPeer.start();
  let f: Followed | undefined;
  try {
    const put = (svc: string, i: number): Promise<number> => etcd.put(`${ETCD_PREFIX}${svc}/i1`, { address: ip(30, i), ports: { http: 8080 } });
    for (let i = 0; i < N; i++) await put(`svc-${i}`, i);
    f = await follow(peers, 'etcd', etcdRegistry(etcd.endpoint), N);
    await etcd.pause();
    await stale(f, 'etcd');
    await sleep(3000);
    await etcd.resume();
    const t0 = Date.now();
    await put('after-restart', N);
    await converged(f, 'etcd', { n: N + 1, keep: f.baseline, what: 'the key put after the restart' });
    const convergeMs = Date.now() - t0;
    return await row(f, { scenario: 'etcd server restart (down 3 s, same port and data)', services: N, keep: f.baseline, convergeMs, note: 'converge: restart -> a new key visible' });
  } finally {
    await f?.close();
    await etcd.stop();
  }
}

/**
 * etcd compaction under a watch that is behind: Meshbridge is cut off (a TCP proxy), a service is
 * added, one removed and one changed, and the history is compacted to the last of them; then the
 * cut ends. The watch cannot resume from its revision: Meshbridge must list again and converge,
 * removing exactly the one service really gone.
 */
export async function etcdCompaction(peers: PeersModule): Promise<Row> {
  const N = SHORT ? 20 : 200;
  const etcd = await EtcdPeer.start();
  const proxy = await CutProxy.start(etcd.clientPort);
  let f: Followed | undefined;
  try {
    const put = (svc: string, i: number, net = 31): Promise<number> => etcd.put(`${ETCD_PREFIX}${svc}/i1`, { address: ip(net, i), ports: { http: 8080 } });
    for (let i = 0; i < N; i++) await put(`svc-${i}`, i);
    await put('gone', N);
    f = await follow(peers, 'etcdc', etcdRegistry(proxy.endpoint), N + 1);
    const gone = [...f.baseline].filter((n) => n.includes('gone'));
    const keep = new Set([...f.baseline].filter((n) => !gone.includes(n)));
    proxy.block();
    await stale(f, 'etcd');
    await put('after-compaction', N + 1);
    await etcd.del(`${ETCD_PREFIX}gone/i1`);
    const rev = await put('svc-0', 0, 32);
    await etcd.compact(rev);
    const ranges = await etcd.metric('grpc_server_handled_total', { grpc_method: 'Range' });
    const t0 = Date.now();
    proxy.unblock();
    await converged(f, 'etcd', { n: N + 1, keep, gone, what: 'converged after the compaction' });
    const convergeMs = Date.now() - t0;
    // A probe, then the full listing the compacted watch forced (a resumed watch needs only the probe).
    const relisted = (await etcd.metric('grpc_server_handled_total', { grpc_method: 'Range' })) - ranges >= 2;
    return await row(f, {
      scenario: 'etcd compaction past the revision of a cut-off watch',
      services: N,
      keep,
      convergeMs,
      note: `converge: cut ends -> listed again at the current revision (${relisted ? 'a re-list seen' : '**no re-list seen**'}); 1 added, 1 really removed, 1 changed`,
      ok: relisted && gone.length === 1,
    });
  } finally {
    await f?.close();
    await proxy.close();
    await etcd.stop();
  }
}

/**
 * Consul server restart that loses the catalog (as a -dev agent does: here the data folder is
 * wiped): while Consul is down and then empty the guard holds every service; the services
 * register again (and one new one) and it converges.
 */
export async function consulRestart(peers: PeersModule): Promise<Row> {
  const N = SHORT ? 20 : 200;
  const consul = await (await loadConsul()).startConsul();
  let f: Followed | undefined;
  try {
    const register = (name: string, i: number): Promise<unknown> => consul.register({ ID: `${name}-1`, Name: name, Address: ip(40, i), Port: 8080 });
    const registerAll = async (): Promise<void> => {
      for (let i = 0; i < N; i++) await register(`svc-${i}`, i);
    };
    await registerAll();
    // A blocking query with the old server's (higher) index waits out its `wait` on the rebuilt
    // one before the lower index tells a reset: 5 s here instead of 300.
    f = await follow(peers, 'consul', `  - {name: cs, kind: consul, namespace: faults, consul: {address: "${consul.address}", waitSeconds: 5}}`, N);
    await consul.kill();
    await stale(f, 'cs');
    await sleep(2000);
    await consul.restart({ wipe: true });
    const held = await untilMetric(f.mb, 'meshbridge_protect_held_services', { registry: 'cs' }, (v) => v === N, 60_000, 'the guard holds the emptied catalog');
    const t0 = Date.now();
    await registerAll();
    await register('after-restart', N);
    await converged(f, 'cs', { n: N + 1, keep: f.baseline, what: 'the services registered again' });
    const convergeMs = Date.now() - t0;
    return await row(f, { scenario: 'Consul restart losing its catalog; services register again', services: N, keep: f.baseline, convergeMs, note: `down 2 s, back empty: ${held} held by the guard (seen after waitSeconds 5); converge: re-registration -> all back, hold released` });
  } finally {
    await f?.close();
    await consul.stop();
  }
}

/**
 * Nacos server restart: its ephemeral instances (as Nacos clients register them) are lost; once
 * Meshbridge has seen the empty server (the guard holds) the clients register again.
 */
export async function nacosRestart(peers: PeersModule): Promise<Row> {
  const N = SHORT ? 20 : 200;
  const m = await loadNacos();
  const nacos = await m.startNacos();
  let f: Followed | undefined;
  try {
    const register = (name: string, i: number): Promise<void> => m.putInstance(nacos, { service: name, ip: ip(50, i), port: 8080, ephemeral: true });
    const registerAll = async (): Promise<void> => {
      for (let i = 0; i < N; i++) await register(`svc-${i}`, i);
    };
    await registerAll();
    f = await follow(peers, 'nacos', `  - {name: nacos, kind: nacos, namespace: faults, nacos: {serverAddr: "${nacos.serverAddr}"}}`, N);
    await nacos.kill();
    await stale(f, 'nacos');
    await nacos.start();
    const held = await untilMetric(f.mb, 'meshbridge_protect_held_services', { registry: 'nacos' }, (v) => v === N, 90_000, 'the guard holds the emptied server');
    const t0 = Date.now();
    await registerAll();
    await register('after-restart', N);
    await converged(f, 'nacos', { n: N + 1, keep: f.baseline, what: 'the instances registered again' });
    const convergeMs = Date.now() - t0;
    return await row(f, { scenario: 'Nacos restart losing its ephemeral instances; clients register again', services: N, keep: f.baseline, convergeMs, note: `back empty: ${held} held by the guard; converge: re-registration -> all back, hold released` });
  } finally {
    await f?.close();
    await nacos.stop();
  }
}

/**
 * Eureka server restart: the new server starts empty and answers at once; its clients register
 * again when their next heartbeat gets a 404, spread over one heartbeat period, so a read of the
 * restarted server can land anywhere in that refill. Here it lands at 60 %: a proxy in front of
 * the server holds Meshbridge's reads back until 60 % have registered, then the other 40 % register
 * 1 s after Meshbridge's first full read.
 */
export async function eurekaRestart(peers: PeersModule): Promise<Row> {
  const N = SHORT ? 20 : 200;
  const mod = await loadEureka();
  let server = await mod.startEureka();
  const proxy = await mod.startCountingProxy(`http://127.0.0.1:${server.port}`);
  const instances = Array.from({ length: N }, (_, i): InstanceSpec => ({ app: `svc-${i}`, id: `svc-${i}-1`, ip: ip(60, i), port: 8080 }));
  const early = instances.slice(0, Math.round(N * 0.6));
  const late = instances.slice(early.length);
  let f: Followed | undefined;
  try {
    for (const inst of instances) await mod.register(server.url, inst);
    f = await follow(peers, 'eureka', `  - {name: eu, kind: eureka, namespace: faults, eureka: {serviceUrls: ["${proxy.url}/eureka/"], intervalMs: 500}}`, N);
    await server.stop();
    await stale(f, 'eu');
    proxy.state.down = true; // Meshbridge's reads wait at the proxy (503) until 60 % are back
    server = await mod.startEureka({ port: server.port });
    const t0 = Date.now();
    for (const inst of early) await mod.register(server.url, inst);
    const readFrom = proxy.state.requests.length;
    proxy.state.down = false;
    // Meshbridge's first full read of the refilling server (a delta's hash mismatch leads to one), answered.
    await until(() => proxy.state.requests.slice(readFrom).some((r) => r.path.endsWith('/apps/')), 60_000, 'Meshbridge read the restarted server');
    await sleep(1000);
    for (const inst of late) await mod.register(server.url, inst);
    await mod.register(server.url, { app: 'after-restart', id: 'after-restart-1', ip: ip(60, N), port: 8080 });
    await converged(f, 'eu', { n: N + 1, keep: f.baseline, what: 'the clients registered again' });
    const convergeMs = Date.now() - t0;
    return await row(f, { scenario: 'Eureka server restart; clients register again, 60 % before Meshbridge reads it', services: N, keep: f.baseline, convergeMs, note: `converge: server up -> all back (the other 40 % registered 1 s after that read)` });
  } finally {
    await f?.close();
    await proxy.stop();
    await server.stop();
  }
}
