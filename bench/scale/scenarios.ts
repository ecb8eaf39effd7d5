/**
 * One setup's run: the bridge process started on the setup's registries, observed by the ADS
 * client (and the kube watch on the Kubernetes route), through the scenarios in order: full sync,
 * isolated changes, idle (real registries only), a burst, churn, and a no-op resync (FakeRegistries
 * only). Every change is planned, with its expected version, before the bridge starts.
 */
import { percentile } from '../harness.js';
import { Bridge } from './bridge-process.js';
import { wipeKube, type Kube } from './kube.js';
import { AdsObserver, KubeWatch, Tracker, expected } from './observers.js';
import { Mode, registryOf, type BridgeConfig, type BridgeStats, type Change, type FromBridge } from './protocol.js';
import { nowMs, type RawResponse } from './raw-ads.js';
import { RealWrites } from './real-writes.js';
import { IDLE_MS, KUBE_QPS, MAX_DELAY_MS, POLL_MS, QUIET_MS, empty, latency, setupLabel, sleep, type ScenarioResult, type Setup } from './setups.js';
import { sourceMissing, startSource, type RealSource } from './sources.js';

type Stamps = ReadonlyMap<number, number>;

export async function runSetup(setup: Setup, kube: Kube | undefined, runChurnSeconds: number, nextVariant: () => number): Promise<ScenarioResult[]> {
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
  const k = setup.kube ? kube : undefined;
  if (k !== undefined) await wipeKube(k);
  return new SetupRun(setup, k, Math.min(runChurnSeconds, setup.churnSeconds ?? runChurnSeconds), nextVariant, real).run();
}

/** Latencies of `changes` from their stamps to their arrival at one observer. */
function latencies(tr: Tracker, changes: readonly Change[], stamps: Stamps): { samples: number[]; missed: number } {
  const samples: number[] = [];
  let missed = 0;
  for (const c of changes) {
    const a = tr.arrived.get(c.id);
    const s = stamps.get(c.id);
    if (a === undefined || s === undefined) missed++;
    else samples.push(a - s);
  }
  return { samples, missed };
}

const sorted = (xs: readonly number[]): number[] => [...xs].sort((x, y) => x - y);

/** What runs while the bridge does: the bridge process and the observers. */
interface Live {
  readonly bridge: Bridge;
  readonly ads: AdsObserver;
  readonly watch: KubeWatch | undefined;
}

class SetupRun {
  private readonly cfg: BridgeConfig;
  private readonly isolated: Change[];
  private readonly burst: Change[];
  private readonly churn: Change[];
  private readonly ads = new Tracker();
  private readonly kw = new Tracker();
  private readonly writes: RealWrites | undefined;
  private readonly out: ScenarioResult[] = [];
  private lastId = 0;

  /** `kube` is set on the Kubernetes route only. */
  constructor(
    private readonly setup: Setup,
    private readonly kube: Kube | undefined,
    private readonly churnSeconds: number,
    private readonly nextVariant: () => number,
    private readonly real: RealSource | undefined,
  ) {
    this.cfg = {
      source: real?.bridgeSource ?? { kind: 'fake' },
      services: setup.services,
      endpoints: setup.endpoints,
      registries: setup.registries,
      mode: setup.mode,
      quietPeriodMs: QUIET_MS,
      maxDelayMs: MAX_DELAY_MS,
      pollMs: POLL_MS,
      kubeconfig: kube !== undefined ? kube.api.kubeconfigPath : undefined,
      kubeQps: KUBE_QPS,
    };
    // Plan every change and its expected version before the bridge runs (conversion costs CPU).
    this.isolated = this.plan(setup.isolated, 11);
    this.burst = this.plan(setup.burst, 101);
    this.churn = setup.churn ? this.plan(churnSeconds * 1000, 1009) : [];
    for (const c of [...this.isolated, ...this.burst, ...this.churn]) {
      const e = real !== undefined ? real.expected(c) : expected(this.cfg, c);
      this.ads.expect(c.id, e.name, e.version);
      this.kw.expect(c.id, e.name, e.version);
    }
    this.writes = real !== undefined ? new RealWrites(real) : undefined;
  }

