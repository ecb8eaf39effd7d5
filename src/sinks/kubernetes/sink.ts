import { ErrorCode, MeshbridgeError } from '../../errors/index.js';
import { ISTIO_API_VERSION, type IstioResource, type Snapshot, type SnapshotStore } from '../../snapshot/index.js';
import type { Logger, Metrics } from '../../observability/index.js';
import { apiError, type KubeClient } from './kube-client.js';
import { ObjectCache } from './object-cache.js';
import { LeaderElector, type LeaderElectionOptions } from './leader.js';
import { plan, type HeldDeletion, type HostClash } from './plan.js';
import { observe, type ObservedObject } from './observed.js';
import { LEGACY_FIELD_MANAGER, fieldManagerFor, ownershipOf } from './ownership.js';
import { writePhases, type Gated } from './write-order.js';
import { PendingWrites, newestContent } from './pending.js';
import { runPool } from '../../util/pool.js';
import { PlanReporter } from './plan-report.js';
import { OwnershipLabel } from '../../snapshot/index.js';

/** Field manager of the default instance `meshbridge` (benchmarks write as it). */
export const FIELD_MANAGER = fieldManagerFor('meshbridge');

/** How long a write pass runs before a newer snapshot may pre-empt it (see the class contract). */
export const MIN_PASS_MS = 1000;

const PLURAL: Record<ObservedObject['kind'], string> = {
  ServiceEntry: 'serviceentries',
  WorkloadEntry: 'workloadentries',
};

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
  readonly maxDeletePercent: number;
  /** Parallel writes (each still passes the client's rate limit). */
  readonly concurrency: number;
  /** Pre-emption grace of a write pass (default MIN_PASS_MS; tests shorten it). */
  readonly minPassMs?: number | undefined;
  /** Undefined: no election, this replica always writes. */
  readonly leaderElection: Omit<LeaderElectionOptions, 'client' | 'logger' | 'onChange'> | undefined;
}

export interface KubernetesSinkDebug {
  readonly leader: boolean;
  readonly cachesSynced: boolean;
  readonly lastReconcile: string | undefined;
  readonly lastSnapshotVersion: string | undefined;
  readonly clashes: readonly HostClash[];
  readonly held: readonly HeldDeletion[];
  readonly writes: { readonly apply: number; readonly delete: number; readonly failed: number };
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
  private readonly caches: Record<ObservedObject['kind'], ObjectCache>;
  /** Cluster-wide caches of this instance's objects (cleanupClusterWide), else undefined. */
  private readonly wide: Record<ObservedObject['kind'], ObjectCache> | undefined;
  private readonly targeted: ReadonlySet<string>;
  private readonly elector: LeaderElector | undefined;
  private readonly written = new Map<string, number>();
  private readonly pending = new PendingWrites();
  private requested = false;
  private running = false;
  private signal: AbortSignal | undefined;
  private debug: { clashes: readonly HostClash[]; held: readonly HeldDeletion[]; lastReconcile?: string; lastVersion?: string } = {
    clashes: [],
    held: [],
  };
  private counts = { apply: 0, delete: 0, failed: 0 };
  private readonly reporter: PlanReporter;

  constructor(options: KubernetesSinkOptions) {
    this.options = options;
    this.reporter = new PlanReporter(options.logger, options.metrics, options.maxDeletePercent);
    const mk = (kind: ObservedObject['kind']): ObjectCache =>
      new ObjectCache({
        client: options.client,
        kind,
        plural: PLURAL[kind],
        namespaces: options.namespaces,
        logger: options.logger,
        onChange: () => this.request(),
      });
    this.caches = { ServiceEntry: mk('ServiceEntry'), WorkloadEntry: mk('WorkloadEntry') };
    this.targeted = new Set(options.namespaces);
    const mkWide = (kind: ObservedObject['kind']): ObjectCache =>
      new ObjectCache({
        client: options.client,
        kind,
        plural: PLURAL[kind],
        namespaces: [],
        // Only our instance's: a legacy object outside the targeted namespaces may be another
        // pre-instance deployment's (same registry names), so it is never adopted from here.
        labelSelector: `${OwnershipLabel.MANAGED_BY}=${OwnershipLabel.MANAGED_BY_VALUE},${OwnershipLabel.INSTANCE}=${options.instance}`,
        optional: true,
        logger: options.logger,
        onChange: () => this.request(),
      });
    this.wide = options.cleanupClusterWide === true && options.namespaces.length > 0 ? { ServiceEntry: mkWide('ServiceEntry'), WorkloadEntry: mkWide('WorkloadEntry') } : undefined;
    this.elector =
      options.leaderElection === undefined
        ? undefined
        : new LeaderElector({
            ...options.leaderElection,
            client: options.client,
            logger: options.logger,
            onChange: (leader) => {
              options.metrics.kubeLeader.set(leader ? 1 : 0);
              if (leader) this.request();
            },
          });
  }

