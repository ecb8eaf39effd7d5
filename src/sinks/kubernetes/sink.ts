import type { Logger, Metrics } from '../../observability/index.js';
import { OwnershipLabel, ResourceKind, type IstioResource, type Snapshot, type SnapshotStore } from '../../snapshot/index.js';
import { runPool } from '../../util/pool.js';
import { ClusterView, ISTIO_WATCHED, SERVICE_KINDS } from './cluster-view.js';
import type { KubeClient } from './kube-client.js';
import { LeaderElector, type LeaderElectionOptions } from './leader.js';
import { ObjectWriter } from './object-writer.js';
import { fieldManagerFor, ownershipOf } from './ownership.js';
import { PendingWrites } from './pending.js';
import { PlanReporter, type ProblemReporter } from './plan-report.js';
import { plan, type HeldDeletion, type HostClash, type Plan } from './plan.js';
import { writePhases, type Gated, type WritePhases } from './write-order.js';

/** Field manager of the default instance `meshbridge` (benchmarks write as it). */
export const FIELD_MANAGER = fieldManagerFor('meshbridge');

/** How long a write pass runs before a newer snapshot may pre-empt it (see the class contract). */
export const MIN_PASS_MS = 1000;

export interface KubernetesSinkOptions {
  readonly client: KubeClient;
  readonly store: SnapshotStore;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /**
   * This deployment's identity (config `instance`): stamped on every object as label
   * meshbridge.io/instance, in the field manager `meshbridge-<instance>`; only objects with it
   * are ours (ownership.ts).
   */
  readonly instance: string;
  /** Names of the registries in the config (legacy objects of these are adopted). */
  readonly registries: readonly string[];
  /** Namespaces to watch and write; empty = cluster-wide watch. */
  readonly namespaces: readonly string[];
  /**
   * With `namespaces` set: also list+watch cluster-wide the objects labelled managed-by=meshbridge
   * and with our instance label, so ours in namespaces no longer targeted are seen and pruned.
   * Needs cluster-wide list/watch; if refused (403) only the targeted namespaces are cleaned.
   */
  readonly cleanupClusterWide?: boolean | undefined;
  /** Some registry publishes Sidecars: watch, write and prune them too (else they are not watched). */
  readonly sidecars?: boolean | undefined;
  readonly maxDeletePercent: number;
  /**
   * Also watch and write Kubernetes Services and EndpointSlices (some registry has
   * `publish.kubernetesServices`, ADR 0020). Fixed at start: a reload that turns them on for the
   * first time needs a restart (without it the snapshot's Services are not written).
   */
  readonly kubernetesServices?: boolean | undefined;
  /** Parallel writes (each still passes the client's rate limit). */
  readonly concurrency: number;
  /** Pre-emption grace of a write pass (default MIN_PASS_MS; tests shorten it). */
  readonly minPassMs?: number | undefined;
  /** Undefined: no election, this replica always writes. */
  readonly leaderElection: Omit<LeaderElectionOptions, 'client' | 'logger' | 'onChange'> | undefined;
  /**
   * Where host clashes go as coded problems (MB_HOST_CONFLICT, under the registry of our
   * resource), e.g. the app's ProblemLog behind /debug/problems. Undefined: logged by the sink.
   */
  readonly problems?: ProblemReporter | undefined;
}

export interface KubernetesSinkDebug {
  readonly leader: boolean;
  readonly cachesSynced: boolean;
  readonly lastReconcile: string | undefined;
  readonly lastSnapshotVersion: string | undefined;
  readonly clashes: readonly HostClash[];
  readonly held: readonly HeldDeletion[];
  readonly writes: { readonly apply: number; readonly delete: number; readonly failed: number };
  /** Unix ms of the last write the API server accepted. */
  readonly lastWriteTime: number | undefined;
  /** Writes owed (pending.ts) and the age of the oldest, ms. */
  readonly pending: { readonly writes: number; readonly oldestAgeMs: number };
}

