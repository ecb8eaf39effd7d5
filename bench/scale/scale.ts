/**
 * scale: end-to-end figures at 1,000 services / 10,000 endpoints and 10,000 / 100,000, in one
 * registry and spread over three: full sync, isolated changes, a burst, steady churn and a no-op
 * resync, measured from the registry change (stamped in the bridge process) to (a) a lean
 * istiod-like ADS client and (b) a watch client of a real kube-apiserver (test-support peers),
 * with the bridges' usual strategies (no debounce; poll and rewrite everything) as baselines in
 * the same run, and the floors (one server-side apply round trip; the file registry's own
 * notification latency; ZooKeeper's and etcd's own watch latency) measured directly.
 * Setups with a real source (Z1-mb: ZooKeeper, E1-mb: etcd; sources.ts) read the registry
 * through Meshbridge's own adapter; this process populates it before the bridge starts, writes
 * and stamps every change right before sending it, and counts the bridge's requests while idle.
 *
 * Contract: measures and reports; never asserts on time. Peers missing: the Kubernetes columns
 * are left empty, real-source setups are skipped, and the run says so. Environment knobs:
 * BENCH_SCALE_CHURN_S (default 60; baselines that cannot keep up run shorter, see allSetups),
 * BENCH_SCALE_SETUPS (comma-separated setup ids, default all), BENCH_SCALE_KUBE=0 (skip the
 * Kubernetes route).
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convert, hostFor } from '../../src/convert/index.js';
import { ContentHashAnnotation } from '../../src/snapshot/index.js';
import { KubeClient, type WatchEvent } from '../../src/sinks/kubernetes/kube-client.js';
import { FIELD_MANAGER } from '../../src/sinks/kubernetes/sink.js';
import { FileRegistry } from '../../src/registry/file/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { ISTIOD_TYPE_URLS_V1 } from '../../test-support/xds/adsc.js';
import { loadPeers, type KubeApi } from '../../test-support/peers.js';
import { Compare, percentile, type Bench, type CaseResult, type TableResult } from '../harness.js';
import { RawAdsClient, nowMs, type RawResponse } from './raw-ads.js';
import { SourceKind, etcdWatchFloor, sourceMissing, startSource, zookeeperWatchFloor, type RealSource } from './sources.js';
import {
  Mode,
  conversionOptions,
  registryOf,
  scaleService,
  type BridgeConfig,
  type BridgeStats,
  type Change,
  type FromBridge,
  type ToBridge,
} from './protocol.js';

const BRIDGE = fileURLToPath(new URL('./bridge.js', import.meta.url));
const SE_URL = 'networking.istio.io/v1/ServiceEntry';
const QUIET_MS = 100;
const MAX_DELAY_MS = 1000;
const POLL_MS = 5000;
const KUBE_QPS = 500;
const IDLE_MS = 10_000;
const DEFAULT_CHURN_S = 60;

export interface Setup {
  readonly id: string;
  readonly services: number;
  readonly endpoints: number;
  readonly registries: number;
  readonly mode: Mode;
  readonly kube: boolean;
  readonly isolated: number;
  readonly burst: number;
  readonly churn: boolean;
  /** Churn duration for this setup when shorter than the run's (a baseline that cannot keep up). */
  readonly churnSeconds?: number;
  /** A real registry (through Meshbridge's adapter) instead of in-process FakeRegistries. */
  readonly source?: SourceKind;
}

