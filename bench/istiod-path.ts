/**
 * istiod-path: what a proxy feels. A registry change goes registry -> Meshbridge (pipeline,
 * debounce, MCP server) -> the real istiod -> a client posing as a sidecar (CDS + EDS + LDS,
 * ACKing, merging per-cluster EDS updates); the figure is the time from the change entering
 * the registry to the sidecar holding the new endpoint in that cluster's ClusterLoadAssignment.
 * Also istiod's CPU seconds per change (from /proc) and the MCP bytes Meshbridge sent per change.
 *
 * Cases, same run, same data (1,000 services x 3 endpoints, 20 isolated changes each):
 * - trailing: the old debounce (every change waits the 100 ms quiet period), one MCP source;
 * - leading: debounce.leadingEdge (the default), one MCP source;
 * - leading + 8 shards: sinks.xds.shards 8, istiod with eight config sources;
 * - floor: the same change published straight into the MCP server's store (no registry, no
 *   debounce): what istiod and the sidecar cost on their own.
 * - kubernetes: the Kubernetes route: Meshbridge's KubernetesSink writes to a real kube-apiserver
 *   (Istio CRDs), istiod reads it from there;
 * - kube floor: the same change server-side applied straight to the kube-apiserver (one SSA, as
 *   `kubectl apply --server-side` would): what a Kubernetes-native ServiceEntry gets.
 * Every case starts its own istiod (MCP cases: hybrid mode, config from MCP, a kube-apiserver for
 * services; Kubernetes cases: everything from the kube-apiserver). istiod's RSS is read before
 * and after the change series (it should stay flat).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ConflictPolicy } from '../src/core/aggregate.js';
import { Pipeline } from '../src/core/pipeline.js';
import { convert, hostFor } from '../src/convert/index.js';
import type { Service } from '../src/model/index.js';
import { Metrics, silentLogger } from '../src/observability/index.js';
import { FakeRegistry } from '../src/registry/testing/fake-registry.js';
import { SnapshotStore, type IstioResource } from '../src/snapshot/index.js';
import { contentHash } from '../src/util/hash.js';
import { ShardedXdsServer, XdsServer } from '../src/sinks/xds/index.js';
import { KubeClient } from '../src/sinks/kubernetes/kube-client.js';
import { KubernetesSink } from '../src/sinks/kubernetes/sink.js';
import { ISTIO_API_VERSION } from '../src/snapshot/index.js';
import { startSidecar, type SidecarClient } from '../test-support/dataplane/sidecar-client.js';
import { loadPeers, type KubeApi, type PeersModule } from '../test-support/peers.js';
import { benchService, options, REGISTRY } from './data.js';
import { Compare, type Bench, type TableResult } from './harness.js';

const SERVICES = Number(process.env['BENCH_ISTIOD_SERVICES'] ?? 1000);
const CHANGES = Number(process.env['BENCH_ISTIOD_CHANGES'] ?? 20);
const GAP_MS = 600;

type CaseId = 'trailing' | 'leading' | 'leading + 8 shards' | 'floor' | 'kubernetes' | 'kube floor';
const KUBE_CASES: ReadonlySet<CaseId> = new Set(['kubernetes', 'kube floor']);
interface CaseRow {
  readonly id: CaseId;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly istiodCpuMsPerChange: number;
  readonly mcpKiBPerChange: number;
  readonly istiodRssMiB: readonly [number, number];
  readonly n: number;
}

/** VmRSS of a process, MiB (Linux /proc). */
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

function percentile(s: readonly number[], p: number): number {
  const a = [...s].sort((x, y) => x - y);
  return a[Math.min(a.length - 1, Math.max(0, Math.ceil((p / 100) * a.length) - 1))] ?? 0;
}

/** utime + stime of a process, ms (Linux /proc). */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

function pidOf(pattern: string): number {
  return Number(execFileSync('pgrep', ['-n', '-f', pattern]).toString().trim());
}

const clusterOf = (s: Service): string => `outbound|${s.ports[0]?.number ?? 0}||${hostFor(s, options) ?? ''}`;