/**
 * Writes the snapshot's resources to the Kubernetes API server with server-side apply.
 *
 * Contract:
 * - Only the leader writes (when election is on); leadership is checked before every write, so
 *   a lost lease stops writing at once. Every replica keeps its caches warm.
 * - Writes only what changed (content-hash annotation versus the watch-fed cache); a restart
 *   with unchanged content writes nothing.
 * - Owns by instance (ownership.ts, ADR 0014): writes with label meshbridge.io/instance and field
 *   manager meshbridge-<instance>; adopts legacy objects (no instance label, a configured
 *   registry); never writes or deletes another instance's objects.
 * - Deletes only owned objects, only after a snapshot exists (every registry synced), never more
 *   than `maxDeletePercent` of a registry's objects of one kind in one pass (plan.ts), and never
 *   an object that changed since we saw it. Owned objects of removed registries are pruned; in
 *   namespaces no longer targeted only with `cleanupClusterWide` (they are not seen otherwise).
 * - Write order per pass: write-order.ts (no endpoint gap when a host switches form).
 * - Reconciles run one at a time; requests that arrive meanwhile coalesce into one more run.
 * - Under a backlog (changes faster than the API server takes writes): at most one write is owed
 *   per object, with the newest content (pending.ts). A pass that has run `minPassMs` stops
 *   starting writes once a newer snapshot exists and the rest is re-planned from that snapshot;
 *   a write started from an older plan sends the newest content of its object when that keeps
 *   the plan's checks valid (same hosts, form and labels), and is skipped when the object is no
 *   longer desired. Each phase runs oldest-owed first, so a change waits for the backlog ahead
 *   of it, not for the passes behind it.
 */
export class KubernetesSink {
  readonly name = 'kubernetes';
  private readonly options: KubernetesSinkOptions;
  private readonly view: ClusterView;
  private readonly elector: LeaderElector | undefined;
  private readonly written = new Map<string, number>();
  private readonly pending = new PendingWrites();
  private readonly writer: ObjectWriter;
  private requested = false;
  private running = false;
  private signal: AbortSignal | undefined;
  private debug: { clashes: readonly HostClash[]; held: readonly HeldDeletion[]; lastReconcile?: string; lastVersion?: string } = {
    clashes: [],
    held: [],
  };
  private readonly reporter: PlanReporter;
  /** The configured registries' names (options.registries, then what a reload set). */
  private registries: readonly string[];
  /**
   * Set after a pass that left nothing owed, held, clashing or deferred, with no cluster change
   * during it: the kind versions it planned and the view's epoch. The next pass then plans only
   * what the snapshot's deltas added or replaced since (changesSinceClean).
   */
  private clean: { readonly versions: ReadonlyMap<string, string>; readonly epoch: number } | undefined;

  constructor(options: KubernetesSinkOptions) {
    this.options = options;
    this.registries = options.registries;
    this.reporter = new PlanReporter(options.logger, options.metrics, options.maxDeletePercent, options.problems);
    this.view = new ClusterView({
      client: options.client,
      logger: options.logger,
      instance: options.instance,
      namespaces: options.namespaces,
      cleanupClusterWide: options.cleanupClusterWide,
      kinds: [...ISTIO_WATCHED, ...(options.sidecars === true ? [ResourceKind.Sidecar] : []), ...(options.kubernetesServices === true ? SERVICE_KINDS : [])],
      onChange: () => this.request(),
    });
    this.elector =
      options.leaderElection === undefined
        ? undefined
        : new LeaderElector({
            ...options.leaderElection,
            client: options.client,
            logger: options.logger,
            onChange: (leader) => {
              this.clean = undefined;
              options.metrics.kubeLeader.set(leader ? 1 : 0);
              if (leader) this.request();
            },
          });
    this.writer = new ObjectWriter({
      client: options.client,
      store: options.store,
      logger: options.logger,
      metrics: options.metrics,
      instance: options.instance,
      view: this.view,
      pending: this.pending,
      written: this.written,
      isLeader: () => this.isLeader(),
      signal: () => this.signal,
    });
  }

  async start(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    await this.options.client.init();
    this.view.start(signal);
    if (this.elector !== undefined) {
      this.options.metrics.kubeLeaderElection.set(1);
      this.elector.start(signal);
    } else this.options.metrics.kubeLeader.set(1);
    const unsubscribe = this.options.store.subscribe(() => this.request());
    signal.addEventListener('abort', unsubscribe, { once: true });
    this.request();
  }

  /**
   * A config reload changed the registries (their namespaces did not change: that needs a
   * restart). The next pass adopts and prunes by the new names: the objects of a registry no
   * longer configured are weighed against all of the instance's objects of their kind.
   */
  setRegistries(names: readonly string[]): void {
    this.registries = [...names];
    this.clean = undefined;
    this.request();
  }

  isLeader(): boolean {
    return this.elector === undefined || this.elector.isLeader();
  }

  cachesSynced(): boolean {
    return this.view.synced();
  }