export interface Latency {
  readonly n: number;
  readonly missed: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface ScenarioResult {
  readonly setup: string;
  readonly scenario: string;
  readonly changes: number;
  /** Distinct ServiceEntries the changes touched. */
  readonly changedEntries: number;
  readonly ads: Latency | undefined;
  readonly kube: Latency | undefined;
  readonly kubeWrites: number | undefined;
  readonly pushes: number;
  readonly pushMiB: number;
  readonly pushBuildP50: number | undefined;
  readonly pushBuildP99: number | undefined;
  readonly flushP50: number | undefined;
  /** Requests the bridge sent to a real registry during the scenario (idle only). */
  readonly registryRequests: number | undefined;
  readonly cpuSeconds: number;
  readonly rssMiB: number;
  readonly maxRssMiB: number;
  readonly wallMs: number;
  readonly notes: string;
  /** Per-change latencies (ms) to the ADS client, for plots. */
  readonly adsSamples: readonly number[];
  readonly kubeSamples: readonly number[];
}

export interface FloorResult {
  readonly name: string;
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly notes: string;
}

export interface ScaleReport {
  readonly churnSeconds: number;
  readonly quietPeriodMs: number;
  readonly maxDelayMs: number;
  readonly pollMs: number;
  readonly kubeAvailable: string;
  readonly results: readonly ScenarioResult[];
  readonly floors: readonly FloorResult[];
}

export function allSetups(): Setup[] {
  const small = { services: 1_000, endpoints: 10 };
  const large = { services: 10_000, endpoints: 10 };
  return [
    { id: 'S1-mb', ...small, registries: 1, mode: Mode.MESHBRIDGE, kube: true, isolated: 20, burst: 10_000, churn: true },
    { id: 'S1-tr', ...small, registries: 1, mode: Mode.TRAILING, kube: false, isolated: 20, burst: 10_000, churn: true },
    { id: 'S1-nd', ...small, registries: 1, mode: Mode.NO_DEBOUNCE, kube: true, isolated: 10, burst: 0, churn: true, churnSeconds: 20 },
    { id: 'S1-poll', ...small, registries: 1, mode: Mode.POLL, kube: true, isolated: 4, burst: 0, churn: false },
    { id: 'S3-mb', ...small, registries: 3, mode: Mode.MESHBRIDGE, kube: false, isolated: 20, burst: 10_000, churn: false },
    { id: 'L1-mb', ...large, registries: 1, mode: Mode.MESHBRIDGE, kube: false, isolated: 30, burst: 10_000, churn: true },
    { id: 'L3-mb', ...large, registries: 3, mode: Mode.MESHBRIDGE, kube: false, isolated: 30, burst: 10_000, churn: true },
    { id: 'L1-tr', ...large, registries: 1, mode: Mode.TRAILING, kube: false, isolated: 30, burst: 10_000, churn: true },
    { id: 'L1-nd', ...large, registries: 1, mode: Mode.NO_DEBOUNCE, kube: false, isolated: 20, burst: 0, churn: true, churnSeconds: 2 },
    { id: 'L1-poll', ...large, registries: 1, mode: Mode.POLL, kube: false, isolated: 4, burst: 0, churn: true },
    { id: 'L1-mb-kube', ...large, registries: 1, mode: Mode.MESHBRIDGE, kube: true, isolated: 10, burst: 0, churn: false },
    { id: 'Z1-mb', ...small, registries: 1, mode: Mode.MESHBRIDGE, kube: false, isolated: 20, burst: 10_000, churn: true, source: SourceKind.ZOOKEEPER },
    { id: 'E1-mb', ...small, registries: 1, mode: Mode.MESHBRIDGE, kube: false, isolated: 20, burst: 10_000, churn: true, source: SourceKind.ETCD },
  ];
}

export function setupLabel(s: Setup): string {
  const n = `${(s.services / 1000).toFixed(0)}k svc/${((s.services * s.endpoints) / 1000).toFixed(0)}k ep`;
  return `${s.id}: ${n}, ${s.registries} reg${s.source !== undefined ? ` (real ${s.source})` : ''}, ${s.mode}${s.kube ? ', +kube' : ''}`;
}

function latency(samples: readonly number[], missed: number): Latency {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, missed, p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] ?? Number.NaN };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Tracks expected (name, version) per change and resolves changes as versions arrive. */
class Tracker {
  private readonly byVersion = new Map<string, { id: number; name: string }>();
  private readonly pending = new Map<string, number[]>();
  readonly arrived = new Map<number, number>();
  expect(id: number, name: string, version: string): void {
    this.byVersion.set(version, { id, name });
    let p = this.pending.get(name);
    if (p === undefined) this.pending.set(name, (p = []));
    p.push(id);
  }
  seen(name: string, version: string, at: number): void {
    const hit = this.byVersion.get(version);
    if (hit === undefined || hit.name !== name) return;
    const p = this.pending.get(name);
    if (p === undefined) return;
    // A later change of the same entry supersedes earlier ones: they arrived with it.
    let k = 0;
    while (k < p.length && (p[k] ?? Infinity) <= hit.id) {
      const id = p[k] ?? 0;
      if (!this.arrived.has(id)) this.arrived.set(id, at);
      k++;
    }
    p.splice(0, k);
  }
  open(): number {
    let n = 0;
    for (const p of this.pending.values()) n += p.length;
    return n;
  }
}

class Bridge {
  private readonly child;
  private readonly waiters: Array<(m: FromBridge) => boolean> = [];
  constructor(cfg: BridgeConfig) {
    this.child = fork(BRIDGE, [JSON.stringify(cfg)], { execArgv: ['--expose-gc', ...(process.env['BENCH_BRIDGE_PROF'] !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_BRIDGE_PROF']}`] : [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: unknown) => {
      const msg = m as FromBridge;
      if (msg.type === 'error') process.stderr.write(`bridge error: ${msg.message}\n`);
      const i = this.waiters.findIndex((w) => w(msg));
      if (i >= 0) this.waiters.splice(i, 1);
    });
  }
  wait<T extends FromBridge['type']>(type: T, timeoutMs = 600_000): Promise<Extract<FromBridge, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bridge: no ${type} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push((m) => {
        if (m.type !== type) return false;
        clearTimeout(timer);
        resolve(m as Extract<FromBridge, { type: T }>);
        return true;
      });
    });
  }
  send(m: ToBridge): void {
    this.child.send(m);
  }
  async stats(): Promise<BridgeStats> {
    const p = this.wait('stats');
    this.send({ type: 'stats' });
    return p;
  }
  async stop(): Promise<void> {
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.send({ type: 'stop' });
    const t = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  }
}