  async start(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    await this.options.client.init();
    this.caches.ServiceEntry.start(signal);
    this.caches.WorkloadEntry.start(signal);
    this.wide?.ServiceEntry.start(signal);
    this.wide?.WorkloadEntry.start(signal);
    if (this.elector !== undefined) this.elector.start(signal);
    else this.options.metrics.kubeLeader.set(1);
    const unsubscribe = this.options.store.subscribe(() => this.request());
    signal.addEventListener('abort', unsubscribe, { once: true });
    this.request();
  }

  isLeader(): boolean {
    return this.elector === undefined || this.elector.isLeader();
  }

  cachesSynced(): boolean {
    const wide = this.wide === undefined || (this.wide.ServiceEntry.hasSynced() && this.wide.WorkloadEntry.hasSynced());
    return wide && this.caches.ServiceEntry.hasSynced() && this.caches.WorkloadEntry.hasSynced();
  }

  /** Every object the reconcile considers: the targeted namespaces, plus ours elsewhere. */
  private observed(): Map<string, ObservedObject> {
    const out = new Map<string, ObservedObject>([...this.caches.ServiceEntry.objects(), ...this.caches.WorkloadEntry.objects()]);
    if (this.wide !== undefined) {
      for (const c of [this.wide.ServiceEntry, this.wide.WorkloadEntry]) {
        for (const [k, o] of c.objects()) if (!this.targeted.has(o.namespace)) out.set(k, o);
      }
    }
    return out;
  }

