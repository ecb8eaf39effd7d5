/**
 * The Pipeline: registries -> debounce -> protect -> merge by host -> convert -> snapshot. This
 * module holds its lifecycle (start, registry events, the first publish and its prewarm, the
 * debounced flush, timers, /debug and readiness); the passes, the converted hosts, the delta
 * bookkeeping, the registries' start-up views and the reporting live in the modules it composes
 * (flush-passes.ts, converted-hosts.ts, published-ledger.ts, registry-views.ts,
 * pipeline-report.ts). It re-exports the option types and defaults (pipeline-options.ts).
 */
import { serviceKey, type Service } from '../model/index.js';
import { ErrorCode, describeError } from '../errors/index.js';
import type { Registry, RegistryEvent } from '../registry/types.js';
import { Debouncer } from './debouncer.js';
import { ProtectGuard, type GuardState } from './protect.js';
import type { ConflictPolicy, HostCollision, HostConflict } from './aggregate.js';
import type { ListenerConflict } from './listener-conflicts.js';
import { ConvertedHosts } from './converted-hosts.js';
import { FlushPasses } from './flush-passes.js';
import { PipelineReport, type AddressStats, type Held } from './pipeline-report.js';
import { RegistryViews } from './registry-views.js';
import { RegistrySet, RetiredRegistry } from './registry-set.js';
import { DEFAULT_PROTECT, DEFAULT_VIP_CIDR, protectSettingsOf, type PipelineOptions, type PipelineReconfig } from './pipeline-options.js';
import type { ConversionOptions } from '../convert/options.js';
import type { ProtectSettings } from './protect.js';
import { hashOf } from '../util/hash.js';

export { DEFAULT_PROTECT, DEFAULT_VIP_CIDR } from './pipeline-options.js';
export type { ConvertOutput, PipelineOptions, PipelineReconfig } from './pipeline-options.js';

/**
 * A first publish over at least this many services is prepared in slices (conversion and the
 * address plan, FlushPasses.prewarm), yielding to the event loop between slices, so a large
 * initial sync never blocks registry sessions' heartbeats for the whole of it (issue 10 case 11).
 */
const PREWARM_MIN_SERVICES = 2000;

/** What /debug shows of the pipeline. */
export interface PipelineDebugState {
  conflicts: readonly HostConflict[];
  collisions: readonly HostCollision[];
  held: Record<string, Held>;
  /** The deletion guard per registry: baseline, window peak, hold. */
  guard: readonly GuardState[];
  /** Flushes that merged every host, and flushes that redid only the changed hosts. */
  flushes: { readonly full: number; readonly incremental: number };
  /** Places on a sidecar's outbound side several published ServiceEntries want. */
  listeners: readonly ListenerConflict[];
  addresses: AddressStats;
  shared: ReturnType<ConvertedHosts['sharedGroups']>;
}

/**
 * Registries -> debounce -> protect -> merge by host -> convert -> snapshot.
 *
 * Contract:
 * - Nothing is published before every registry has synced once; then the first snapshot is
 *   published at once, and later changes are debounced (quiet period, max delay).
 * - Conversion results are cached per host and reused while the host's input is made of the
 *   same service objects (adapters replace a service object on every change).
 * - A flush redoes only the hosts that the services named in upsert/delete events since the last
 *   flush map to (now or before): protect guard, merge, conflicts and conversion of those hosts,
 *   and hands the store only those hosts' resources (and those whose listener addresses moved)
 *   as a delta against what it last handed over (SnapshotStore.publishChanges). It falls back to
 *   a full pass (every host) on the first flush, while deletions are held back, when deletions
 *   would be held, and when a registry's services do not add up to the announced changes. Both
 *   passes publish the same snapshot (tested against each other on random histories).
 * - A problem with one service (invalid host, bad entry) is reported and skips only that
 *   service; a host that fails to convert keeps nothing of its old resources only if the
 *   registry removed it, else its previous resources stay published.
 * - reconfigure() applies a reload without a gap (ADR 0017): a registry added or restarted is
 *   published from its predecessor's last view (nothing, for a new one) until it syncs, and then
 *   judged by its guard against that; a registry removed leaves through its guard (it becomes a
 *   RetiredRegistry, empty, until the guard lets its services go). Unchanged resources keep
 *   their versions, so sinks see only what really changed.
 */