/** Expected ServiceEntry name (namespace/name) and version of a change, by the same conversion. */
function expected(cfg: Pick<BridgeConfig, 'endpoints'>, c: Pick<Change, 'reg' | 'svc' | 'variant'>): { name: string; version: string } {
  const o = conversionOptions();
  const s = scaleService(cfg, c.reg, c.svc, c.variant);
  const r = convert({ host: hostFor(s, o), primary: s, ports: s.ports, endpoints: s.endpoints, origins: [s.registry] }, o).resources[0];
  if (r === undefined) throw new Error('conversion gave no resource');
  return { name: `${r.namespace}/${r.name}`, version: r.version };
}

interface Kube {
  readonly api: KubeApi;
  readonly client: KubeClient;
  readonly stop: () => Promise<void>;
}

async function startKube(): Promise<Kube | string> {
  if (process.env['BENCH_SCALE_KUBE'] === '0') return 'skipped (BENCH_SCALE_KUBE=0)';
  try {
    const peers = await loadPeers();
    const missing = (['etcd', 'kube-apiserver', 'istio-crds'] as const).filter((n) => !peers.peerAvailable(n));
    if (missing.length > 0) return `peers not built: ${missing.join(', ')} (test-support/peers/build-peers.sh)`;
    const api = await peers.startKubeApiserver({ authorization: 'AlwaysAllow' });
    await peers.applyIstioCrds(api);
    // Resources land in the conversion's namespace; the file floor writes to team0.
    for (const ns of [conversionOptions().namespace, 'team0']) await peers.ensureNamespace(api, ns);
    const client = new KubeClient({ kubeconfig: api.kubeconfigPath, qps: 1000, burst: 2000 });
    await client.init();
    return { api, client, stop: () => api.stop() };
  } catch (e) {
    return `kube-apiserver did not start: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
  }
}

async function wipeKube(k: Kube): Promise<void> {
  await k.client.request({ method: 'DELETE', path: `/apis/networking.istio.io/v1/namespaces/${conversionOptions().namespace}/serviceentries` }).catch(() => undefined);
  // Wait until the collection is empty (deletes are asynchronous to the list).
  for (let t = 0; t < 120; t++) {
    const l = await k.client.request<{ items?: unknown[] }>({ method: 'GET', path: '/apis/networking.istio.io/v1/serviceentries', query: { limit: 1 } });
    if ((l.items?.length ?? 0) === 0) return;
    await sleep(500);
  }
}

function uniqueVariant(): () => number {
  let v = 0;
  return () => (v = (v + 1) % 0xffffff || 1);
}

async function runSetup(setup: Setup, kube: Kube | undefined, runChurnSeconds: number, nextVariant: () => number): Promise<ScenarioResult[]> {
  if (setup.source === undefined) return runSetupWith(setup, kube, runChurnSeconds, nextVariant, undefined);
  const missing = await sourceMissing(setup.source);
  if (missing !== undefined) return [{ ...empty(setup, 'skipped'), notes: `${setup.source} peer missing, setup skipped: ${missing}` }];
  const real = await startSource(setup.source, setup.services, setup.endpoints);
  try {
    return await runSetupWith(setup, kube, runChurnSeconds, nextVariant, real);
  } finally {
    await real.stop();
  }
}

async function runSetupWith(setup: Setup, kube: Kube | undefined, runChurnSeconds: number, nextVariant: () => number, real: RealSource | undefined): Promise<ScenarioResult[]> {
  const churnSeconds = Math.min(runChurnSeconds, setup.churnSeconds ?? runChurnSeconds);
  const useKube = setup.kube && kube !== undefined;
  if (useKube) await wipeKube(kube);
  const cfg: BridgeConfig = {
    source: real?.bridgeSource ?? { kind: 'fake' },
    services: setup.services,
    endpoints: setup.endpoints,
    registries: setup.registries,
    mode: setup.mode,
    quietPeriodMs: QUIET_MS,
    maxDelayMs: MAX_DELAY_MS,
    pollMs: POLL_MS,
    kubeconfig: useKube ? kube.api.kubeconfigPath : undefined,
    kubeQps: KUBE_QPS,
  };
  // Plan every change and its expected version before the bridge runs (conversion costs CPU).
  let id = 0;
  const plan = (n: number, seed: number): Change[] =>
    Array.from({ length: n }, (_, k) => {
      const svc = (seed + k * 7919) % setup.services;
      return { id: ++id, reg: registryOf(svc, setup.registries), svc, variant: nextVariant() };
    });
  const isolated = plan(setup.isolated, 11);
  const burst = plan(setup.burst, 101);
  const churn = setup.churn ? plan(churnSeconds * 1000, 1009) : [];
  const ads = new Tracker();
  const kw = new Tracker();
  const expectedOf = (c: Change): { name: string; version: string } => (real !== undefined ? real.expected(c) : expected(cfg, c));
  for (const c of [...isolated, ...burst, ...churn]) {
    const e = expectedOf(c);
    ads.expect(c.id, e.name, e.version);
    kw.expect(c.id, e.name, e.version);
  }

  // Kubernetes watch (the observer side of route (a)).
  const watchAbort = new AbortController();
  const kubeSeen = new Map<string, string>();
  if (useKube) {
    const onEvent = (e: WatchEvent): void => {
      const at = nowMs();
      const o = e.object as { metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> } };
      const name = `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
      const v = o.metadata?.annotations?.[ContentHashAnnotation];
      if (e.type === 'DELETED' || v === undefined) {
        kubeSeen.delete(name);
        return;
      }
      kubeSeen.set(name, v);
      kw.seen(name, v, at);
    };
    void (async () => {
      while (!watchAbort.signal.aborted) {
        await kube.client.watch('/apis/networking.istio.io/v1/serviceentries', {}, onEvent, watchAbort.signal).catch(() => sleep(200));
      }
    })();
  }

  // A real registry holds every service before the bridge starts (the bridge lists, then watches).
  const populated = real !== undefined ? await real.populate() : undefined;
  let writeFailures = 0;
  let firstWriteFailure = '';
  /** Real sources: ms from the first write sent to the last one acknowledged, per phase. */
  let ackedMs: number | undefined;
  const failures = (): string => {
    const n = writeFailures;
    const acked = ackedMs;
    writeFailures = 0;
    ackedMs = undefined;
    return (
      (acked !== undefined ? `; the registry acknowledged the last write ${acked.toFixed(0)} ms after the first was sent` : '') +
      (n > 0 ? `; ${n} registry writes failed (first: ${firstWriteFailure})` : '')
    );
  };
  const written = (w: Promise<void>): Promise<void> =>
    w.catch((e: unknown) => {
      if (writeFailures++ === 0) firstWriteFailure = e instanceof Error ? e.message : String(e);
    });

  const bridge = new Bridge(cfg);
  const out: ScenarioResult[] = [];
  let adsClient: RawAdsClient | undefined;
  try {
    const ready = await bridge.wait('ready');
    const adsSeen = new Map<string, string>();
    let firstFull: ((r: RawResponse) => void) | undefined;
    let pushes: RawResponse[] = [];
    const connectAt = nowMs();
    const firstResponse = new Promise<RawResponse>((resolve) => (firstFull = resolve));
    adsClient = new RawAdsClient(ready.port, (r) => {
      if (r.typeUrl !== SE_URL) return;
      pushes.push(r);
      for (const [name, v] of r.resources) {
        if (adsSeen.get(name) !== v) {
          adsSeen.set(name, v);
          ads.seen(name, v, r.at);
        }
      }
      firstFull?.(r);
      firstFull = undefined;
    });
    adsClient.subscribe(ISTIOD_TYPE_URLS_V1);
    const first = await firstResponse;
    let kubeSyncMs: number | undefined;
    if (useKube) {
      const t = nowMs();
      while (kubeSeen.size < setup.services && nowMs() - t < 600_000) await sleep(100);
      kubeSyncMs = nowMs() - t;
    }
    const s0 = await bridge.stats();
    let sourceNotes = '';
    if (real !== undefined && populated !== undefined) {
      // The predicted versions (the adapter's own parse + build, then convert) must match what the
      // bridge published, else every latency below would be "missed".
      let match = 0;
      for (let svc = 0; svc < setup.services; svc++) {
        const e = real.expected({ svc, variant: 0 });
        if (first.resources.get(e.name) === e.version) match++;
      }
      sourceNotes =
        `; registry populated before the bridge started in ${(populated.ms / 1000).toFixed(1)} s (${populated.requests} write requests); ` +
        `predicted versions matched ${match}/${setup.services}` +
        (s0.registryProblems > 0 ? `; ${s0.registryProblems} problems reported by the adapter (first: ${s0.firstRegistryProblem ?? ''})` : '') +
        `. ${real.notes}`;
    }
    out.push({
      ...empty(setup, 'full sync'),
      changes: setup.services,
      changedEntries: setup.services,
      pushes: s0.pushes,
      pushMiB: first.bytes / 2 ** 20,
      pushBuildP50: undefined,
      pushBuildP99: undefined,
      cpuSeconds: 0,
      kubeWrites: useKube ? s0.kubeWrites : undefined,
      rssMiB: s0.rss / 2 ** 20,
      maxRssMiB: s0.maxRss / 2 ** 20,
      wallMs: ready.fullSyncMs,
      notes:
        `registries -> snapshot ${ready.fullSyncMs.toFixed(0)} ms; connect -> first full ServiceEntry response at the ADS client ${(first.at - connectAt).toFixed(0)} ms ` +
        `(${first.resources.size} resources, ${(first.bytes / 2 ** 20).toFixed(1)} MiB)` +
        (kubeSyncMs !== undefined ? `; all ${setup.services} ServiceEntries seen by the kube watch ${(kubeSyncMs / 1000).toFixed(1)} s after the ADS push` : '') +
        `; heap ${(s0.heapUsed / 2 ** 20).toFixed(0)} MiB, external ${(s0.external / 2 ** 20).toFixed(0)} MiB` +
        sourceNotes,
    });

    /**
     * Under churn the Kubernetes route is bounded by the API server's write rate: with one owed
     * write per object (latest wins), a change waits at most one cycle over the changed entries
     * at the measured rate, plus the debounce (issue 13: p99 within 2 x max delay of that).
     */
    const kubeRate = (scenario: string, writes: number, wallMs: number, entries: number): string => {
      if (!useKube || writes === 0 || !scenario.startsWith('churn')) return '';
      const rate = writes / (wallMs / 1000);
      const cycle = (Math.min(entries, setup.services) / rate) * 1000;
      return `; API writes ${rate.toFixed(0)}/s measured; a cycle over the ${Math.min(entries, setup.services).toLocaleString('en')} changed entries at that rate: ${cycle.toFixed(0)} ms (bound for p99: that + 2 x max delay = ${(cycle + 2 * MAX_DELAY_MS).toFixed(0)} ms)`;
    };
    const phase = async (
      name: string,
      changes: readonly Change[],
      drive: () => Promise<ReadonlyMap<number, number>>,
      settleMs: number,
      notes: (wall: number) => string,
    ): Promise<void> => {
      if (changes.length === 0) return;
      pushes = [];
      const before = await bridge.stats();
      const t = nowMs();
      const stamps = await drive();
      // Wait for the last arrivals (bounded).
      const deadline = nowMs() + settleMs;
      const done = (): boolean => changes.every((c) => ads.arrived.has(c.id) && (!useKube || kw.arrived.has(c.id)));
      while (!done() && nowMs() < deadline) await sleep(50);
      const wall = nowMs() - t;
      if (useKube) await sleep(500); // late writes still count
      const after = await bridge.stats();
      const lat = (tr: Tracker): { samples: number[]; missed: number } => {
        const samples: number[] = [];
        let missed = 0;
        for (const c of changes) {
          const a = tr.arrived.get(c.id);
          const s = stamps.get(c.id);
          if (a === undefined || s === undefined) missed++;
          else samples.push(a - s);
        }
        return { samples, missed };
      };
      const a = lat(ads);
      const k = lat(kw);
      const entries = new Set(changes.map((c) => c.svc)).size;
      const build = [...after.pushBuildMs].sort((x, y) => x - y);
      const flush = [...after.flushMs].sort((x, y) => x - y);
      out.push({
        setup: setupLabel(setup),
        scenario: name,
        changes: changes.length,
        changedEntries: entries,
        ads: latency(a.samples, a.missed),
        kube: useKube ? latency(k.samples, k.missed) : undefined,
        kubeWrites: useKube ? after.kubeWrites - before.kubeWrites : undefined,
        pushes: after.pushes - before.pushes,
        pushMiB: pushes.reduce((x, r) => x + r.bytes, 0) / 2 ** 20,
        pushBuildP50: build.length > 0 ? percentile(build, 50) : undefined,
        pushBuildP99: build.length > 0 ? percentile(build, 99) : undefined,
        flushP50: flush.length > 0 ? percentile(flush, 50) : undefined,
        registryRequests: undefined,
        cpuSeconds: after.cpuSeconds - before.cpuSeconds,
        rssMiB: after.rss / 2 ** 20,
        maxRssMiB: after.maxRss / 2 ** 20,
        wallMs: wall,
        notes: notes(wall) + kubeRate(name, after.kubeWrites - before.kubeWrites, wall, entries) + failures(),
        adsSamples: a.samples,
        kubeSamples: k.samples,
      });
    };

    const applyAll = async (cs: readonly Change[]): Promise<Map<number, number>> => {
      if (real !== undefined) {
        // Stamped here, right before each write is sent to the registry.
        const stamps = new Map<number, number>();
        const writes: Array<Promise<void>> = [];
        const t0 = performance.now();
        for (const c of cs) {
          stamps.set(c.id, nowMs());
          writes.push(written(real.write(c)));
        }
        await Promise.all(writes);
        if (cs.length > 1) ackedMs = performance.now() - t0;
        return stamps;
      }
      const p = bridge.wait('applied');
      bridge.send({ type: 'apply', changes: cs });
      return new Map((await p).stamps);
    };
    const gap = setup.mode === Mode.POLL ? POLL_MS + 1000 : useKube ? 1500 : 600;
    await phase(
      'isolated changes (one at a time)',
      isolated,
      async () => {
        const stamps = new Map<number, number>();
        for (const c of isolated) {
          for (const [k, v] of await applyAll([c])) stamps.set(k, v);
          const t = nowMs();
          while (nowMs() - t < gap * 4 && !(ads.arrived.has(c.id) && (!useKube || kw.arrived.has(c.id)))) await sleep(5);
          await sleep(setup.mode === Mode.POLL ? 0 : gap / 3);
        }
        return stamps;
      },
      gap * 2,
      () => `one change, wait for it, pause; quiet period ${QUIET_MS} ms`,
    );
    if (real !== undefined) {
      // Idle: no changes; count what the bridge asks the registry (watches: nothing).
      await sleep(1000);
      const b = await bridge.stats();
      const count = await real.countRequests();
      await sleep(IDLE_MS);
      const idle = await count();
      const a = await bridge.stats();
      out.push({
        ...empty(setup, `idle ${IDLE_MS / 1000} s`),
        registryRequests: idle.requests,
        pushes: a.pushes - b.pushes,
        cpuSeconds: a.cpuSeconds - b.cpuSeconds,
        rssMiB: a.rss / 2 ** 20,
        maxRssMiB: a.maxRss / 2 ** 20,
        wallMs: IDLE_MS,
        notes: `requests to the registry while idle: ${idle.requests}; ${idle.detail}`,
      });
    }
    await phase('burst of changes at once', burst, () => applyAll(burst), 120_000, (w) => `${burst.length} changes in one go; all visible at the ADS client after ${w.toFixed(0)} ms`);
    await phase(
      `churn 1000/s for ${churnSeconds} s`,
      churn,
      async () => {
        if (real !== undefined) {
          const t0 = performance.now();
          const stamps = await churnTo(real, churn, 1000, written);
          ackedMs = performance.now() - t0;
          return stamps;
        }
        const p = bridge.wait('applied', churnSeconds * 1000 + 900_000);
        bridge.send({ type: 'churn', changes: churn, perSecond: 1000 });
        return new Map((await p).stamps);
      },
      setup.mode === Mode.POLL ? 2 * POLL_MS : 60_000,
      () => `max delay ${MAX_DELAY_MS} ms`,
    );

    // No-op resync: a full re-list with equal content (new objects), then a flush.
    if (real !== undefined) return out; // FakeRegistry-only: the adapters re-list only after a reconnect
    pushes = [];
    const b = await bridge.stats();
    const rp = bridge.wait('resynced');
    bridge.send({ type: 'resync' });
    const rs = await rp;
    await sleep(useKube ? 3000 : 1000);
    const a = await bridge.stats();
    out.push({
      ...empty(setup, 'no-op resync'),
      kubeWrites: useKube ? a.kubeWrites - b.kubeWrites : undefined,
      pushes: a.pushes - b.pushes,
      pushMiB: pushes.reduce((x, r) => x + r.bytes, 0) / 2 ** 20,
      cpuSeconds: a.cpuSeconds - b.cpuSeconds,
      rssMiB: a.rss / 2 ** 20,
      maxRssMiB: a.maxRss / 2 ** 20,
      wallMs: rs.ms,
      notes: `re-list of ${setup.services} equal services + flush took ${rs.ms.toFixed(0)} ms; new snapshot published: ${String(rs.published)}`,
    });
  } finally {
    adsClient?.close();
    watchAbort.abort();
    await bridge.stop();
  }
  return out;
}