  async run(): Promise<ScenarioResult[]> {
    // Kubernetes watch (the observer side of route (a)).
    const watch = this.kube !== undefined ? new KubeWatch(this.kube.client, this.kw) : undefined;
    // A real registry holds every service before the bridge starts (the bridge lists, then watches).
    const populated = this.real !== undefined ? await this.real.populate() : undefined;
    const bridge = new Bridge(this.cfg);
    let ads: AdsObserver | undefined;
    try {
      const ready = await bridge.wait('ready');
      ads = new AdsObserver(ready.port, this.ads);
      const live: Live = { bridge, ads, watch };
      await this.fullSync(live, ready, populated);
      await this.isolatedChanges(live);
      if (this.real !== undefined) await this.idle(live, this.real);
      await this.phase(live, 'burst of changes at once', this.burst, () => this.applyAll(live, this.burst), 120_000, (w) => `${this.burst.length} changes in one go; all visible at the ADS client after ${w.toFixed(0)} ms`);
      await this.churnPhase(live);
      // No-op resync: FakeRegistry-only: the adapters re-list only after a reconnect.
      if (this.real === undefined) await this.resync(live);
    } finally {
      ads?.close();
      watch?.stop();
      await bridge.stop();
    }
    return this.out;
  }

  private plan(n: number, seed: number): Change[] {
    return Array.from({ length: n }, (_, k) => {
      const svc = (seed + k * 7919) % this.setup.services;
      return { id: ++this.lastId, reg: registryOf(svc, this.setup.registries), svc, variant: this.nextVariant() };
    });
  }

  /** Whether change `c` reached every observer. */
  private arrived(c: Change): boolean {
    return this.ads.arrived.has(c.id) && (this.kube === undefined || this.kw.arrived.has(c.id));
  }

  private async fullSync(live: Live, ready: Extract<FromBridge, { type: 'ready' }>, populated: { readonly ms: number; readonly requests: number } | undefined): Promise<void> {
    const { setup } = this;
    const first = await live.ads.first;
    let kubeSyncMs: number | undefined;
    if (live.watch !== undefined) {
      const t = nowMs();
      while (live.watch.seen.size < setup.services && nowMs() - t < 600_000) await sleep(100);
      kubeSyncMs = nowMs() - t;
    }
    const s0 = await live.bridge.stats();
    const sourceNotes = this.real !== undefined && populated !== undefined ? this.sourceNotes(this.real, first, populated, s0) : '';
    this.out.push({
      ...empty(setup, 'full sync'),
      changes: setup.services,
      changedEntries: setup.services,
      pushes: s0.pushes,
      pushMiB: first.bytes / 2 ** 20,
      pushBuildP50: undefined,
      pushBuildP99: undefined,
      cpuSeconds: 0,
      kubeWrites: this.kube !== undefined ? s0.kubeWrites : undefined,
      rssMiB: s0.rss / 2 ** 20,
      maxRssMiB: s0.maxRss / 2 ** 20,
      wallMs: ready.fullSyncMs,
      notes:
        `registries -> snapshot ${ready.fullSyncMs.toFixed(0)} ms; connect -> first full ServiceEntry response at the ADS client ${(first.at - live.ads.connectAt).toFixed(0)} ms ` +
        `(${first.resources.size} resources, ${(first.bytes / 2 ** 20).toFixed(1)} MiB)` +
        (kubeSyncMs !== undefined ? `; all ${setup.services} ServiceEntries seen by the kube watch ${(kubeSyncMs / 1000).toFixed(1)} s after the ADS push` : '') +
        `; heap ${(s0.heapUsed / 2 ** 20).toFixed(0)} MiB, external ${(s0.external / 2 ** 20).toFixed(0)} MiB` +
        sourceNotes,
    });
  }