export class Pipeline {
  private readonly o: PipelineOptions;
  private readonly guard: ProtectGuard;
  private readonly debouncer: Debouncer;
  private readonly report: PipelineReport;
  private readonly hosts: ConvertedHosts;
  private readonly views: RegistryViews;
  private readonly passes: FlushPasses;
  private readonly set: RegistrySet;
  /** Per registry (the configured and the retired ones): changed in place by reconfigure(). */
  private readonly conversion: Map<string, ConversionOptions>;
  private readonly protect = new Map<string, ProtectSettings>();
  private conflictPolicy: ConflictPolicy;
  private readonly now: () => number;
  private releaseTimer: NodeJS.Timeout | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** True while the first publish is being prepared in slices; flushes wait for it. */
  private prewarming = false;
  private allSynced = false;
  /** Keys named by upsert/delete events since the last flush, by registry name. */
  private dirty = new Map<string, Set<string>>();
  private readonly flushCounts = { full: 0, incremental: 0 };

  constructor(options: PipelineOptions) {
    this.o = options;
    this.now = options.now ?? Date.now;
    this.report = new PipelineReport(options.logger, options.metrics);
    this.set = new RegistrySet(options.registries, (r, e) => this.onEvent(r, e));
    this.conversion = new Map(options.conversion);
    for (const name of new Set([...options.registries.map((r) => r.name), ...options.protectPercent.keys(), ...(options.protect?.keys() ?? [])])) {
      this.protect.set(name, protectSettingsOf(options, name));
    }
    this.conflictPolicy = options.conflictPolicy;
    this.hosts = new ConvertedHosts({
      vipCidr: options.vipCidr ?? DEFAULT_VIP_CIDR,
      conversion: this.conversion,
      convert: options.convert,
      report: this.report,
    });
    this.views = new RegistryViews(this.set.list);
    this.guard = new ProtectGuard((r) => this.protect.get(r) ?? DEFAULT_PROTECT);
    this.passes = new FlushPasses({
      registries: this.set.list,
      views: this.views,
      conversion: this.conversion,
      hostFor: options.hostFor,
      conflictPolicy: options.conflictPolicy,
      guard: this.guard,
      hosts: this.hosts,
      report: this.report,
      incremental: options.incremental !== false,
      now: this.now,
    });
    this.debouncer = new Debouncer({
      quietPeriodMs: options.debounce.quietPeriodMs,
      maxDelayMs: options.debounce.maxDelayMs,
      flush: () => this.flush(),
      leading: options.debounce.leadingEdge ?? false,
      onLeading: () => options.metrics.debounceLeading.inc(),
      onMerged: () => options.metrics.debounceMerged.inc(),
      onError: (e) => options.logger.error({ err: e }, 'snapshot build failed'),
    });
  }

  /**
   * Before start(): a registry's last published view from before a restart (the checkpoint).
   * It becomes the guard's baseline (the registry's first real view is judged against it) and is
   * what the registry publishes until it syncs, so a restarted Meshbridge publishes at once.
   */
  seedFromCheckpoint(registry: string, services: ReadonlyMap<string, Service>): void {
    if (!this.views.seed(registry, services)) return;
    this.guard.seed(registry, services, this.now());
  }

  /** Registers handlers, then starts every registry. Resolves once all are started. */
  async start(signal: AbortSignal): Promise<void> {
    const limit = this.o.syncTimeoutMs ?? 0;
    if (limit > 0) {
      this.syncTimer = setTimeout(() => this.syncDeadline(), limit);
      this.syncTimer.unref();
    }
    signal.addEventListener(
      'abort',
      () => {
        this.stopped = true;
        this.debouncer.stop();
        clearTimeout(this.releaseTimer);
        clearTimeout(this.syncTimer);
      },
      { once: true },
    );
    await this.set.start(signal);
    this.checkSynced();
  }

  /** The configured registries, in config order (what a reload last set). */
  registries(): readonly Registry[] {
    return this.set.configured();
  }

  /** Registries a reload removed whose guard still holds their services (names). */
  retired(): string[] {
    return this.set.retired().map((r) => r.name);
  }

