/**
 * The fault matrix (issue 10): `npm run faults` (`-- --short` in CI). Each scenario runs the real
 * Meshbridge CLI against real peers, injects one fault, and measures from the outside:
 * - removed: services (ServiceEntries of registry services) wrongly missing at an ADS client
 *   posing as istiod (MCP route) or deleted at the kube-apiserver (Kubernetes route), at any
 *   moment of the fault; the target is 0;
 * - converge: time from recovery until the client holds the expected state again;
 * - writes: Kubernetes writes (route kubernetes) or MCP pushes of ServiceEntries;
 * - peak RSS of Meshbridge (its own process_resident_memory_bytes, polled).
 * It prints a table and exits 1 when a scenario removed anything or failed. The table goes to
 * docs/reliability.md by hand with the commit it was measured on.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdsClient } from '../xds/support/adsc.js';
import { loadPeers, type KubeApi, type PeersModule } from '../support/peers.js';
import { metricSum, startMeshbridge, writeServices, type FileService, type MeshbridgeProcess } from '../support/meshbridge.js';
import { javaUrlEncode, loadZookeeperPeers, ZkWriter } from '../zookeeper/peers.js';

const SE = 'networking.istio.io/v1/ServiceEntry';
const SHORT = process.argv.includes('--short');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Row {
  readonly scenario: string;
  readonly route: string;
  readonly services: number;
  readonly removed: number;
  readonly convergeMs: number | undefined;
  readonly writes: number;
  readonly peakRssMiB: number;
  readonly note: string;
  readonly ok: boolean;
}

/** Polls a Meshbridge's RSS until stopped; resolves with the peak in MiB. */
function rssSampler(getProc: () => MeshbridgeProcess | undefined): { stop: () => Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const p = getProc();
      if (p?.running() === true) {
        try {
          peak = Math.max(peak, metricSum(await p.metrics(), 'meshbridge_process_resident_memory_bytes'));
        } catch {
          /* restarting */
        }
      }
      await sleep(250);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return Math.round(peak / 1048576);
    },
  };
}

/** Registry services seen by an ADS client: the non-shared ServiceEntries of its last response. */
function registryEntries(c: AdsClient, from = 0): number[] {
  return c
    .responsesFor(SE)
    .slice(from)
    .map((r) => r.resources.filter((x) => !x.name.endsWith('.shared.meshbridge.internal')).length);
}

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(50);
  }
}

async function mcpConfig(dir: string, peers: PeersModule, registries: string, extra = ''): Promise<{ config: string; admin: number; xds: number }> {
  const [admin, xds] = (await peers.freePorts(2)) as [number, number];
  const config = join(dir, 'meshbridge.yaml');
  await writeFile(
    config,
    `registries:
${registries}
debounce: {quietPeriodMs: 100, maxDelayMs: 1000}
sinks:
  xds: {address: 127.0.0.1:${xds}}
admin: {address: 127.0.0.1:${admin}}
log: {level: warn}
${extra}`,
  );
  return { config, admin, xds };
}

function fileServices(n: number, prefix = 'svc'): FileService[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `${prefix}-${i}`,
    namespace: 'shop',
    ports: [{ number: 20880, name: 'tcp-dubbo', protocol: 'TCP' }],
    instances: [0, 1].map((k) => ({ address: `10.${(i >> 8) & 255}.${i & 255}.${k + 1}`, weight: 1, labels: { app: `${prefix}-${i}` } })),
  }));
}