  private sourceNotes(real: RealSource, first: RawResponse, populated: { readonly ms: number; readonly requests: number }, s0: BridgeStats): string {
    // The predicted versions (the adapter's own parse + build, then convert) must match what the
    // bridge published, else every latency below would be "missed".
    let match = 0;
    for (let svc = 0; svc < this.setup.services; svc++) {
      const e = real.expected({ svc, variant: 0 });
      if (first.resources.get(e.name) === e.version) match++;
    }
    return (
      `; registry populated before the bridge started in ${(populated.ms / 1000).toFixed(1)} s (${populated.requests} write requests); ` +
      `predicted versions matched ${match}/${this.setup.services}` +
      (s0.registryProblems > 0 ? `; ${s0.registryProblems} problems reported by the adapter (first: ${s0.firstRegistryProblem ?? ''})` : '') +
      `. ${real.notes}`
    );
  }

  /**
   * Under churn the Kubernetes route is bounded by the API server's write rate: with one owed
   * write per object (latest wins), a change waits at most one cycle over the changed entries
   * at the measured rate, plus the debounce (issue 13: p99 within 2 x max delay of that).
   */
  private kubeRate(scenario: string, writes: number, wallMs: number, entries: number): string {
    if (this.kube === undefined || writes === 0 || !scenario.startsWith('churn')) return '';
    const rate = writes / (wallMs / 1000);
    const cycle = (Math.min(entries, this.setup.services) / rate) * 1000;
    return `; API writes ${rate.toFixed(0)}/s measured; a cycle over the ${Math.min(entries, this.setup.services).toLocaleString('en')} changed entries at that rate: ${cycle.toFixed(0)} ms (bound for p99: that + 2 x max delay = ${(cycle + 2 * MAX_DELAY_MS).toFixed(0)} ms)`;
  }

  /** One scenario: `drive` makes the changes (resolving with their stamps), then up to `settleMs` for the last arrivals. */
  private async phase(live: Live, name: string, changes: readonly Change[], drive: () => Promise<Stamps>, settleMs: number, notes: (wall: number) => string): Promise<void> {
    if (changes.length === 0) return;
    const useKube = this.kube !== undefined;
    live.ads.resetPushes();
    const before = await live.bridge.stats();
    const t = nowMs();
    const stamps = await drive();
    // Wait for the last arrivals (bounded).
    const deadline = nowMs() + settleMs;
    while (!changes.every((c) => this.arrived(c)) && nowMs() < deadline) await sleep(50);
    const wall = nowMs() - t;
    if (useKube) await sleep(500); // late writes still count
    const after = await live.bridge.stats();
    const a = latencies(this.ads, changes, stamps);
    const k = latencies(this.kw, changes, stamps);
    const entries = new Set(changes.map((c) => c.svc)).size;
    const build = sorted(after.pushBuildMs);
    const flush = sorted(after.flushMs);
    this.out.push({
      setup: setupLabel(this.setup),
      scenario: name,
      changes: changes.length,
      changedEntries: entries,
      ads: latency(a.samples, a.missed),
      kube: useKube ? latency(k.samples, k.missed) : undefined,
      kubeWrites: useKube ? after.kubeWrites - before.kubeWrites : undefined,
      pushes: after.pushes - before.pushes,
      pushMiB: live.ads.pushMiB(),
      pushBuildP50: build.length > 0 ? percentile(build, 50) : undefined,
      pushBuildP99: build.length > 0 ? percentile(build, 99) : undefined,
      flushP50: flush.length > 0 ? percentile(flush, 50) : undefined,
      registryRequests: undefined,
      cpuSeconds: after.cpuSeconds - before.cpuSeconds,
      rssMiB: after.rss / 2 ** 20,
      maxRssMiB: after.maxRss / 2 ** 20,
      wallMs: wall,
      notes: notes(wall) + this.kubeRate(name, after.kubeWrites - before.kubeWrites, wall, entries) + (this.writes?.notes() ?? ''),
      adsSamples: a.samples,
      kubeSamples: k.samples,
    });
  }