  /**
   * Applies a reload (see the class contract): stops the registries no longer in `next` (by
   * object), starts the new ones, and schedules a full pass. Resolves once the new registries
   * are started. Only after start().
   */
  async reconfigure(next: PipelineReconfig): Promise<void> {
    const before = new Map(this.set.list.map((r) => [r.name, r]));
    const names = new Set(next.registries.map((r) => r.name));
    const retired = [...before.values()].filter((r) => !names.has(r.name)).map((r) => (r instanceof RetiredRegistry ? r : new RetiredRegistry(r)));
    for (const r of next.registries) {
      const old = before.get(r.name);
      if (old === r) continue;
      const standIn = this.standIn(old);
      if (standIn !== undefined) this.views.substitute(r.name, standIn);
    }
    let conversionChanged = false;
    for (const [name, opts] of next.conversion) {
      const prev = this.conversion.get(name);
      if (prev !== undefined && hashOf(prev) !== hashOf(opts)) conversionChanged = true;
      this.conversion.set(name, opts);
    }
    for (const r of next.registries) this.protect.set(r.name, protectSettingsOf(next, r.name));
    // The retired keep their settings until they are gone (their services still convert).
    const known = new Set([...names, ...retired.map((r) => r.name)]);
    for (const m of [this.conversion, this.protect]) for (const name of [...m.keys()]) if (!known.has(name)) m.delete(name);
    this.conflictPolicy = next.conflictPolicy;
    this.passes.reconfigure(next.conflictPolicy, conversionChanged);
    if (conversionChanged) this.hosts.reconvertAll();
    await this.set.replace([...next.registries, ...retired]);
    this.checkSynced();
    this.debouncer.trigger();
  }

  /**
   * What stands for a registry that `old` (same name) is replaced by until it syncs: old's
   * published view when it had one, nothing for a new registry once publishing began
   * (undefined before: it then blocks the first publish like any registry at start).
   */
  private standIn(old: Registry | undefined): ReadonlyMap<string, Service> | undefined {
    if (old instanceof RetiredRegistry) return new Map(this.guard.baseline(old.name) ?? []);
    if (old !== undefined && (old.hasSynced() || this.views.substituted(old.name))) return new Map(this.views.viewOf(old));
    return this.allSynced ? new Map() : undefined;
  }

  /** True once every registry synced and the first snapshot was published. */
  ready(): boolean {
    return this.allSynced && this.o.store.current() !== undefined;
  }

  /** Reasons the pipeline is not ready (empty when ready). */
  notReadyReasons(): string[] {
    const reasons: string[] = [];
    for (const r of this.set.list) {
      if (!r.hasSynced()) {
        const st = r.status();
        reasons.push(`registry ${r.name} has not synced${st.lastError ? `: ${st.lastError.code} ${st.lastError.message}` : ''}`);
      }
    }
    if (reasons.length === 0 && this.o.store.current() === undefined) reasons.push('first snapshot not published yet');
    return reasons;
  }

  /** For /debug: host conflicts and held deletions. */
  debugState(): PipelineDebugState {
    return {
      conflicts: this.report.conflicts,
      collisions: this.report.collisions,
      held: this.report.held(),
      guard: this.guard.state(this.now()),
      flushes: { ...this.flushCounts },
      listeners: this.report.listeners,
      addresses: this.hosts.addressStats(),
      shared: this.hosts.sharedGroups(),
    };
  }

  /** Per registry: what its selection rules keep out, up to `limit` services listed (/debug/selection). */
  selectionState(limit = 200): ReturnType<FlushPasses['selectionState']> { return this.passes.selectionState(limit); }

  /** The deletion guard per registry (the cheap part of debugState, for the status page). */
  guardState(): readonly GuardState[] {
    return this.guard.state(this.now());
  }

  /** Each registry's last healthy view (the guard's baseline): what the checkpoint keeps. */
  checkpointData(): Map<string, ReadonlyMap<string, Service>> {
    const out = new Map<string, ReadonlyMap<string, Service>>();
    for (const r of this.set.list) {
      const b = this.guard.baseline(r.name);
      // A copy: the guard updates baselines in place, and the writer encodes in slices.
      if (b !== undefined) out.set(r.name, new Map(b));
    }
    return out;
  }

  /**
   * Ends a registry's hold on its next pass (an operator's decision, POST /debug/release): the
   * registry's current view is published, deletions included. False when it is not holding.
   */
  releaseHold(registry: string): boolean {
    if (!this.guard.requestRelease(registry)) return false;
    this.o.logger.warn({ registry, code: ErrorCode.PROTECT_HELD }, 'deletion guard: release requested by an operator');
    this.debouncer.trigger();
    return true;
  }

  /** Runs a pending debounced flush now (for shutdown and tests). */
  async flushNow(): Promise<void> {
    await this.debouncer.flushNow();
  }

