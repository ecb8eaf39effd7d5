/**
 * istiod-path: what a proxy feels. A registry change goes registry -> Meshbridge (pipeline,
 * debounce, MCP server or Kubernetes sink) -> the real istiod -> a client posing as a sidecar
 * (test-support/dataplane/lean-sidecar.ts: CDS + LDS wildcard, EDS and RDS for what they name,
 * every response ACKed, reading only what it needs off the wire so that it costs little next to
 * istiod on the same cores); the figure is the time from the change entering the registry to the
 * sidecar holding the new endpoint in that cluster's ClusterLoadAssignment. Also istiod's CPU
 * and RSS per scenario (from /proc) and the MCP bytes Meshbridge sent.
 *
 * Cases, same run, same data (BENCH_ISTIOD_SERVICES x BENCH_ISTIOD_ENDPOINTS; default 1,000 x 3):
 * - trailing: the old debounce (every change waits the 100 ms quiet period), one MCP source;
 * - leading: debounce.leadingEdge (the default), one MCP source;
 * - leading + 8 shards: sinks.xds.shards 8, istiod with eight config sources;
 * - floor: the same change published straight into the MCP server's store (no registry, no
 *   debounce): what istiod and the sidecar cost on their own (isolated changes only);
 * - kubernetes: Meshbridge's KubernetesSink writes to a real kube-apiserver (Istio CRDs), istiod
 *   reads it from there;
 * - kube floor: the same change server-side applied straight to the kube-apiserver by hand
 *   (isolated changes only).
 * Scenarios per case (BENCH_ISTIOD_SCENARIOS): isolated changes (BENCH_ISTIOD_CHANGES, 600 ms
 * apart), a burst (one change to every service at once), churn (1,000 changes/s for
 * BENCH_ISTIOD_CHURN_S seconds). Every case starts its own istiod; before each scenario the bench
 * waits until istiod is quiet. istiod debounces pushes itself (PILOT_DEBOUNCE_AFTER 100 ms,
 * PILOT_DEBOUNCE_MAX 10 s), which is in every figure.
 */
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
import { LeanSidecar } from '../test-support/dataplane/lean-sidecar.js';
import { loadPeers, type KubeApi, type PeersModule } from '../test-support/peers.js';
import { benchService, options, REGISTRY } from './data.js';
import { Compare, percentile, type Bench, type TableResult } from './harness.js';
import { cpuMs, pidOf, rssMiB, waitQuiet } from './istiod-path/proc.js';
import { ChangeTracker } from './istiod-path/track.js';

const SERVICES = Number(process.env['BENCH_ISTIOD_SERVICES'] ?? 1000);
const ENDPOINTS = Number(process.env['BENCH_ISTIOD_ENDPOINTS'] ?? 3);
const CHANGES = Number(process.env['BENCH_ISTIOD_CHANGES'] ?? 20);
const CHURN_S = Number(process.env['BENCH_ISTIOD_CHURN_S'] ?? 10);
const CHURN_RATE = 1000;
const GAP_MS = 600;
const shape = { endpoints: ENDPOINTS };

type CaseId = 'trailing' | 'leading' | 'leading + 8 shards' | 'floor' | 'kubernetes' | 'kube floor';
type ScenarioId = 'isolated' | 'burst' | 'churn';
const KUBE_CASES: ReadonlySet<CaseId> = new Set(['kubernetes', 'kube floor']);
const FLOORS: ReadonlySet<CaseId> = new Set(['floor', 'kube floor']);
interface Row {
  readonly id: CaseId;
  readonly scenario: ScenarioId;
  readonly n: number;
  readonly lost: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly seconds: number;
  readonly istiodCpuMs: number;
  readonly mcpKiB: number;
  readonly istiodRssMiB: readonly [number, number];
  /** Sidecar streams istiod dropped during the scenario (the client re-opens, as Envoy does). */
  readonly reconnects: number;
  /**
   * Kubernetes cases, isolated changes: registry change -> the new content readable at the
   * kube-apiserver (ms), so a delay splits into Meshbridge's part and istiod's.
   */
  readonly apiMs?: readonly number[];
}

const clusterOf = (s: Service): string => `outbound|${s.ports[0]?.number ?? 0}||${hostFor(s, options) ?? ''}`;

/** A deterministic sequence of service indexes (an LCG), so every run changes the same services. */
function* indexes(seed: number): Generator<number> {
  let x = seed;
  for (;;) {
    x = (x * 1103515245 + 12345) % 2147483648;
    yield x % SERVICES;
  }
}

/** Nearest-rank percentile of unsorted samples, 0 when there are none. */
const pct = (s: readonly number[], p: number): number => (s.length === 0 ? 0 : percentile([...s].sort((a, b) => a - b), p));