function empty(setup: Setup, scenario: string): ScenarioResult {
  return {
    setup: setupLabel(setup),
    scenario,
    changes: 0,
    changedEntries: 0,
    ads: undefined,
    kube: undefined,
    kubeWrites: undefined,
    pushes: 0,
    pushMiB: 0,
    pushBuildP50: undefined,
    pushBuildP99: undefined,
    flushP50: undefined,
    registryRequests: undefined,
    cpuSeconds: 0,
    rssMiB: 0,
    maxRssMiB: 0,
    wallMs: 0,
    notes: '',
    adsSamples: [],
    kubeSamples: [],
  };
}

/**
 * Churn against a real registry, from this process: in 10 ms ticks (as the bridge's churn), each
 * change stamped with the time it was due and sent without waiting for the previous ones' acks,
 * so a registry (or writer) that falls behind counts as latency.
 */
async function churnTo(real: RealSource, changes: readonly Change[], perSecond: number, written: (w: Promise<void>) => Promise<void>): Promise<Map<number, number>> {
  const stamps = new Map<number, number>();
  const writes: Array<Promise<void>> = [];
  const start = performance.now();
  const startEpoch = nowMs();
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(changes.length, Math.floor(((performance.now() - start) / 1000) * perSecond) + 1);
      while (next < due) {
        const c = changes[next++];
        if (c === undefined) continue;
        stamps.set(c.id, startEpoch + ((next - 1) / perSecond) * 1000);
        writes.push(written(real.write(c)));
      }
      if (next >= changes.length) resolve();
      else setTimeout(tick, 10);
    };
    tick();
  });
  await Promise.all(writes);
  return stamps;
}