  /** Builds and publishes a snapshot from the registries' current state. Synchronous. */
  flush(): void {
    if (!this.allSynced || this.prewarming) return; // a prewarm ends with a flush that takes the changes
    const end = this.o.metrics.buildDuration.startTimer();
    this.o.metrics.debounceFlushes.inc();
    const dirty = this.dirty;
    this.dirty = new Map();
    let out = this.passes.incremental(dirty);
    if (out === undefined) {
      out = this.passes.full();
      this.flushCounts.full += 1;
      this.o.metrics.flushFullPasses.inc();
    } else this.flushCounts.incremental += 1;
    const snap = 'all' in out ? this.o.store.publish(out.all) : this.o.store.publishChanges(out.upserts, out.removed);
    if (snap !== undefined) this.report.published(snap);
    this.dropRetired();
    this.scheduleTimedRelease();
    end();
  }

  private onEvent(r: Registry, e: RegistryEvent): void {
    this.report.registryStatus(r);
    if (e.type === 'synced') {
      if (this.allSynced && this.views.substituted(e.registry)) {
        // Published from its checkpoint (or a reload's stand-in) or unsynced until now: its real view replaces that.
        this.o.logger.info({ registry: e.registry }, 'registry synced after publishing started; its own view replaces the checkpoint or stand-in');
        this.debouncer.trigger();
      }
      this.checkSynced();
      return;
    }
    if (e.type === 'status') return;
    if (!this.allSynced) return; // the first publish covers it
    let keys = this.dirty.get(e.registry);
    if (keys === undefined) this.dirty.set(e.registry, (keys = new Set()));
    keys.add(serviceKey(e.service));
    this.o.metrics.debounceEvents.inc();
    this.debouncer.trigger();
  }

  private checkSynced(): void {
    if (this.allSynced) return;
    // A registry counts once it synced, or has a checkpoint to publish from, or timed out.
    if (!this.views.complete()) return;
    this.allSynced = true;
    const waiting = this.set.list.filter((r) => !r.hasSynced()).map((r) => r.name);
    this.o.logger.info(
      { registries: this.set.list.map((r) => r.name), fromCheckpoint: waiting.filter((n) => this.views.hasCheckpoint(n)), unsynced: waiting },
      waiting.length === 0 ? 'all registries synced; publishing' : 'publishing before every registry synced (checkpoint or start-up timeout)',
    );
    this.firstFlush();
  }

  /** The first publish: at once when small, else after preparing it in slices (prewarm). */
  private firstFlush(): void {
    let total = 0;
    for (const r of this.set.list) total += this.views.viewOf(r).size;
    if (total < (this.o.prewarmMinServices ?? PREWARM_MIN_SERVICES) || this.stopped) {
      this.flush();
      return;
    }
    this.prewarming = true;
    const t0 = performance.now();
    void this.passes
      .prewarm(() => this.stopped)
      .catch((e: unknown) => this.o.logger.error({ err: describeError(e), code: ErrorCode.INTERNAL }, 'preparing the first snapshot failed; building it at once'))
      .finally(() => {
        this.prewarming = false;
        this.o.logger.info({ services: total, ms: Math.round(performance.now() - t0) }, 'first snapshot prepared in slices');
        if (!this.stopped) this.flush();
      });
  }

  /** syncTimeoutMs passed: registries still not synced stop blocking the first publish. */
  private syncDeadline(): void {
    for (const r of this.set.list) {
      if (r.hasSynced()) continue;
      this.views.timeOut(r.name);
      this.report.syncTimedOut(r, this.views.hasCheckpoint(r.name), this.o.syncTimeoutMs ?? 0);
    }
    this.checkSynced();
  }

  /** Retired registries whose guard let their services go (this pass) are forgotten. */
  private dropRetired(): void {
    const gone = this.set.retired().filter((r) => !this.guard.holding(r.name));
    if (gone.length === 0) return;
    for (const r of gone) {
      this.guard.forget(r.name);
      this.views.forget(r.name);
      this.conversion.delete(r.name);
      this.protect.delete(r.name);
      this.o.logger.info({ registry: r.name }, `registry ${r.name} left the config; its services are no longer published`);
    }
    this.set.drop(gone);
    this.passes.reconfigure(this.conflictPolicy, false);
  }

  /** A hold with a time limit gets a flush when it is due (no registry event may come). */
  private scheduleTimedRelease(): void {
    clearTimeout(this.releaseTimer);
    this.releaseTimer = undefined;
    const at = this.guard.nextTimedRelease();
    if (at === undefined || this.stopped) return;
    this.releaseTimer = setTimeout(() => this.debouncer.trigger(), Math.max(0, at - this.now()) + 10);
    this.releaseTimer.unref();
  }
}