/** One case: its own Meshbridge (or floor), istiod and sidecar; every scenario in order. */
async function runCase(peers: PeersModule, api: KubeApi, id: CaseId, scenarios: readonly ScenarioId[]): Promise<Row[]> {
  const services = Array.from({ length: SERVICES }, (_, i) => benchService(i, 0, shape));
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
    ? await peers.startIstiod({ mode: 'kubernetes', kubeconfig: api.kubeconfigPath, api, timeoutMs: 600_000 })
    : await peers.startIstiod({ mode: 'mcp', xdsAddress: `127.0.0.1:${ports[0] ?? 0}`, kubeconfig: api.kubeconfigPath, api, timeoutMs: 600_000, meshConfig });
  const pid = pidOf(istiod.meshConfigPath);
  const sidecar = new LeanSidecar({ address: istiod.grpcAddress, ip: '10.200.0.9', pod: `bench-${shards}-${id.length}`, namespace: 'bench-client' }).start();
  const rows: Row[] = [];
  let variant = 0;
  try {
    const want = services.map(clusterOf);
    await sidecar.waitFor(() => want.every((c) => sidecar.addresses(c).length > 0), 900_000);
    if (sidecar.reconnects.length > 0) process.stdout.write(`  istiod-path: ${id}: istiod dropped the sidecar's stream ${sidecar.reconnects.length}x while it synced (${sidecar.reconnects.join('; ')})\n`);
    if (id === 'kube floor') {
      await sink?.idle();
      sinkAbort.abort(); // from here the ServiceEntries are edited by hand; nothing reverts them
    }
    const apiMs: number[] = [];
    const change = async (tracker: ChangeTracker, i: number, timeWrite = false): Promise<void> => {
      const next = benchService(i, ++variant, shape);
      const t = performance.now();
      tracker.expect(clusterOf(next), next.endpoints[0]?.address ?? '');
      if (id === 'floor') publishStraight(store, services[i]!, next);
      else if (id === 'kube floor' && client !== undefined) await applyStraight(client, store, services[i]!, next);
      else fake.put(next);
      if (timeWrite && client !== undefined) apiMs.push(await untilWritten(client, store, services[i]!, next, t));
      services[i] = next;
    };
    for (const scenario of scenarios) {
      if (FLOORS.has(id) && scenario !== 'isolated') continue;
      // On the Kubernetes route istiod first writes an auto-allocated address into every
      // ServiceEntry's status and re-pushes until that settles: each series starts after it.
      await waitQuiet(pid, 50, 3, kube ? 900_000 : 300_000);
      const bytes0 = (await metrics.xdsPushBytes.get()).values[0]?.value ?? 0;
      const cpu0 = cpuMs(pid);
      const rss0 = rssMiB(pid);
      const t0 = performance.now();
      const tracker = new ChangeTracker(sidecar);
      const drops0 = sidecar.reconnects.length;
      const seq = indexes(scenario.length * 7919);
      let made = 0;
      apiMs.length = 0;
      if (scenario === 'isolated') {
        for (let k = 0; k < CHANGES; k++) {
          await change(tracker, seq.next().value as number, kube);
          made++;
          const end = performance.now() + 30_000;
          while (tracker.pendingCount() > 0 && performance.now() < end) await new Promise((r) => setTimeout(r, 1));
          await new Promise((r) => setTimeout(r, GAP_MS));
        }
      } else if (scenario === 'burst') {
        for (let i = 0; i < SERVICES; i++) await change(tracker, i);
        made = SERVICES;
      } else {
        // 1,000 changes/s: 10 every 10 ms, on schedule (a late tick catches up).
        const start = performance.now();
        while (performance.now() - start < CHURN_S * 1000) {
          const due = Math.floor(((performance.now() - start) / 1000) * CHURN_RATE);
          while (made < due) {
            await change(tracker, seq.next().value as number);
            made++;
          }
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      const { latencies, lost } = await tracker.settled(kube ? 300_000 : 120_000);
      const seconds = (performance.now() - t0) / 1000;
      const bytes = ((await metrics.xdsPushBytes.get()).values[0]?.value ?? 0) - bytes0;
      rows.push({
        id, scenario, n: made, lost,
        p50: pct(latencies, 50), p99: pct(latencies, 99), max: Math.max(0, ...latencies),
        seconds, istiodCpuMs: cpuMs(pid) - cpu0, mcpKiB: bytes / 1024, istiodRssMiB: [rss0, rssMiB(pid)], reconnects: sidecar.reconnects.length - drops0,
        ...(apiMs.length > 0 ? { apiMs: [...apiMs] } : {}),
      });
      process.stdout.write(`  istiod-path: ${id} / ${scenario}: ${JSON.stringify(rows[rows.length - 1])}\n`);
    }
    return rows;
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
 * Polls the kube-apiserver (every 2 ms) until the ServiceEntry of `was` holds the first address
 * of `next`; resolves with the ms since `t0` (performance.now()), or 30 s when it never does.
 */
async function untilWritten(client: KubeClient, store: SnapshotStore, was: Service, next: Service, t0: number): Promise<number> {
  const host = hostFor(was, options);
  const to = `"${next.endpoints[0]?.address ?? ''}"`;
  const r = [...(store.current()?.kinds.get('ServiceEntry')?.resources.values() ?? [])].find((x) => (x.spec['hosts'] as string[] | undefined)?.[0] === host);
  if (r === undefined) throw new Error(`no ServiceEntry for ${host ?? '?'}`);
  while (performance.now() - t0 < 30_000) {
    const got = await client.request<{ spec?: unknown }>({ method: 'GET', path: `/apis/networking.istio.io/v1/namespaces/${r.namespace}/serviceentries/${r.name}` });
    if (JSON.stringify(got.spec).includes(to)) return performance.now() - t0;
    await new Promise((res) => setTimeout(res, 2));
  }
  return 30_000;
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

let last: Row[] | undefined;

const SCENARIOS: readonly ScenarioId[] = (process.env['BENCH_ISTIOD_SCENARIOS']?.split(',') as ScenarioId[] | undefined) ?? ['isolated', 'burst', 'churn'];

export const istiodPath: Bench = {
  name: 'istiod-path',
  title: `Registry -> Meshbridge -> istiod -> sidecar: ${SERVICES.toLocaleString('en')} services x ${ENDPOINTS} endpoints`,
  description:
    `A FakeRegistry with ${SERVICES.toLocaleString('en')} services (${ENDPOINTS} endpoints, 2 ports each) feeds Meshbridge's Pipeline and MCP server; a real istiod (built from Go modules, hybrid mode: config from MCP, a kube-apiserver for Kubernetes services) ` +
    'reads it through meshConfig.configSources; a client posing as a sidecar (test-support/dataplane/lean-sidecar.ts: CDS and LDS wildcard, EDS and RDS for every name they carry, every response ACKed; it reads only those names off the wire and keeps ClusterLoadAssignments as bytes, so at 10k it costs little next to istiod; a routing test pins it to the full decoding client) is connected to istiod. ' +
    'Latency is from the registry holding the change to the receipt of the EDS response whose ClusterLoadAssignment holds the new address (or a later change of the same cluster). ' +
    'On the Kubernetes route an isolated change is also timed to the moment its new content is readable at the kube-apiserver (a GET every 2 ms), which splits a delay into Meshbridge\'s part and istiod\'s. ' +
    `Scenarios: isolated changes (${CHANGES}, ${GAP_MS} ms apart), a burst (one change to every service at once), churn (${CHURN_RATE.toLocaleString('en')} changes/s for ${CHURN_S} s, random services). ` +
    'istiod CPU is utime+stime of the istiod process over the scenario (until its last change was seen), RSS is VmRSS before and after; MCP bytes are what Meshbridge sent. Cases, same run: trailing debounce (the old default), ' +
    'leading edge (the default), leading edge with 8 MCP shards (istiod lists eight sources), and a floor: the ServiceEntry edited straight in the MCP store (no registry, no pipeline, no debounce), what istiod and the sidecar cost on their own; ' +
    'then the Kubernetes route (the KubernetesSink server-side applies to a real kube-apiserver with Istio\'s CRDs, client qps 500, concurrency 8; istiod reads everything from the kube-apiserver) and its floor: the same change server-side applied straight to the kube-apiserver by hand (what a Kubernetes-native ServiceEntry gets). ' +
    'Before each scenario the bench waits until istiod is quiet (< 50 ms CPU per second for 3 s: on the Kubernetes route istiod first writes an auto-allocated address into every ServiceEntry\'s status and re-pushes). ' +
    'Every case starts its own istiod; istiod debounces pushes itself (PILOT_DEBOUNCE_AFTER 100 ms, PILOT_DEBOUNCE_MAX 10 s), which is in every figure.',
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
        last.push(...(await runCase(peers, api, id, SCENARIOS)));
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
      preamble: [
        `${SERVICES.toLocaleString('en')} services x ${ENDPOINTS} endpoints (2 ports: ${(SERVICES * 2).toLocaleString('en')} EDS clusters at the sidecar); quiet period 100 ms, max delay 1,000 ms; istiod's own debounce 100 ms (max 10 s).`,
        'istiod CPU and MCP bytes are per change for isolated changes, per scenario otherwise.',
      ],
      tables: [
        {
          title: 'Registry change -> sidecar EDS through the real istiod',
          header: ['case', 'scenario', 'changes', 'not seen', 'p50 ms', 'p99 ms', 'max ms', 's', 'istiod CPU ms', 'istiod RSS MiB before -> after', 'MCP KiB', 'at the kube-apiserver p50 / max ms'],
          rows: last.map((r) => {
            const per = r.scenario === 'isolated' ? Math.max(1, r.n) : 1;
            return [r.id, r.scenario, String(r.n), String(r.lost), f(r.p50), f(r.p99), f(r.max), r.seconds.toFixed(1), f(r.istiodCpuMs / per),
              `${r.istiodRssMiB[0].toFixed(0)} -> ${r.istiodRssMiB[1].toFixed(0)}`, KUBE_CASES.has(r.id) ? '-' : f(r.mcpKiB / per),
              r.apiMs === undefined ? '-' : `${f(pct(r.apiMs, 50))} / ${f(Math.max(...r.apiMs))}`];
          }),
        },
      ],
      data: { services: SERVICES, endpoints: ENDPOINTS, changes: CHANGES, churnSeconds: CHURN_S, rows: last },
    };
  },
};