  /** Makes `cs` at once: written to the real registry from here, or applied inside the bridge. */
  private async applyAll(live: Live, cs: readonly Change[]): Promise<Stamps> {
    if (this.writes !== undefined) return this.writes.apply(cs);
    const p = live.bridge.wait('applied');
    live.bridge.send({ type: 'apply', changes: cs });
    return new Map((await p).stamps);
  }

  private async isolatedChanges(live: Live): Promise<void> {
    const poll = this.setup.mode === Mode.POLL;
    const gap = poll ? POLL_MS + 1000 : this.kube !== undefined ? 1500 : 600;
    const drive = async (): Promise<Stamps> => {
      const stamps = new Map<number, number>();
      for (const c of this.isolated) {
        for (const [k, v] of await this.applyAll(live, [c])) stamps.set(k, v);
        const t = nowMs();
        while (nowMs() - t < gap * 4 && !this.arrived(c)) await sleep(5);
        await sleep(poll ? 0 : gap / 3);
      }
      return stamps;
    };
    await this.phase(live, 'isolated changes (one at a time)', this.isolated, drive, gap * 2, () => `one change, wait for it, pause; quiet period ${QUIET_MS} ms`);
  }

  /** Idle: no changes; count what the bridge asks the registry (watches: nothing). */
  private async idle(live: Live, real: RealSource): Promise<void> {
    await sleep(1000);
    const b = await live.bridge.stats();
    const count = await real.countRequests();
    await sleep(IDLE_MS);
    const idle = await count();
    const a = await live.bridge.stats();
    this.out.push({
      ...empty(this.setup, `idle ${IDLE_MS / 1000} s`),
      registryRequests: idle.requests,
      pushes: a.pushes - b.pushes,
      cpuSeconds: a.cpuSeconds - b.cpuSeconds,
      rssMiB: a.rss / 2 ** 20,
      maxRssMiB: a.maxRss / 2 ** 20,
      wallMs: IDLE_MS,
      notes: `requests to the registry while idle: ${idle.requests}; ${idle.detail}`,
    });
  }

  private async churnPhase(live: Live): Promise<void> {
    const drive = async (): Promise<Stamps> => {
      if (this.writes !== undefined) return this.writes.churn(this.churn, 1000);
      const p = live.bridge.wait('applied', this.churnSeconds * 1000 + 900_000);
      live.bridge.send({ type: 'churn', changes: this.churn, perSecond: 1000 });
      return new Map((await p).stamps);
    };
    const settleMs = this.setup.mode === Mode.POLL ? 2 * POLL_MS : 60_000;
    await this.phase(live, `churn 1000/s for ${this.churnSeconds} s`, this.churn, drive, settleMs, () => `max delay ${MAX_DELAY_MS} ms`);
  }

  /** No-op resync: a full re-list with equal content (new objects), then a flush. */
  private async resync(live: Live): Promise<void> {
    const useKube = this.kube !== undefined;
    live.ads.resetPushes();
    const b = await live.bridge.stats();
    const rp = live.bridge.wait('resynced');
    live.bridge.send({ type: 'resync' });
    const rs = await rp;
    await sleep(useKube ? 3000 : 1000);
    const a = await live.bridge.stats();
    this.out.push({
      ...empty(this.setup, 'no-op resync'),
      kubeWrites: useKube ? a.kubeWrites - b.kubeWrites : undefined,
      pushes: a.pushes - b.pushes,
      pushMiB: live.ads.pushMiB(),
      cpuSeconds: a.cpuSeconds - b.cpuSeconds,
      rssMiB: a.rss / 2 ** 20,
      maxRssMiB: a.maxRss / 2 ** 20,
      wallMs: rs.ms,
      notes: `re-list of ${this.setup.services} equal services + flush took ${rs.ms.toFixed(0)} ms; new snapshot published: ${String(rs.published)}`,
    });
  }
}