/** ZooKeeper: every provider's session ends at once (all ephemeral nodes go), they re-register 3 s later. */
async function zkProvidersExpire(peers: PeersModule): Promise<Row> {
  const zkPeers = await loadZookeeperPeers();
  const zk = await zkPeers.startZookeeper();
  const N = SHORT ? 50 : 500;
  const dir = await mkdtemp(join(tmpdir(), 'mb-fault-zk-'));
  const register = async (): Promise<ZkWriter> => {
    const w = await ZkWriter.connect(zk.connectString);
    for (let i = 0; i < N; i++) {
      const iface = `com.example.Svc${i}`;
      await w.mkdirp(`/dubbo/${iface}/providers`);
      for (const k of [1, 2]) {
        const url = `dubbo://10.${(i >> 8) & 255}.${i & 255}.${k}:20880/${iface}?application=app${i}&side=provider&interface=${iface}&methods=a`;
        await w.create(`/dubbo/${iface}/providers/${javaUrlEncode(url)}`);
      }
    }
    return w;
  };
  let w = await register();
  const { config, admin, xds } = await mcpConfig(dir, peers, `  - {name: zk, kind: zookeeper, namespace: faults, zookeeper: {servers: "${zk.connectString}", sessionTimeoutMs: 6000}}`);
  const mb = await startMeshbridge({ config, adminPort: admin });
  const rss = rssSampler(() => mb);
  const c = new AdsClient({ port: xds });
  try {
    c.subscribe([SE]);
    await until(() => registryEntries(c).at(-1) === N, 60_000, 'initial state');
    const from = c.responsesFor(SE).length;
    w.close(); // every provider session ends: ZooKeeper deletes all their nodes
    await sleep(3000);
    const t0 = Date.now();
    w = await register();
    const full = async (): Promise<boolean> => {
      const last = c.responsesFor(SE).at(-1);
      return last !== undefined && registryEntries(c).at(-1) === N && metricSum(await mb.metrics(), 'meshbridge_protect_held_services') === 0;
    };
    await until(full, 60_000, 'recovered');
    const convergeMs = Date.now() - t0;
    const seen = registryEntries(c, from);
    const removed = N - Math.min(N, ...seen);
    const pushes = c.responsesFor(SE).length - from;
    return { scenario: 'ZooKeeper: every provider session expires, re-registers after 3 s', route: 'mcp', services: N, removed, convergeMs, writes: pushes, peakRssMiB: await rss.stop(), note: 'held by the guard, released on recovery', ok: removed === 0 };
  } finally {
    c.close();
    w.close();
    await mb.stop();
    await rss.stop();
    await zk.stop();
  }
}