function hasAddress(sc: SidecarClient, cluster: string, address: string): boolean {
  const cla = sc.state().endpoints.find((c) => c.cluster_name === cluster);
  return (cla?.endpoints ?? []).some((l) => (l.lb_endpoints ?? []).some((e) => e.endpoint?.address?.socket_address?.address === address));
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function runCase(peers: PeersModule, api: KubeApi, id: CaseId): Promise<CaseRow> {
  const services = Array.from({ length: SERVICES }, (_, i) => benchService(i));
  const fake = new FakeRegistry(REGISTRY, services);
  const metrics = new Metrics();
  const store = new SnapshotStore();
  const pipeline = new Pipeline({
    registries: [fake],
    conversion: new Map([[REGISTRY, options]]),
    protectPercent: new Map(),
    conflictPolicy: ConflictPolicy.MERGE,
    debounce: { quietPeriodMs: 100, maxDelayMs: 1000, leadingEdge: id !== 'trailing' },
    store,
    metrics,
    logger: silentLogger(),
    hostFor,
    convert,
  });
  const shards = id === 'leading + 8 shards' ? 8 : 1;
  const kube = KUBE_CASES.has(id);
  const abort = new AbortController();
  const sinkAbort = new AbortController();
  abort.signal.addEventListener('abort', () => sinkAbort.abort(), { once: true });
  let server: XdsServer | ShardedXdsServer | undefined;
  let client: KubeClient | undefined;
  let sink: KubernetesSink | undefined;
  if (kube) {
    // qps 500 for the initial sync of the bench's services; an isolated change is one write.
    client = new KubeClient({ kubeconfig: api.kubeconfigPath, qps: 500, burst: 1000 });
    sink = new KubernetesSink({ instance: 'meshbridge', client, store, logger: silentLogger(), metrics, registries: [REGISTRY], namespaces: [], maxDeletePercent: 50, concurrency: 8, leaderElection: undefined });
    await sink.start(sinkAbort.signal);
  } else {
    const common = { address: '127.0.0.1:0', store, metrics, logger: silentLogger(), ready: () => pipeline.ready(), readyPollMs: 10, shutdownGraceMs: 500 };
    server = shards > 1 ? new ShardedXdsServer({ ...common, shards }) : new XdsServer(common);
    await server.start(abort.signal);
  }
  await pipeline.start(abort.signal);
  const ports = server === undefined ? [] : server instanceof ShardedXdsServer ? server.ports() : [server.port()];
  const meshConfig = `configSources:\n${ports.map((p) => `- address: xds://127.0.0.1:${p}\n`).join('')}`;
  const istiod = kube
    ? await peers.startIstiod({ mode: 'kubernetes', kubeconfig: api.kubeconfigPath, api, timeoutMs: 180_000 })
    : await peers.startIstiod({ mode: 'mcp', xdsAddress: `127.0.0.1:${ports[0] ?? 0}`, kubeconfig: api.kubeconfigPath, api, timeoutMs: 180_000, meshConfig });
  const pid = pidOf(istiod.meshConfigPath);
  const sidecar = startSidecar({ address: istiod.grpcAddress, ip: '10.200.0.9', pod: `bench-${shards}-${id.length}`, namespace: 'bench-client' });
  try {
    await sidecar.waitFor((s) => sidecar.warm(s) && s.endpoints.length >= SERVICES, 300_000);
    await new Promise((r) => setTimeout(r, 2000)); // istiod settles after the first pushes
    // On the Kubernetes route istiod then writes an auto-allocated address into every
    // ServiceEntry's status and re-pushes until that settles: wait until its CPU is quiet
    // (< 50 ms per second for 3 s in a row), so the series measures changes, not that.
    let quiet = 0;
    const settleEnd = Date.now() + 180_000;
    while (quiet < 3 && Date.now() < settleEnd) {
      const c0 = cpuMs(pid);
      await new Promise((r) => setTimeout(r, 1000));
      quiet = cpuMs(pid) - c0 < 50 ? quiet + 1 : 0;
    }
    if (id === 'kube floor') {
      await sink?.idle();
      sinkAbort.abort(); // from here the ServiceEntries are edited by hand; nothing reverts them
    }
    const lat: number[] = [];
    const bytes0 = (await metrics.xdsPushBytes.get()).values[0]?.value ?? 0;
    const cpu0 = cpuMs(pid);
    const rss0 = rssMiB(pid);
    for (let k = 1; k <= CHANGES; k++) {
      const i = (k * 7919) % SERVICES;
      const next = benchService(i, k);
      const address = next.endpoints[0]?.address ?? '';
      const t0 = performance.now();
      if (id === 'floor') publishStraight(store, services[i]!, next);
      else if (id === 'kube floor' && client !== undefined) await applyStraight(client, store, services[i]!, next);
      else fake.put(next);
      services[i] = next;
      await until(() => hasAddress(sidecar, clusterOf(next), address), 30_000, `change ${k} at the sidecar`);
      lat.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, GAP_MS));
    }
    const cpu = (cpuMs(pid) - cpu0) / CHANGES;
    const bytes = (((await metrics.xdsPushBytes.get()).values[0]?.value ?? 0) - bytes0) / CHANGES;
    const rss1 = rssMiB(pid);
    return { id, n: lat.length, p50: percentile(lat, 50), p99: percentile(lat, 99), max: Math.max(...lat), istiodCpuMsPerChange: cpu, mcpKiBPerChange: bytes / 1024, istiodRssMiB: [rss0, rss1] };
  } finally {
    sidecar.close();
    await istiod.stop();
    abort.abort();
    await server?.stopped();
    if (kube) await wipe(api, client);
  }
}