/** Floor: one server-side apply of one changed ServiceEntry, round trip, measured directly. */
async function ssaFloor(k: Kube): Promise<FloorResult> {
  const samples: number[] = [];
  for (let i = 0; i < 40; i++) {
    const t = performance.now();
    await k.client.request({
      method: 'PATCH',
      path: '/apis/networking.istio.io/v1/namespaces/team0/serviceentries/floor',
      query: { fieldManager: FIELD_MANAGER, force: true },
      body: {
        apiVersion: 'networking.istio.io/v1',
        kind: 'ServiceEntry',
        metadata: { name: 'floor', namespace: 'team0' },
        spec: { hosts: ['floor.bench.local'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'STATIC', endpoints: [{ address: `10.9.0.${i + 1}` }] },
      },
      contentType: 'application/apply-patch+yaml',
    });
    if (i >= 5) samples.push(performance.now() - t);
  }
  const s = samples.sort((a, b) => a - b);
  return { name: 'one server-side apply round trip (kube-apiserver + etcd)', n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), notes: 'PATCH apply-patch+yaml of one changed ServiceEntry, 5 warm-up' };
}

/** Floor: the file registry's own notification latency (file written -> registry event). */
async function fileFloor(): Promise<FloorResult> {
  const dir = await mkdtemp(join(tmpdir(), 'mb-bench-file-'));
  const file = join(dir, 'services.yaml');
  const doc = (i: number): string =>
    `services:\n  - name: floor\n    namespace: team0\n    ports: [{name: http, number: 8080}]\n    instances:\n      - address: 10.8.${(i >> 8) & 255}.${i & 255}\n`;
  await writeFile(file, doc(0));
  const ac = new AbortController();
  let resolveEvent: (() => void) | undefined;
  const reg = new FileRegistry({ name: 'floor', path: file, context: { report: () => undefined }, logger: silentLogger(), debounceMs: 0, pollIntervalMs: 0 });
  reg.onEvent((e) => {
    if (e.type === 'upsert') resolveEvent?.();
  });
  const samples: number[] = [];
  try {
    await reg.start(ac.signal);
    for (let i = 1; i <= 30; i++) {
      const got = new Promise<void>((r) => (resolveEvent = r));
      const t = performance.now();
      await writeFile(file, doc(i));
      await Promise.race([got, sleep(5000)]);
      samples.push(performance.now() - t);
      await sleep(50);
    }
  } finally {
    ac.abort();
    await rm(dir, { recursive: true, force: true });
  }
  const s = samples.sort((a, b) => a - b);
  return { name: 'file registry notification (write -> FileRegistry event)', n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), notes: 'fs.watch + read + parse, debounceMs 0; the default debounceMs is 50' };
}