/** ZooKeeper server restart (sessions survive): nothing removed; a change after it arrives. */
async function zkRestart(peers: PeersModule): Promise<Row> {
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

/** kill -9 of Meshbridge; the registry answers 10 % when it is back: the checkpoint holds the rest. */
async function restartPartial(peers: PeersModule): Promise<Row> {
  const N = SHORT ? 100 : 1000;
  const dir = await mkdtemp(join(tmpdir(), 'mb-fault-restart-'));
  const services = join(dir, 'services.yaml');
  const all = fileServices(N);
  await writeServices(services, all);
  const { config, admin, xds } = await mcpConfig(
    dir,
    peers,
    `  - {name: files, kind: file, namespace: faults, file: {path: services.yaml, pollIntervalMs: 500}}`,
    'checkpoint: {path: state/checkpoint.json, intervalSeconds: 1}\n',
  );
  let mb: MeshbridgeProcess | undefined = await startMeshbridge({ config, adminPort: admin });
  const rss = rssSampler(() => mb);
  let c = new AdsClient({ port: xds });
  try {
    c.subscribe([SE]);
    await until(() => registryEntries(c).at(-1) === N, 30_000, 'initial state');
    await sleep(1500); // a checkpoint was written
    await mb.kill();
    c.close();
    await writeServices(services, all.slice(0, N / 10));
    const t0 = Date.now();
    mb = await startMeshbridge({ config, adminPort: admin });
    c = new AdsClient({ port: xds });
    c.subscribe([SE]);
    await until(() => c.responsesFor(SE).length > 0, 30_000, 'answered after the restart');
    const readyMs = Date.now() - t0;
    await sleep(3000); // the registry's partial view has been judged
    const removed = N - Math.min(N, ...registryEntries(c));
    const held = metricSum(await mb.metrics(), 'meshbridge_protect_held_services');
    return { scenario: 'kill -9 of Meshbridge; registry back with 10 %', route: 'mcp', services: N, removed, convergeMs: readyMs, writes: c.responsesFor(SE).length, peakRssMiB: await rss.stop(), note: `served from the checkpoint ${readyMs} ms after start; ${held} held`, ok: removed === 0 && held === N - N / 10 };
  } finally {
    c.close();
    await mb?.stop();
    await rss.stop();
  }
}

/** A registry that never syncs: the others are published after startup.syncTimeoutSeconds. */
async function neverSyncs(peers: PeersModule): Promise<Row> {
  const N = 50;
  const dir = await mkdtemp(join(tmpdir(), 'mb-fault-never-'));
  await writeServices(join(dir, 'services.yaml'), fileServices(N));
  const [closed] = (await peers.freePorts(1)) as [number];
  const { config, admin, xds } = await mcpConfig(
    dir,
    peers,
    `  - {name: files, kind: file, namespace: faults, file: {path: services.yaml}}
  - {name: broken, kind: etcd, namespace: faults, etcd: {endpoints: ["127.0.0.1:${closed}"]}}`,
    'startup: {syncTimeoutSeconds: 3}\n',
  );
  const t0 = Date.now();
  const mb = await startMeshbridge({ config, adminPort: admin, readyTimeoutMs: 30_000 });
  const readyMs = Date.now() - t0;
  const c = new AdsClient({ port: xds });
  try {
    c.subscribe([SE]);
    await until(() => registryEntries(c).at(-1) === N, 10_000, 'the synced registry published');
    return { scenario: 'one registry never syncs (etcd unreachable)', route: 'mcp', services: N, removed: 0, convergeMs: readyMs, writes: c.responsesFor(SE).length, peakRssMiB: Math.round(metricSum(await mb.metrics(), 'meshbridge_process_resident_memory_bytes') / 1048576), note: `ready after ${readyMs} ms (timeout 3 s)`, ok: true };
  } finally {
    c.close();
    await mb.stop();
  }
}

/** 20 istiod streams connect at once; then one stops reading while the registry churns. */
async function stormAndStall(peers: PeersModule): Promise<Row[]> {
  const N = SHORT ? 1000 : 5000;
  const dir = await mkdtemp(join(tmpdir(), 'mb-fault-storm-'));
  const services = join(dir, 'services.yaml');
  await writeServices(services, fileServices(N));
  const { config, admin, xds } = await mcpConfig(dir, peers, `  - {name: files, kind: file, namespace: faults, file: {path: services.yaml, pollIntervalMs: 200}}`);
  const mb = await startMeshbridge({ config, adminPort: admin });
  const rows: Row[] = [];
  try {
    let rss = rssSampler(() => mb);
    const t0 = Date.now();
    const clients = Array.from({ length: 20 }, () => new AdsClient({ port: xds }));
    for (const c of clients) c.subscribe([SE]);
    await until(() => clients.every((c) => registryEntries(c).at(-1) === N), 60_000, 'every stream has the full state');
    const stormMs = Date.now() - t0;
    rows.push({ scenario: 'istiod reconnect storm: 20 streams at once', route: 'mcp', services: N, removed: 0, convergeMs: stormMs, writes: 20, peakRssMiB: await rss.stop(), note: 'every stream got the full state', ok: true });
    for (const c of clients.slice(1)) c.close();
    const stalled = clients[0]!;
    stalled.pause();
    rss = rssSampler(() => mb);
    const edits = SHORT ? 10 : 30;
    for (let i = 0; i < edits; i++) {
      const list = fileServices(N);
      list[i] = { ...list[i]!, instances: [{ address: `10.250.0.${i + 1}`, weight: 1, labels: {} }] };
      await writeServices(services, list);
      await sleep(400);
    }
    const deferred = metricSum(await mb.metrics(), 'meshbridge_xds_pushes_deferred_total');
    const peak = await rss.stop();
    stalled.resume();
    rows.push({ scenario: `stalled istiod: one stream stops reading for ${edits} changes`, route: 'mcp', services: N, removed: 0, convergeMs: undefined, writes: edits, peakRssMiB: peak, note: `${deferred} pushes deferred (one response in flight)`, ok: true });
    stalled.close();
  } finally {
    await mb.stop();
  }
  return rows;
}

/** The per-service ServiceEntries in `ns` at the API server (shared entries left out). */
async function serviceEntryNames(peers: PeersModule, api: KubeApi, ns: string): Promise<Set<string>> {
  const r = await peers.kubeRequest(api, 'GET', `/apis/networking.istio.io/v1/namespaces/${ns}/serviceentries`);
  const items = (r.body as { items?: Array<{ metadata: { name: string } }> }).items ?? [];
  return new Set(items.map((o) => o.metadata.name).filter((n) => !n.endsWith('.shared.meshbridge.internal')));
}

/** An etcd and a kube-apiserver with Istio's CRDs and namespace `ns`; `stop` ends both. */
async function kubeTarget(peers: PeersModule, ns: string): Promise<{ api: KubeApi; stop: () => Promise<void> }> {
  const etcd = await peers.startEtcd();
  const api = await peers.startKubeApiserver({ etcd, authorization: 'AlwaysAllow' });
  const stop = async (): Promise<void> => {
    await api.stop();
    await etcd.stop();
  };
  try {
    await peers.applyIstioCrds(api);
    await peers.ensureNamespace(api, ns);
  } catch (e) {
    await stop();
    throw e;
  }
  return { api, stop };
}

/** Kubernetes route: kill -9 of Meshbridge in the middle of its initial apply; restart. */
async function killMidApply(peers: PeersModule): Promise<Row> {
  const N = SHORT ? 150 : 600;
  const NS = 'faults-kube';
  const { api, stop } = await kubeTarget(peers, NS);
  try {
    const dir = await mkdtemp(join(tmpdir(), 'mb-fault-kube-'));
    await writeServices(join(dir, 'services.yaml'), fileServices(N));
    const [admin] = (await peers.freePorts(1)) as [number];
    const config = join(dir, 'meshbridge.yaml');
    await writeFile(
      config,
      `registries:
  - {name: files, kind: file, namespace: ${NS}, file: {path: services.yaml}}
sinks:
  kubernetes: {kubeconfig: ${api.kubeconfigPath}, qps: 50, burst: 50}
admin: {address: 127.0.0.1:${admin}}
log: {level: warn}
`,
    );
    const count = async (): Promise<number> => (await serviceEntryNames(peers, api, NS)).size;
    let mb: MeshbridgeProcess | undefined = await startMeshbridge({ config, adminPort: admin });
    const rss = rssSampler(() => mb);
    await until(async () => (await count()) >= N / 3, 60_000, 'a third applied');
    const before = await count();
    await mb.kill();
    const t0 = Date.now();
    mb = await startMeshbridge({ config, adminPort: admin });
    let min = before;
    await until(async () => {
      const n = await count();
      min = Math.min(min, n);
      return n === N;
    }, 120_000, 'every ServiceEntry applied after the restart');
    const convergeMs = Date.now() - t0;
    const writes = metricSum(await mb.metrics(), 'meshbridge_kube_writes_total', { op: 'apply' });
    const deletes = metricSum(await mb.metrics(), 'meshbridge_kube_writes_total', { op: 'delete' });
    await mb.stop();
    return { scenario: `kill -9 in the middle of the initial apply (${before} of ${N} written)`, route: 'kubernetes', services: N, removed: before - min + deletes, convergeMs, writes, peakRssMiB: await rss.stop(), note: `qps 50; restart wrote the rest`, ok: min >= before && deletes === 0 };
  } finally {
    await stop();
  }
}

/**
 * Kubernetes route: the API server is partitioned away (a TCP proxy that holds connections open
 * and forwards nothing) for 10 s while the registry changes; then it is back.
 */
async function apiserverPartition(peers: PeersModule): Promise<Row> {
  const N = SHORT ? 50 : 300;
  const zkPeers = await loadZookeeperPeers();
  const NS = 'faults-partition';
  const { api, stop } = await kubeTarget(peers, NS);
  const proxy = await zkPeers.startTcpProxy(Number(new URL(api.url).port));
  try {
    const dir = await mkdtemp(join(tmpdir(), 'mb-fault-part-'));
    const kubeconfig = await peers.writeKubeconfig({ url: `https://127.0.0.1:${proxy.port}`, ca: api.ca }, { token: api.token, file: join(dir, 'kubeconfig') });
    const services = join(dir, 'services.yaml');
    const all = fileServices(N + 5);
    await writeServices(services, all.slice(0, N));
    const [admin] = (await peers.freePorts(1)) as [number];
    const config = join(dir, 'meshbridge.yaml');
    await writeFile(
      config,
      `registries:
  - {name: files, kind: file, namespace: ${NS}, file: {path: services.yaml, pollIntervalMs: 500}}
sinks:
  kubernetes: {kubeconfig: ${kubeconfig}, qps: 200, burst: 200}
admin: {address: 127.0.0.1:${admin}}
log: {level: warn}
`,
    );
    const names = (): Promise<Set<string>> => serviceEntryNames(peers, api, NS);
    const mb = await startMeshbridge({ config, adminPort: admin });
    const rss = rssSampler(() => mb);
    try {
      await until(async () => (await names()).size === N, 60_000, 'initial apply');
      proxy.block();
      // While partitioned: 5 services added, 1 removed (within every guard).
      const want = [...all.slice(1, N + 5)];
      await writeServices(services, want);
      let minSeen = N;
      const t1 = Date.now();
      while (Date.now() - t1 < 10_000) {
        minSeen = Math.min(minSeen, (await names()).size);
        await sleep(500);
      }
      proxy.unblock();
      const t0 = Date.now();
      const expected = new Set(want.map((x) => `${x.name}.${x.namespace}.files.local`));
      await until(async () => {
        const now = await names();
        minSeen = Math.min(minSeen, now.size);
        return now.size === expected.size && [...expected].every((n) => now.has(n));
      }, 120_000, 'converged after the partition');
      const convergeMs = Date.now() - t0;
      const deletes = metricSum(await mb.metrics(), 'meshbridge_kube_writes_total', { op: 'delete', result: 'ok' });
      const writes = metricSum(await mb.metrics(), 'meshbridge_kube_writes_total', { op: 'apply' });
      const removed = Math.max(0, N - 1 - minSeen);
      return { scenario: 'kube-apiserver partitioned for 10 s while the registry changes', route: 'kubernetes', services: N, removed, convergeMs, writes, peakRssMiB: await rss.stop(), note: `${deletes} delete (the service really removed); request timeout 15 s`, ok: removed === 0 && deletes === 1 };
    } finally {
      await mb.stop();
      await rss.stop();
    }
  } finally {
    await proxy.stop();
    await stop();
  }
}

/** Kubernetes route, two replicas with leader election: kill -9 of the leader; the standby takes over. */
async function leaderFailover(peers: PeersModule): Promise<Row> {
  const N = SHORT ? 50 : 300;
  const NS = 'faults-leader';
  const { api, stop } = await kubeTarget(peers, NS);
  try {
    const dir = await mkdtemp(join(tmpdir(), 'mb-fault-leader-'));
    const services = join(dir, 'services.yaml');
    const all = fileServices(N + 1);
    await writeServices(services, all.slice(0, N));
    const ports = (await peers.freePorts(2)) as [number, number];
    const configs = await Promise.all(
      ports.map(async (admin, i) => {
        const config = join(dir, `meshbridge-${i}.yaml`);
        await writeFile(
          config,
          `registries:
  - {name: files, kind: file, namespace: ${NS}, file: {path: services.yaml, pollIntervalMs: 500}}
sinks:
  kubernetes:
    kubeconfig: ${api.kubeconfigPath}
    qps: 200
    burst: 200
    leaderElection: {enabled: true, namespace: ${NS}, name: meshbridge-faults, leaseDurationSeconds: 6, renewDeadlineSeconds: 4, retryPeriodSeconds: 1, identity: replica-${i}}
admin: {address: 127.0.0.1:${admin}}
log: {level: warn}
`,
        );
        return config;
      }),
    );
    const count = async (): Promise<number> => (await serviceEntryNames(peers, api, NS)).size;
    const a = await startMeshbridge({ config: configs[0]!, adminPort: ports[0] });
    await until(async () => metricSum(await a.metrics(), 'meshbridge_kube_leader') === 1, 30_000, 'replica-0 leads');
    const b = await startMeshbridge({ config: configs[1]!, adminPort: ports[1] });
    const rss = rssSampler(() => b);
    try {
      await until(async () => (await count()) === N, 60_000, 'initial apply');
      await a.kill();
      await writeServices(services, all);
      const t0 = Date.now();
      let min = N;
      await until(async () => {
        const n = await count();
        min = Math.min(min, n);
        return n === N + 1;
      }, 60_000, 'the standby applied the change');
      const convergeMs = Date.now() - t0;
      const deletes = metricSum(await b.metrics(), 'meshbridge_kube_writes_total', { op: 'delete' });
      return { scenario: 'leader failover: kill -9 of the leader of two replicas', route: 'kubernetes', services: N, removed: N - min + deletes, convergeMs, writes: metricSum(await b.metrics(), 'meshbridge_kube_writes_total', { op: 'apply' }), peakRssMiB: await rss.stop(), note: 'lease 6 s; converge: kill -> the change applied by the standby', ok: min >= N && deletes === 0 };
    } finally {
      await b.stop();
      await rss.stop();
    }
  } finally {
    await stop();
  }
}

/**
 * An HTTPS proxy in front of the kube-apiserver that answers a share of the writes with 429
 * (Retry-After: 1) and delays every other request: a slow, throttling API server. Its serving
 * certificate is made with Debian's openssl for 127.0.0.1.
 */
async function throttlingProxy(api: { url: string; ca: string }, dir: string, opts: { rejectShare: number; delayMs: number }): Promise<{ port: number; ca: string; rejected: () => number; close: () => void }> {
  const { execFileSync } = await import('node:child_process');
  const https = await import('node:https');
  const { readFileSync } = await import('node:fs');
  const key = join(dir, 'proxy.key');
  const cert = join(dir, 'proxy.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const target = new URL(api.url);
  let rejected = 0;
  let writes = 0;
  const server = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    const write = req.method !== 'GET';
    if (write && (writes++ % Math.round(1 / opts.rejectShare)) === 0) {
      rejected += 1;
      req.resume();
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' }).end('{"kind":"Status","reason":"TooManyRequests","code":429}');
      return;
    }
    setTimeout(() => {
      const up = https.request({ host: '127.0.0.1', port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host }, ca: api.ca }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    }, opts.delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, ca: readFileSync(cert, 'utf8'), rejected: () => rejected, close: () => server.close() };
}

/** Kubernetes route through a slow API server that answers every fifth write with 429. */
async function apiserverThrottling(peers: PeersModule): Promise<Row> {
  const N = SHORT ? 50 : 300;
  const NS = 'faults-throttle';
  const { api, stop } = await kubeTarget(peers, NS);
  const dir = await mkdtemp(join(tmpdir(), 'mb-fault-429-'));
  const proxy = await throttlingProxy(api, dir, { rejectShare: 0.2, delayMs: 300 });
  try {
    const kubeconfig = await peers.writeKubeconfig({ url: `https://127.0.0.1:${proxy.port}`, ca: proxy.ca }, { token: api.token, file: join(dir, 'kubeconfig') });
    const services = join(dir, 'services.yaml');
    const all = fileServices(N + 5);
    await writeServices(services, all.slice(0, N));
    const [admin] = (await peers.freePorts(1)) as [number];
    const config = join(dir, 'meshbridge.yaml');
    await writeFile(config, `registries:\n  - {name: files, kind: file, namespace: ${NS}, file: {path: services.yaml, pollIntervalMs: 500}}\nsinks:\n  kubernetes: {kubeconfig: ${kubeconfig}, qps: 200, burst: 200}\nadmin: {address: 127.0.0.1:${admin}}\nlog: {level: warn}\n`);
    const names = async (): Promise<number> => (await serviceEntryNames(peers, api, NS)).size;
    const mb = await startMeshbridge({ config, adminPort: admin });
    const rss = rssSampler(() => mb);
    try {
      await until(async () => (await names()) === N, 120_000, 'initial apply through the throttling proxy');
      const t0 = Date.now();
      await writeServices(services, all);
      let min = N;
      await until(async () => {
        const n = await names();
        min = Math.min(min, n);
        return n === N + 5;
      }, 120_000, 'the change applied through the throttling proxy');
      const convergeMs = Date.now() - t0;
      const m = await mb.metrics();
      const deletes = metricSum(m, 'meshbridge_kube_writes_total', { op: 'delete' });
      const failed = metricSum(m, 'meshbridge_kube_writes_total', { result: 'error' });
      return { scenario: 'slow kube-apiserver (300 ms) answering every fifth write 429', route: 'kubernetes', services: N, removed: N - min + deletes, convergeMs, writes: metricSum(m, 'meshbridge_kube_writes_total', { op: 'apply' }), peakRssMiB: await rss.stop(), note: `${proxy.rejected()} answered 429 and retried after Retry-After; ${failed} writes failed`, ok: min >= N && deletes === 0 && failed === 0 };
    } finally {
      await mb.stop();
      await rss.stop();
    }
  } finally {
    proxy.close();
    await stop();
  }
}

async function main(): Promise<void> {
  const peers = await loadPeers();
  const rows: Row[] = [];
  const scenarios: Array<[string, () => Promise<Row | Row[]>]> = [
    ['zk-providers-expire', () => zkProvidersExpire(peers)],
    ['zk-restart', () => zkRestart(peers)],
    ['restart-partial', () => restartPartial(peers)],
    ['never-syncs', () => neverSyncs(peers)],
    ['storm-and-stall', () => stormAndStall(peers)],
    ['kill-mid-apply', () => killMidApply(peers)],
    ['apiserver-partition', () => apiserverPartition(peers)],
    ['leader-failover', () => leaderFailover(peers)],
    ['apiserver-throttling', () => apiserverThrottling(peers)],
  ];
  const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  for (const [name, run] of scenarios) {
    if (only.length > 0 && !only.includes(name)) continue;
    process.stderr.write(`[faults] ${name}...\n`);
    try {
      const r = await run();
      rows.push(...(Array.isArray(r) ? r : [r]));
    } catch (e) {
      rows.push({ scenario: name, route: '-', services: 0, removed: -1, convergeMs: undefined, writes: 0, peakRssMiB: 0, note: `FAILED: ${e instanceof Error ? e.message : String(e)}`, ok: false });
    }
  }
  const lines = [
    `| Fault | Route | Services | Wrongly removed | Converge (ms) | Writes / pushes | Peak RSS (MiB) | Note |`,
    `| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |`,
    ...rows.map((r) => `| ${r.scenario} | ${r.route} | ${r.services} | ${r.removed} | ${r.convergeMs ?? '-'} | ${r.writes} | ${r.peakRssMiB} | ${r.ok ? '' : '**FAIL** '}${r.note} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  process.exit(rows.every((r) => r.ok) ? 0 : 1);
}

await main();