/** Deletes every ServiceEntry the Kubernetes cases wrote (the next case starts from none). */
async function wipe(api: KubeApi, client: KubeClient | undefined): Promise<void> {
  const c = client ?? new KubeClient({ kubeconfig: api.kubeconfigPath, qps: 500, burst: 1000 });
  await c.request({ method: 'DELETE', path: `/apis/networking.istio.io/v1/namespaces/${options.namespace}/serviceentries` }).catch(() => undefined);
  for (let t = 0; t < 120; t++) {
    const l = await c.request<{ items?: unknown[] }>({ method: 'GET', path: `/apis/networking.istio.io/v1/namespaces/${options.namespace}/serviceentries`, query: { limit: 1 } });
    if ((l.items ?? []).length === 0) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * The Kubernetes floor: the ServiceEntry of `was` server-side applied straight to the
 * kube-apiserver with its first address replaced (one SSA request), as a user would.
 */
async function applyStraight(client: KubeClient, store: SnapshotStore, was: Service, next: Service): Promise<void> {
  const host = hostFor(was, options);
  const from = was.endpoints[0]?.address ?? '';
  const to = next.endpoints[0]?.address ?? '';
  const snap = store.current();
  const r = [...(snap?.kinds.get('ServiceEntry')?.resources.values() ?? [])].find((x) => (x.spec['hosts'] as string[] | undefined)?.[0] === host);
  if (r === undefined) throw new Error(`no ServiceEntry for ${host ?? '?'}`);
  const spec = JSON.parse(JSON.stringify(r.spec).split(`"${from}"`).join(`"${to}"`)) as Record<string, unknown>;
  await client.request({
    method: 'PATCH',
    path: `/apis/networking.istio.io/v1/namespaces/${r.namespace}/serviceentries/${r.name}`,
    query: { fieldManager: 'bench-by-hand', force: true },
    body: { apiVersion: ISTIO_API_VERSION, kind: 'ServiceEntry', metadata: { name: r.name, namespace: r.namespace }, spec },
    contentType: 'application/apply-patch+yaml',
  });
}

/**
 * The floor: the ServiceEntry of `was` edited straight in the MCP store (its old first address
 * replaced by the new one in endpoints and addresses, a new version), as if written by hand.
 */
function publishStraight(store: SnapshotStore, was: Service, next: Service): void {
  const snap = store.current();
  if (snap === undefined) throw new Error('no snapshot');
  const host = hostFor(was, options);
  const from = was.endpoints[0]?.address ?? '';
  const to = next.endpoints[0]?.address ?? '';
  const all: IstioResource[] = [];
  for (const ks of snap.kinds.values()) {
    for (const r of ks.resources.values()) {
      if (r.kind === 'ServiceEntry' && (r.spec['hosts'] as string[] | undefined)?.[0] === host) {
        const spec = JSON.parse(JSON.stringify(r.spec).split(`"${from}"`).join(`"${to}"`)) as Record<string, unknown>;
        all.push({ ...r, spec, version: contentHash(JSON.stringify(spec)) });
      } else all.push(r);
    }
  }
  store.publish(all);
}

let last: CaseRow[] | undefined;

export const istiodPath: Bench = {
  name: 'istiod-path',
  title: `Registry -> Meshbridge -> istiod -> sidecar: ${SERVICES.toLocaleString('en')} services, isolated changes`,
  description:
    'A FakeRegistry with 1,000 services (3 endpoints each) feeds Meshbridge\'s Pipeline and MCP server; a real istiod (built from Go modules, hybrid mode: config from MCP, a kube-apiserver for Kubernetes services) ' +
    'reads it through meshConfig.configSources; a client posing as a sidecar (test-support/dataplane: CDS, EDS, LDS, RDS, ACKing, merging per-cluster EDS updates) is connected to istiod. ' +
    `Each of ${CHANGES} isolated changes (${GAP_MS} ms apart) moves one endpoint; latency is from the registry holding the change to the sidecar holding the new address in that cluster's ClusterLoadAssignment. ` +
    'istiod CPU is utime+stime of the istiod process over the change series, per change; MCP bytes are what Meshbridge sent per change. Cases, same run: trailing debounce (the old default), ' +
    'leading edge (the default), leading edge with 8 MCP shards (istiod lists eight sources), and a floor: the ServiceEntry edited straight in the MCP store (no registry, no pipeline, no debounce), what istiod and the sidecar cost on their own; ' +
    'then the Kubernetes route (the KubernetesSink server-side applies to a real kube-apiserver with Istio\'s CRDs, client qps 500, concurrency 8; istiod reads everything from the kube-apiserver) and its floor: the same change server-side applied straight to the kube-apiserver by hand (what a Kubernetes-native ServiceEntry gets). ' +
    'Before each series the bench waits until istiod is quiet (< 50 ms CPU per second for 3 s: on the Kubernetes route istiod first writes an auto-allocated address into every ServiceEntry\'s status and re-pushes). istiod RSS is VmRSS before and after the change series. ' +
    'Every case starts its own istiod; istiod debounces pushes itself (PILOT_DEBOUNCE_AFTER, 100 ms), which is in every figure.',
  compare: Compare.TIME,
  async run() {
    const peers = await loadPeers();
    const api = await peers.startKubeApiserver({ authorization: 'AlwaysAllow' });
    try {
      await peers.applyIstioCrds(api);
      await peers.ensureNamespace(api, options.namespace);
      last = [];
      const only = process.env['BENCH_ISTIOD_CASES']?.split(',');
      const all = ['trailing', 'leading', 'leading + 8 shards', 'floor', 'kubernetes', 'kube floor'] as const;
      for (const id of all.filter((c) => only === undefined || only.includes(c))) {
        process.stdout.write(`  istiod-path: ${id} ...\n`);
        last.push(await runCase(peers, api, id));
      }
    } finally {
      await api.stop();
    }
    return [];
  },
  table(): TableResult | undefined {
    if (last === undefined) return undefined;
    const f = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
    return {
      preamble: [`${SERVICES.toLocaleString('en')} services x 3 endpoints, ${CHANGES} isolated changes per case, ${GAP_MS} ms apart; quiet period 100 ms, max delay 1,000 ms.`],
      tables: [
        {
          title: 'Registry change -> sidecar EDS through the real istiod',
          header: ['case', 'n', 'p50 ms', 'p99 ms', 'max ms', 'istiod CPU ms / change', 'istiod RSS MiB before -> after', 'MCP KiB / change'],
          rows: last.map((r) => [r.id, String(r.n), f(r.p50), f(r.p99), f(r.max), f(r.istiodCpuMsPerChange), `${r.istiodRssMiB[0].toFixed(0)} -> ${r.istiodRssMiB[1].toFixed(0)}`, KUBE_CASES.has(r.id) ? '-' : f(r.mcpKiBPerChange)]),
        },
      ],
      data: { services: SERVICES, changes: CHANGES, rows: last },
    };
  },
};