export async function runScale(): Promise<ScaleReport> {
  const churnSeconds = Number(process.env['BENCH_SCALE_CHURN_S'] ?? DEFAULT_CHURN_S);
  const only = process.env['BENCH_SCALE_SETUPS']?.split(',').filter((x) => x !== '');
  const setups = allSetups().filter((s) => only === undefined || only.includes(s.id));
  const k = setups.some((s) => s.kube) ? await startKube() : 'not needed by the selected setups';
  const kube = typeof k === 'string' ? undefined : k;
  const results: ScenarioResult[] = [];
  const floors: FloorResult[] = [];
  const nextVariant = uniqueVariant();
  try {
    floors.push(await fileFloor());
    if (kube !== undefined) floors.push(await ssaFloor(kube));
    // The registries' own watch latency, when a selected setup reads that registry (all: both).
    for (const [kind, floor] of [
      [SourceKind.ZOOKEEPER, zookeeperWatchFloor],
      [SourceKind.ETCD, etcdWatchFloor],
    ] as const) {
      if (!setups.some((s) => s.source === kind)) continue;
      const missing = await sourceMissing(kind);
      if (missing !== undefined) {
        floors.push({ name: `${kind} watch`, n: 0, p50: Number.NaN, p99: Number.NaN, notes: `skipped: ${missing}` });
        continue;
      }
      try {
        floors.push(await floor());
      } catch (e) {
        floors.push({ name: `${kind} watch`, n: 0, p50: Number.NaN, p99: Number.NaN, notes: `FAILED: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` });
      }
    }
    for (const s of setups) {
      process.stderr.write(`scale: ${setupLabel(s)} ...\n`);
      try {
        results.push(...(await runSetup(s, kube, churnSeconds, nextVariant)));
      } catch (e) {
        results.push({ ...empty(s, 'FAILED'), notes: e instanceof Error ? e.message : String(e) });
      }
    }
  } finally {
    await kube?.stop();
  }
  return {
    churnSeconds,
    quietPeriodMs: QUIET_MS,
    maxDelayMs: MAX_DELAY_MS,
    pollMs: POLL_MS,
    kubeAvailable: typeof k === 'string' ? k : 'yes',
    results,
    floors,
  };
}