  debugState(): KubernetesSinkDebug {
    return {
      leader: this.isLeader(),
      cachesSynced: this.cachesSynced(),
      lastReconcile: this.debug.lastReconcile,
      lastSnapshotVersion: this.debug.lastVersion,
      clashes: this.debug.clashes,
      held: this.debug.held,
      writes: { ...this.writer.counts },
      lastWriteTime: this.writer.lastWriteTime,
      pending: { writes: this.pending.size, oldestAgeMs: this.pending.oldestAgeMs(Date.now()) },
    };
  }

  /** Resolves when no reconcile is running or requested (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running || this.requested) await new Promise((r) => setTimeout(r, 10));
  }

  private request(): void {
    this.requested = true;
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.requested) {
        this.requested = false;
        try {
          await this.reconcile();
        } catch (e) {
          this.options.logger.error({ err: e instanceof Error ? e.message : String(e) }, 'kubernetes reconcile failed; retrying');
          setTimeout(() => this.request(), 2000).unref();
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async reconcile(): Promise<void> {
    const snap = this.options.store.current();
    if (snap === undefined || !this.cachesSynced() || !this.isLeader() || this.signal?.aborted === true) return;
    const epoch = this.view.epoch();
    // Only kinds the view watches: what it cannot see it could neither compare nor prune.
    const watched = new Set(this.view.kinds);
    const changes = this.changesSinceClean(snap, epoch, watched);
    this.clean = undefined;
    this.options.metrics.kubeReconciles.inc({ plan: changes === undefined ? 'full' : 'changes' });
    const desired: IstioResource[] = changes ?? [];
    if (changes === undefined) for (const ks of snap.kinds.values()) if (watched.has(ks.kind)) for (const r of ks.resources.values()) desired.push(r);
    const observed = this.view.objects();
    const p = plan({
      desired,
      observed,
      instance: this.options.instance,
      registries: new Set(this.registries),
      written: this.written,
      maxDeletePercent: this.options.maxDeletePercent,
      changesOnly: changes !== undefined,
    });
    this.reporter.report(p.clashes, p.held, (key) => registryOf(desired, key));
    const started = Date.now();
    const writesBefore = this.writer.counts.apply + this.writer.counts.delete;
    this.pending.plan([...p.apply.map((r) => r.key), ...p.remove.map((o) => o.key)], started);
    this.showPending(started);
    const minPassMs = this.options.minPassMs ?? MIN_PASS_MS;
    let preempted = false;
    const stop = (): boolean => {
      if (!preempted && this.options.store.current() !== snap && Date.now() - started >= minPassMs) preempted = true;
      return preempted;
    };
    const phases = this.owedPhases(writePhases(p, desired, observed));
    const id = { instance: this.options.instance, registries: new Set(this.registries) };
    const legacy = (key: string): boolean => {
      const o = observed.get(key);
      return o !== undefined && ownershipOf(o, id) === 'legacy';
    };
    // Ordering contract: write-order.ts (WorkloadEntries in before ServiceEntries switch to
    // them, ServiceEntries list endpoints again before their WorkloadEntries go).
    const ok = new Set<string>();
    const tried = new Set(p.apply.map((r) => r.key));
    let deferred = 0;
    let retry = false;
    const gated = <T>(g: Gated<T>): boolean => {
      const missing = g.after.filter((k) => !ok.has(k));
      if (missing.length === 0) return true;
      deferred++;
      // Waiting on a failed write: retry soon. On a clash: the watch brings the change that frees it.
      if (missing.some((k) => tried.has(k))) retry = true;
      return false;
    };
    // A pre-empted pass starts no further phase (their gates would wait on writes never tried).
    const steps: (() => Promise<void>)[] = [
      () =>
        runPool(phases.applyWorkloadEntries, this.options.concurrency, async (r) => {
          if (await this.writer.apply(r, legacy(r.key), snap)) ok.add(r.key);
        }, stop),
      () =>
        runPool(phases.applyServiceEntries.filter(gated), this.options.concurrency, async (g) => {
          if (await this.writer.apply(g.item, legacy(g.item.key), snap)) ok.add(g.item.key);
        }, stop),
      () => runPool(phases.removeServiceEntries, this.options.concurrency, (o) => this.writer.remove(o), stop),
      () => runPool(phases.removeWorkloadEntries.filter(gated), this.options.concurrency, (g) => this.writer.remove(g.item), stop),
      ...[phases.applyServices, phases.applyEndpointSlices].map((list) => () =>
        runPool(list, this.options.concurrency, async (r) => {
          if (await this.writer.apply(r, legacy(r.key), snap)) ok.add(r.key);
        }, stop),
      ),
      ...[phases.removeServices, phases.removeEndpointSlices].map((list) => () => runPool(list, this.options.concurrency, (o) => this.writer.remove(o), stop)),
    ];
    for (const step of steps) if (!stop()) await step();
    this.showPending(Date.now());
    if (preempted) {
      // The newer snapshot's publish requested the next pass already; it re-plans what is left.
      this.options.metrics.kubePassesPreempted.inc();
      this.options.logger.debug({ snapshot: snap.version, owed: this.pending.size }, 'kubernetes write pass pre-empted by a newer snapshot');
    }
    this.debug = { ...this.debug, clashes: p.clashes, held: p.held, lastReconcile: new Date().toISOString(), lastVersion: snap.version };
    if (p.apply.length > 0 || p.remove.length > 0) {
      this.options.logger.info({ applied: p.apply.length, deleted: p.remove.length, deferred, unchanged: p.unchanged, snapshot: snap.version }, 'kubernetes sink reconciled');
    }
    // Writes kept back because what they wait for failed: try again (the failures are retried too).
    if (retry) setTimeout(() => this.request(), 2000).unref();
    // Deletions the guard held are weighed against what we own: this pass's writes (new objects
    // of a renamed registry, say) change that, and their echoes start no pass. Plan once more.
    if (p.held.length > 0 && this.writer.counts.apply + this.writer.counts.delete > writesBefore) this.request();
    if (leftNothing(p, { preempted, retry, deferred }) && this.pending.size === 0 && this.view.epoch() === epoch) {
      this.clean = { versions: new Map([...snap.kinds].map(([k, ks]) => [k, ks.version])), epoch };
    }
  }

  /**
   * What the snapshot added or replaced since the last clean pass (watched kinds only), when
   * that can be known in O(changes): the cluster view saw no change a plan reads since (epoch),
   * and every kind is either at the clean pass's version or one delta from it with nothing
   * removed. Undefined: plan everything (removals always take a full pass: the deletion guard
   * weighs them against every owned object).
   */
  private changesSinceClean(snap: Snapshot, epoch: number, watched: ReadonlySet<string>): IstioResource[] | undefined {
    const c = this.clean;
    if (c === undefined || c.epoch !== epoch || c.versions.size !== snap.kinds.size) return undefined;
    const out: IstioResource[] = [];
    for (const [kind, ks] of snap.kinds) {
      const was = c.versions.get(kind);
      if (was === undefined) return undefined;
      if (ks.version === was) continue;
      const d = ks.delta;
      if (d === undefined || d.fromVersion !== was || d.removed.length > 0) return undefined;
      if (watched.has(kind)) out.push(...d.upserted);
    }
    return out;
  }