  debugState(): KubernetesSinkDebug {
    return {
      leader: this.isLeader(),
      cachesSynced: this.cachesSynced(),
      lastReconcile: this.debug.lastReconcile,
      lastSnapshotVersion: this.debug.lastVersion,
      clashes: this.debug.clashes,
      held: this.debug.held,
      writes: { ...this.counts },
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
    const desired: IstioResource[] = [];
    for (const ks of snap.kinds.values()) for (const r of ks.resources.values()) desired.push(r);
    const observed = this.observed();
    const p = plan({
      desired,
      observed,
      instance: this.options.instance,
      registries: new Set(this.options.registries),
      written: this.written,
      maxDeletePercent: this.options.maxDeletePercent,
    });
    this.reporter.report(p.clashes, p.held);
    const started = Date.now();
    this.pending.plan([...p.apply.map((r) => r.key), ...p.remove.map((o) => o.key)], started);
    this.showPending(started);
    const minPassMs = this.options.minPassMs ?? MIN_PASS_MS;
    let preempted = false;
    const stop = (): boolean => {
      if (!preempted && this.options.store.current() !== snap && Date.now() - started >= minPassMs) preempted = true;
      return preempted;
    };
    const raw = writePhases(p, desired, observed);
    const owed = this.pending;
    const phases = {
      applyWorkloadEntries: owed.order(raw.applyWorkloadEntries, (r) => r.key),
      applyServiceEntries: owed.order(raw.applyServiceEntries, (g) => g.item.key),
      removeServiceEntries: owed.order(raw.removeServiceEntries, (o) => o.key),
      removeWorkloadEntries: owed.order(raw.removeWorkloadEntries, (g) => g.item.key),
    };
    const id = { instance: this.options.instance, registries: new Set(this.options.registries) };
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
          if (await this.apply(r, legacy(r.key), snap)) ok.add(r.key);
        }, stop),
      () =>
        runPool(phases.applyServiceEntries.filter(gated), this.options.concurrency, async (g) => {
          if (await this.apply(g.item, legacy(g.item.key), snap)) ok.add(g.item.key);
        }, stop),
      () => runPool(phases.removeServiceEntries, this.options.concurrency, (o) => this.remove(o), stop),
      () => runPool(phases.removeWorkloadEntries.filter(gated), this.options.concurrency, (g) => this.remove(g.item), stop),
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
  }

  private showPending(now: number): void {
    this.options.metrics.kubePendingWrites.set(this.pending.size);
    this.options.metrics.kubePendingOldest.set(this.pending.oldestAgeMs(now) / 1000);
  }

  /** Server-side apply of `planned` (latest wins: newestContent) with our instance label; true when it succeeded. */
  private async apply(planned: IstioResource, adopting: boolean, snap: Snapshot): Promise<boolean> {
    if (!this.isLeader()) return false;
    const r = newestContent(planned, snap, this.options.store.current());
    if (r === undefined) return false;
    const body = {
      apiVersion: ISTIO_API_VERSION,
      kind: r.kind,
      metadata: { name: r.name, namespace: r.namespace, labels: { ...r.labels, [OwnershipLabel.INSTANCE]: this.options.instance }, annotations: r.annotations },
      spec: r.spec,
    };
    try {
      const res = await this.options.client.request({
        method: 'PATCH',
        path: `/apis/networking.istio.io/v1/namespaces/${r.namespace}/${PLURAL[r.kind]}/${r.name}`,
        query: { fieldManager: fieldManagerFor(this.options.instance), force: true },
        body,
        contentType: 'application/apply-patch+yaml',
        retryConflict: true,
        fence: () => this.isLeader(),
        ...(this.signal !== undefined ? { signal: this.signal } : {}),
      });
      const obs = observe(r.kind, res);
      this.pending.done(r.key);
      if (obs !== undefined) {
        this.written.set(r.key, obs.generation);
        this.caches[r.kind].record(obs);
      }
      this.counts.apply++;
      this.options.metrics.kubeWrites.inc({ op: 'apply', kind: r.kind, result: 'ok' });
      if (adopting) await this.releaseLegacyManager(r);
      return true;
    } catch (e) {
      if (this.fenced(e)) return false;
      this.counts.failed++;
      this.options.metrics.kubeWrites.inc({ op: 'apply', kind: r.kind, result: 'error' });
      this.options.logger.error({ resource: r.key, err: e instanceof Error ? e.message : String(e) }, 'server-side apply failed');
      return false;
    }
  }

  /**
   * After adopting a legacy object: applies an empty configuration as the pre-instance field
   * manager, which gives up every field it co-owns with ours (the values stay, ours alone), so
   * that a field we later drop is really removed. Must run only after our own apply succeeded.
   * A failure is logged and left: the object is ours either way.
   */
  private async releaseLegacyManager(r: IstioResource): Promise<void> {
    try {
      await this.options.client.request({
        method: 'PATCH',
        path: `/apis/networking.istio.io/v1/namespaces/${r.namespace}/${PLURAL[r.kind]}/${r.name}`,
        query: { fieldManager: LEGACY_FIELD_MANAGER },
        body: { apiVersion: ISTIO_API_VERSION, kind: r.kind, metadata: { name: r.name, namespace: r.namespace } },
        contentType: 'application/apply-patch+yaml',
        fence: () => this.isLeader(),
        ...(this.signal !== undefined ? { signal: this.signal } : {}),
      });
    } catch (e) {
      if (this.fenced(e)) return;
      this.options.logger.warn({ resource: r.key, err: e instanceof Error ? e.message : String(e) }, 'adopted a legacy object but could not release its old field manager');
    }
  }

  private async remove(o: ObservedObject): Promise<void> {
    if (!this.isLeader()) return;
    try {
      await this.options.client.request({
        method: 'DELETE',
        path: `/apis/networking.istio.io/v1/namespaces/${o.namespace}/${PLURAL[o.kind]}/${o.name}`,
        body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion: o.resourceVersion }, propagationPolicy: 'Background' },
        fence: () => this.isLeader(),
        ...(this.signal !== undefined ? { signal: this.signal } : {}),
      });
      this.counts.delete++;
      this.pending.done(o.key);
      this.written.delete(o.key);
      this.caches[o.kind].forget(o.key);
      this.wide?.[o.kind].forget(o.key);
      this.options.metrics.kubeWrites.inc({ op: 'delete', kind: o.kind, result: 'ok' });
    } catch (e) {
      if (this.fenced(e)) return;
      const status = apiError(e)?.status;
      if (status === 404) {
        this.pending.done(o.key);
        this.caches[o.kind].forget(o.key);
        this.wide?.[o.kind].forget(o.key);
        return;
      }
      // 409: changed since we saw it; the watch brings the new state and the next pass re-plans.
      this.counts.failed++;
      this.options.metrics.kubeWrites.inc({ op: 'delete', kind: o.kind, result: 'error' });
      this.options.logger.warn({ resource: o.key, status, err: e instanceof Error ? e.message : String(e) }, 'delete failed');
    }
  }

  /** A write the fence stopped (leadership lost while it waited): counted, not a failure. */
  private fenced(e: unknown): boolean {
    if (!(e instanceof MeshbridgeError) || e.code !== ErrorCode.KUBE_FENCED) return false;
    this.options.metrics.kubeWritesFenced.inc();
    this.options.logger.debug({ code: e.code }, e.message); // 'lost leadership' is logged once by the elector
    return true;
  }
}