function ms(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function lat(l: Latency | undefined): string {
  if (l === undefined) return '-';
  return `${ms(l.p50)} / ${ms(l.p99)}${l.missed > 0 ? ` (${l.missed} missed)` : ''}`;
}

export const SCALE_HEADER = [
  'setup',
  'scenario',
  'changes (entries)',
  'ADS p50 / p99 ms',
  'kube watch p50 / p99 ms',
  'API writes (per changed SE)',
  'SE pushes',
  'push MiB',
  'push build p50 / p99 ms',
  'flush p50 ms',
  'CPU s',
  'RSS / peak MiB',
  'notes',
] as const;

export function scaleRows(r: ScaleReport): string[][] {
  return r.results.map((x) => [
    x.setup,
    x.scenario,
    x.changes === 0 ? '-' : `${x.changes.toLocaleString('en-US')} (${x.changedEntries.toLocaleString('en-US')})`,
    lat(x.ads),
    lat(x.kube),
    x.kubeWrites === undefined ? '-' : x.changedEntries > 0 ? `${x.kubeWrites} (${(x.kubeWrites / x.changedEntries).toFixed(2)})` : String(x.kubeWrites),
    String(x.pushes),
    x.pushMiB.toFixed(1),
    `${ms(x.pushBuildP50)} / ${ms(x.pushBuildP99)}`,
    ms(x.flushP50),
    x.cpuSeconds.toFixed(2),
    `${x.rssMiB.toFixed(0)} / ${x.maxRssMiB.toFixed(0)}`,
    x.notes,
  ]);
}

export function floorRows(r: ScaleReport): string[][] {
  return r.floors.map((f) => [f.name, String(f.n), ms(f.p50), ms(f.p99), f.notes]);
}

let last: ScaleReport | undefined;

export const scaleBench: Bench = {
  name: 'scale',
  title: 'End to end at 1k/10k and 10k/100k services/endpoints: propagation, writes, sync, push, memory, against baselines',
  description:
    'A bridge process (bench/scale/bridge.ts, forked with --expose-gc) runs FakeRegistries (1 or 3) holding the generated services (10 endpoints each), ' +
    "Meshbridge's Pipeline (quiet period 100 ms, max delay 1,000 ms: the defaults), the XdsServer and, for the Kubernetes route, the KubernetesSink " +
    'writing to a real kube-apiserver + etcd started from test-support/peers/peers.mjs (Istio CRDs applied; client qps 500, concurrency 8). The bench process ' +
    'observes: a lean istiod-like ADS client (bench/scale/raw-ads.ts: subscribes to every Istio type, ACKs, reads only metadata name/version) and a watch ' +
    'on serviceentries. Every change (one endpoint of one service moves) is stamped in the bridge right before the registry holds it; latency is until the ' +
    "observer sees that entry's new content version (a later version of the same entry counts: it contains the change). Scenarios: full sync, isolated " +
    'changes one at a time, a burst of 10,000 changes at once, steady churn of 1,000 endpoint changes/s, a no-op resync (a full re-list with equal content, ' +
    'then a flush). Baselines, same run, same data: `no-debounce` (one full flush, push and reconcile per registry event) and `poll` (every 5 s: ' +
    're-list, convert everything, publish, and server-side apply every object). Floors: one server-side apply round trip, and the file registry\'s own ' +
    'notification latency. CPU s and RSS are the bridge process\'s; push build is the synchronous xDS work of one publish (retain, encode what changed, ' +
    'assemble, grpc-js write) for one ADS stream. Real registries (bench/scale/sources.ts): `Z1-mb` reads 1,000 Dubbo interfaces x 10 providers from a ' +
    "real ZooKeeper (test-support/peers/zookeeper.mjs) and `E1-mb` 1,000 services x 10 instances (one JSON value per key) from a real etcd, each through Meshbridge's " +
    'own adapter; the bench process populates the registry before the bridge starts (ZooKeeper: one multi request per service; etcd: txns of 100 puts), ' +
    'then writes every change itself (ZooKeeper: one multi removing a provider node and creating its replacement; etcd: one put), stamped right before ' +
    'it is sent. These setups add an idle scenario: 10 s without changes, counting the requests the bridge makes to the registry (ZooKeeper: the `cons` ' +
    "four-letter word, the last client xid of the bridge's session, pings apart; etcd: /metrics grpc_server_msg_received_total by method); " +
    "a no-op resync does not apply to them. Extra floors: ZooKeeper's own watch latency (a bare client's getChildren watch firing after another " +
    "session creates or deletes a child) and etcd's (put -> watch event at another client).",
  compare: Compare.TIME,
  async run(): Promise<readonly CaseResult[]> {
    last = await runScale();
    return [];
  },
  table(): TableResult | undefined {
    if (last === undefined) return undefined;
    return {
      preamble: [
        `Churn ${last.churnSeconds} s at 1,000 changes/s` +
          (last.churnSeconds < DEFAULT_CHURN_S ? ` (shortened from the default ${DEFAULT_CHURN_S} s with BENCH_SCALE_CHURN_S)` : '') +
          `; the no-debounce baselines, which cannot keep up, run shorter (the duration is in each churn row). ` +
          `Debounce: quiet period ${last.quietPeriodMs} ms, max delay ${last.maxDelayMs} ms; poll baseline every ${last.pollMs / 1000} s. Kubernetes route: ${last.kubeAvailable}.`,
      ],
      tables: [
        { title: 'Scenarios', header: SCALE_HEADER, rows: scaleRows(last) },
        { title: 'Floors (measured directly)', header: ['floor', 'n', 'p50 ms', 'p99 ms', 'notes'], rows: floorRows(last) },
      ],
      data: last,
    };
  },
};