  /** Each phase in owed order: oldest-owed first (pending.ts). */
  private owedPhases(raw: WritePhases): WritePhases {
    const owed = this.pending;
    return {
      applyWorkloadEntries: owed.order(raw.applyWorkloadEntries, (r) => r.key),
      applyServiceEntries: owed.order(raw.applyServiceEntries, (g) => g.item.key),
      removeServiceEntries: owed.order(raw.removeServiceEntries, (o) => o.key),
      removeWorkloadEntries: owed.order(raw.removeWorkloadEntries, (g) => g.item.key),
      applyServices: owed.order(raw.applyServices, (r) => r.key),
      applyEndpointSlices: owed.order(raw.applyEndpointSlices, (r) => r.key),
      removeServices: owed.order(raw.removeServices, (o) => o.key),
      removeEndpointSlices: owed.order(raw.removeEndpointSlices, (o) => o.key),
    };
  }

  private showPending(now: number): void {
    this.options.metrics.kubePendingWrites.set(this.pending.size);
    this.options.metrics.kubePendingOldest.set(this.pending.oldestAgeMs(now) / 1000);
  }
}

/** A pass that finished everything it planned: nothing clashing, held, skipped, deferred or cut short. */
function leftNothing(p: Plan, pass: { readonly preempted: boolean; readonly retry: boolean; readonly deferred: number }): boolean {
  return !pass.preempted && !pass.retry && pass.deferred === 0 && p.clashes.length === 0 && p.held.length === 0 && p.skipped.length === 0;
}

/** The registry label of the desired resource `key` ('' when none). */
function registryOf(desired: readonly IstioResource[], key: string): string {
  return desired.find((r) => r.key === key)?.labels[OwnershipLabel.REGISTRY] ?? '';
}
