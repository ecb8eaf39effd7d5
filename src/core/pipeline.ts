import { serviceKey, type Service } from '../model/index.js';
import { ErrorCode, MeshbridgeError, describeError } from '../errors/index.js';
import type { ConversionOptions, ConvertInput } from '../convert/options.js';
import { formOf } from '../convert/convert.js';
import type { IstioResource, SnapshotStore } from '../snapshot/index.js';
import type { Registry, RegistryEvent } from '../registry/types.js';
import type { Logger, Metrics } from '../observability/index.js';
import { Debouncer } from './debouncer.js';
import { ProtectGuard, type GuardState, type ProtectResult, type ProtectSettings } from './protect.js';
import { mergeByHost, type ConflictPolicy, type HostCollision, type HostConflict } from './aggregate.js';
import { HostIndex } from './host-index.js';
import { AddressIndex, NO_ADDRESSES } from './address-index.js';
import { VipPool } from './vip-pool.js';
import { ListenerConflicts, type ListenerConflict } from './listener-conflicts.js';
import { claimOf, withAddresses, type ListenerClaim } from '../convert/addresses.js';

/** What conversion gives back for one host (see src/convert). */
export interface ConvertOutput {
  readonly resources: readonly IstioResource[];
  readonly problems: readonly MeshbridgeError[];
  readonly droppedLabels: number;
}

export interface PipelineOptions {
  /** In precedence order (config order). Names are unique. */
  readonly registries: readonly Registry[];
  readonly conversion: ReadonlyMap<string, ConversionOptions>;
  /** Per registry: hold when more than this share of its services is gone (default 50). */
  readonly protectPercent: ReadonlyMap<string, number>;
  /** Per registry: the other guard settings (docs/safety.md); defaults in DEFAULT_PROTECT. */
  readonly protect?: ReadonlyMap<string, Partial<ProtectSettings>> | undefined;
  /**
   * A registry that has not synced this long after start() no longer blocks publishing: it is
   * published from its checkpoint (seedFromCheckpoint) or with what it has, and reported
   * (MB_REGISTRY_SYNC_TIMEOUT). 0 or undefined: wait forever.
   */
  readonly syncTimeoutMs?: number | undefined;
  /**
   * A first publish over at least this many services is prepared in slices that yield (default
   * 2,000; Infinity: always at once, as the micro-benchmarks want).
   */
  readonly prewarmMinServices?: number | undefined;
  /** Clock (ms), for tests; default Date.now. */
  readonly now?: (() => number) | undefined;
  readonly conflictPolicy: ConflictPolicy;
  /** leadingEdge: an isolated change is flushed at once (Debouncer `leading`); default false. */
  readonly debounce: { readonly quietPeriodMs: number; readonly maxDelayMs: number; readonly leadingEdge?: boolean };
  readonly store: SnapshotStore;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Pure conversion functions, injected by the composition root. */
  readonly hostFor: (service: Service, options: ConversionOptions) => string;
  readonly convert: (input: ConvertInput, options: ConversionOptions) => ConvertOutput;
  /**
   * False: every flush merges every host (the reference the incremental flush is tested
   * against). Default true.
   */
  readonly incremental?: boolean | undefined;
  /** Range VIPs are taken from (docs/mapping.md#listener-addresses); default DEFAULT_VIP_CIDR. */
  readonly vipCidr?: string | undefined;
}

/**
 * A first publish over at least this many services is prepared in slices of PREWARM_SLICE hosts
 * (conversion and the address plan), yielding to the event loop between slices, so a large
 * initial sync never blocks registry sessions' heartbeats for the whole of it (issue 10 case 11).
 */
const PREWARM_MIN_SERVICES = 2000;
const PREWARM_SLICE = 250;

/** Guard settings a registry gets when the config says nothing (docs/safety.md). */
export const DEFAULT_PROTECT: ProtectSettings = { servicePercent: 50, endpointPercent: 50, windowMs: 300_000, holdMaxMs: 0 };

/** Default VIP range: class E next to the 240.240.0.0/16 istiod allocates from itself. */
export const DEFAULT_VIP_CIDR = '240.241.0.0/16';

/** Owner of the shared ServiceEntries' keys in Pipeline.keyHost. */
const SHARED = '\u0000shared';

/** What a flush hands the store: a delta of the changed hosts, or everything. */
interface Changes {
  readonly upserts: IstioResource[];
  readonly removed: IstioResource[];
}
type Collected = Changes | { readonly all: IstioResource[] };

interface CacheEntry {
  readonly input: ConvertInput;
  readonly output: ConvertOutput;
  readonly claim: ListenerClaim | undefined;
  /** output.resources with the addresses `addressed` was built for. */
  addresses: readonly string[];
  addressed: readonly IstioResource[];
  /** The ServiceEntry last recorded in the listener conflicts. */
  noted: IstioResource | undefined;
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
 */
export class Pipeline {
  private readonly o: PipelineOptions;
  private readonly guard: ProtectGuard;
  private readonly debouncer: Debouncer;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly hostCache = new WeakMap<Service, string | null>();
  private readonly reported = new Set<string>();
  private conflicts: readonly HostConflict[] = [];
  private collisions: readonly HostCollision[] = [];
  private held = new Map<string, { readonly services: readonly string[]; readonly endpoints: number }>();
  private readonly now: () => number;
  private releaseTimer: NodeJS.Timeout | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** True while the first publish is being prepared in slices; flushes wait for it. */
  private prewarming = false;
  /** What the prepared slices' address settles changed, for the first collect(). */
  private pendingSettle = { hosts: false, shared: false };
  /** Resources last handed to the store, by host, and the host (or SHARED) of each key. */
  private published = new Map<string, readonly IstioResource[]>();
  private publishedShared: readonly IstioResource[] = [];
  private keyHost = new Map<string, string>();
  /** A full collect saw one key under two hosts: the store resolved it, deltas cannot. */
  private duplicateKeys = false;
  /** Last published views from before a restart, used for a registry until it syncs. */
  private readonly checkpoint = new Map<string, ReadonlyMap<string, Service>>();
  /** Registries whose first sync did not finish within syncTimeoutMs. */
  private readonly timedOut = new Set<string>();
  private allSynced = false;
  /** Keys named by upsert/delete events since the last flush, by registry name. */
  private dirty = new Map<string, Set<string>>();
  private index: HostIndex | undefined;
  private readonly flushCounts = { full: 0, incremental: 0 };
  private readonly addresses: AddressIndex;
  private readonly listenerConflicts = new ListenerConflicts();
  private readonly sharedNoted = new Map<string, IstioResource>();
  private listenerList: readonly ListenerConflict[] = [];

  constructor(options: PipelineOptions) {
    this.o = options;
    this.addresses = new AddressIndex(new VipPool(options.vipCidr ?? DEFAULT_VIP_CIDR));
    this.now = options.now ?? Date.now;
    this.guard = new ProtectGuard((r) => ({
      ...DEFAULT_PROTECT,
      servicePercent: options.protectPercent.get(r) ?? DEFAULT_PROTECT.servicePercent,
      ...options.protect?.get(r),
    }));
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
    if (!this.o.registries.some((r) => r.name === registry)) return;
    this.checkpoint.set(registry, services);
    this.guard.seed(registry, services, this.now());
  }

  /** Registers handlers, then starts every registry. Resolves once all are started. */
  async start(signal: AbortSignal): Promise<void> {
    for (const r of this.o.registries) r.onEvent((e) => this.onEvent(e));
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
    await Promise.all(this.o.registries.map((r) => r.start(signal)));
    this.checkSynced();
  }

  /** True once every registry synced and the first snapshot was published. */
  ready(): boolean {
    return this.allSynced && this.o.store.current() !== undefined;
  }

  /** Reasons the pipeline is not ready (empty when ready). */
  notReadyReasons(): string[] {
    const reasons: string[] = [];
    for (const r of this.o.registries) {
      if (!r.hasSynced()) {
        const st = r.status();
        reasons.push(`registry ${r.name} has not synced${st.lastError ? `: ${st.lastError.code} ${st.lastError.message}` : ''}`);
      }
    }
    if (reasons.length === 0 && this.o.store.current() === undefined) reasons.push('first snapshot not published yet');
    return reasons;
  }

  /** For /debug: host conflicts and held deletions. */
  debugState(): {
    conflicts: readonly HostConflict[];
    collisions: readonly HostCollision[];
    held: Record<string, { readonly services: readonly string[]; readonly endpoints: number }>;
    /** The deletion guard per registry: baseline, window peak, hold. */
    guard: readonly GuardState[];
    /** Flushes that merged every host, and flushes that redid only the changed hosts. */
    flushes: { readonly full: number; readonly incremental: number };
    /** Places on a sidecar's outbound side several published ServiceEntries want. */
    listeners: readonly ListenerConflict[];
    addresses: ReturnType<AddressIndex['stats']>;
    shared: ReturnType<AddressIndex['sharedGroups']>;
  } {
    return {
      conflicts: this.conflicts,
      collisions: this.collisions,
      held: Object.fromEntries(this.held),
      guard: this.guard.state(this.now()),
      flushes: { ...this.flushCounts },
      listeners: this.listenerList,
      addresses: this.addresses.stats(),
      shared: this.addresses.sharedGroups(),
    };
  }

  /** Each registry's last healthy view (the guard's baseline): what the checkpoint keeps. */
  checkpointData(): Map<string, ReadonlyMap<string, Service>> {
    const out = new Map<string, ReadonlyMap<string, Service>>();
    for (const r of this.o.registries) {
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

  private onEvent(e: RegistryEvent): void {
    this.updateRegistryMetrics(e.registry);
    if (e.type === 'synced') {
      if (this.allSynced && this.substituted(e.registry)) {
        // Published from its checkpoint or unsynced until now: its real view replaces that.
        this.o.logger.info({ registry: e.registry }, 'registry synced after publishing started; its own view replaces the checkpoint');
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
    if (!this.o.registries.every((r) => r.hasSynced() || this.checkpoint.has(r.name) || this.timedOut.has(r.name))) return;
    this.allSynced = true;
    const waiting = this.o.registries.filter((r) => !r.hasSynced()).map((r) => r.name);
    this.o.logger.info(
      { registries: this.o.registries.map((r) => r.name), fromCheckpoint: waiting.filter((n) => this.checkpoint.has(n)), unsynced: waiting },
      waiting.length === 0 ? 'all registries synced; publishing' : 'publishing before every registry synced (checkpoint or start-up timeout)',
    );
    this.firstFlush();
  }

  /** The first publish: at once when small, else after preparing it in slices (prewarm). */
  private firstFlush(): void {
    let total = 0;
    for (const r of this.o.registries) total += this.viewOf(r).size;
    if (total < (this.o.prewarmMinServices ?? PREWARM_MIN_SERVICES) || this.stopped) {
      this.flush();
      return;
    }
    this.prewarming = true;
    const t0 = performance.now();
    void this.prewarm()
      .catch((e: unknown) => this.o.logger.error({ err: describeError(e), code: ErrorCode.INTERNAL }, 'preparing the first snapshot failed; building it at once'))
      .finally(() => {
        this.prewarming = false;
        this.o.logger.info({ services: total, ms: Math.round(performance.now() - t0) }, 'first snapshot prepared in slices');
        if (!this.stopped) this.flush();
      });
  }

  /**
   * Converts every host of the registries' current views and settles their addresses, a slice at
   * a time, yielding between slices. Only a cache warm-up: the flush that follows is the
   * authoritative pass (guard, merge, conversion cache hits, the remaining settle, publish).
   */
  private async prewarm(): Promise<void> {
    const views = this.o.registries.map((r) => ({ registry: r.name, services: [...this.viewOf(r).values()] }));
    const { inputs } = mergeByHost(views, (s) => this.host(s), this.o.conflictPolicy);
    for (let i = 0; i < inputs.length; i += PREWARM_SLICE) {
      await new Promise<void>((r) => setImmediate(r));
      if (this.stopped) return;
      for (const input of inputs.slice(i, i + PREWARM_SLICE)) this.convertCached(input);
      const s = this.addresses.settle();
      if (s.hosts.size > 0) this.pendingSettle.hosts = true;
      if (s.sharedChanged) this.pendingSettle.shared = true;
    }
  }

  /** syncTimeoutMs passed: registries still not synced stop blocking the first publish. */
  private syncDeadline(): void {
    for (const r of this.o.registries) {
      if (r.hasSynced()) continue;
      this.timedOut.add(r.name);
      const err = new MeshbridgeError(
        ErrorCode.REGISTRY_SYNC_TIMEOUT,
        `registry ${r.name} has not synced ${Math.round((this.o.syncTimeoutMs ?? 0) / 1000)} s after start; ` +
          (this.checkpoint.has(r.name) ? 'its services are published from the checkpoint' : 'publishing without it (it has no checkpoint)') +
          ' and it counts as stale until it syncs',
      );
      this.o.metrics.registryErrors.inc({ registry: r.name, code: err.code });
      this.o.logger.error({ registry: r.name, code: err.code, status: r.status() }, err.message);
    }
    this.checkSynced();
  }

  /** True while a registry's published view is not its own synced one. */
  private substituted(registry: string): boolean {
    return this.checkpoint.has(registry) || this.timedOut.has(registry);
  }

  /** What a registry contributes: its own services once synced, else its checkpoint if any. */
  private viewOf(r: Registry): ReadonlyMap<string, Service> {
    if (r.hasSynced()) {
      if (this.checkpoint.has(r.name)) this.checkpoint.delete(r.name);
      this.timedOut.delete(r.name);
      return r.services();
    }
    return this.checkpoint.get(r.name) ?? r.services();
  }

  private updateRegistryMetrics(name: string): void {
    const r = this.o.registries.find((x) => x.name === name);
    if (r === undefined) return;
    const st = r.status();
    const m = this.o.metrics;
    m.registryServices.set({ registry: name }, st.services);
    m.registryEndpoints.set({ registry: name }, st.endpoints);
    m.registrySynced.set({ registry: name }, st.synced ? 1 : 0);
    m.registryStale.set({ registry: name }, st.stale ? 1 : 0);
    if (st.lastSyncTime !== undefined) m.registryLastSync.set({ registry: name }, st.lastSyncTime / 1000);
  }

  /** Builds and publishes a snapshot from the registries' current state. Synchronous. */
  flush(): void {
    if (!this.allSynced || this.prewarming) return; // a prewarm ends with a flush that takes the changes
    const end = this.o.metrics.buildDuration.startTimer();
    this.o.metrics.debounceFlushes.inc();
    const dirty = this.dirty;
    this.dirty = new Map();
    let out = this.changedHosts(dirty);
    if (out === undefined) {
      out = this.allHosts();
      this.flushCounts.full += 1;
      this.o.metrics.flushFullPasses.inc();
    } else this.flushCounts.incremental += 1;
    const snap = 'all' in out ? this.o.store.publish(out.all) : this.o.store.publishChanges(out.upserts, out.removed);
    if (snap !== undefined) {
      this.o.metrics.snapshotSequence.set(snap.sequence);
      let total = 0;
      for (const [kind, ks] of snap.kinds) {
        this.o.metrics.snapshotResources.set({ kind }, ks.resources.size);
        total += ks.resources.size;
      }
      this.o.logger.info({ version: snap.version, sequence: snap.sequence, resources: total }, 'snapshot published');
    }
    this.scheduleTimedRelease();
    end();
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

  /** Full pass: every registry through the guard, every host merged; rebuilds the host index. */
  private allHosts(): Collected {
    const now = this.now();
    const index = new HostIndex(this.o.registries.length);
    const views = this.o.registries.map((r, rank) => {
      const current = this.viewOf(r);
      const res = this.guard.apply(r.name, current, now);
      this.noteGuard(r.name, res);
      // The registry's own key strings when nothing is held (the view is then exactly `current`).
      if (!res.holding) for (const [key, s] of current) index.place(rank, key, this.host(s));
      else for (const s of res.view) index.place(rank, serviceKey(s), this.host(s));
      return { registry: r.name, services: res.view };
    });
    const { inputs, conflicts, collisions } = mergeByHost(views, (s) => this.host(s), this.o.conflictPolicy);
    index.replaceProblems([], conflicts, collisions);
    index.setHosts(inputs.map((i) => i.host));
    this.index = index;
    this.noteConflicts(index.conflicts());
    this.noteCollisions(index.collisions());
    const live = new Set<string>();
    for (const input of inputs) {
      live.add(input.host);
      this.convertCached(input);
    }
    // Every cached host is live unless the cache holds more hosts than are live.
    if (this.cache.size > live.size) for (const host of [...this.cache.keys()]) if (!live.has(host)) this.dropHost(host);
    return this.collect(index, undefined);
  }

  /**
   * Incremental pass over the hosts touched by `dirty`; undefined when a full pass is needed
   * (see the class contract).
   */
  private changedHosts(dirty: ReadonlyMap<string, ReadonlySet<string>>): Collected | undefined {
    const index = this.index;
    if (index === undefined || this.guard.holding() || this.o.incremental === false) return undefined;
    // A registry published from its checkpoint (or unsynced) goes through full passes.
    if (this.checkpoint.size > 0 || this.timedOut.size > 0) return undefined;
    const regs = this.o.registries;
    const current = regs.map((r) => r.services());
    const now = this.now();
    for (const [rank, r] of regs.entries()) {
      const keys = dirty.get(r.name);
      if (keys !== undefined && !this.guard.applyChanges(r.name, current[rank] ?? new Map(), keys, now)) return undefined;
    }
    const affected = this.placeChanged(index, dirty, current);
    if (affected.size > 0) this.redoHosts(index, affected, current);
    return this.collect(index, affected);
  }

  /**
   * Settles the listener addresses, then gives the store what it needs: with `affected` (an
   * incremental pass) the resources of the affected hosts and of those whose addresses changed,
   * as a delta against what was last handed to the store; else (or when a delta cannot be exact:
   * addresses settled outside a flush, a key under two hosts) every host's resources in host
   * order, then the shared ServiceEntries. Either way the store ends with the same content.
   */
  private collect(index: HostIndex, affected: ReadonlySet<string> | undefined): Collected {
    const pending = this.pendingSettle;
    const s = this.addresses.settle();
    this.pendingSettle = { hosts: false, shared: false };
    const sharedChanged = s.sharedChanged || pending.shared;
    const before = this.listenerConflicts.size;
    let touched = false;
    let out: Collected | undefined;
    if (affected !== undefined && !pending.hosts && !this.duplicateKeys) {
      const hosts = new Set(affected);
      for (const h of s.hosts) hosts.add(h);
      const delta = this.hostDelta(hosts);
      if (delta !== undefined) {
        touched = delta.touched;
        out = delta;
      }
    }
    if (out === undefined) {
      this.published = new Map();
      this.keyHost = new Map();
      this.duplicateKeys = false;
      const all: IstioResource[] = [];
      for (const host of index.hosts()) {
        const rs = this.addressedOf(host);
        if (rs === undefined) continue;
        if (rs.touched) touched = true;
        this.recordPublished(host, rs.resources);
        for (const r of rs.resources) all.push(r);
      }
      out = { all };
    }
    if (sharedChanged) touched = true;
    this.collectShared(out, sharedChanged);
    if (s.hosts.size > 0 || pending.hosts || sharedChanged) this.noteAddressStats();
    if (touched && (before > 0 || this.listenerConflicts.size > 0)) this.noteListenerConflicts(this.listenerConflicts.list());
    return out;
  }

  /**
   * The delta of `hosts` against what was last handed to the store; undefined when a resource
   * key would move between hosts (the full list lets the store resolve it as a full pass does).
   */
  private hostDelta(hosts: ReadonlySet<string>): (Changes & { touched: boolean }) | undefined {
    const upserts: IstioResource[] = [];
    const removed: IstioResource[] = [];
    let touched = false;
    for (const host of hosts) {
      const rs = this.addressedOf(host);
      if (rs?.touched === true) touched = true;
      const next = rs?.resources ?? [];
      for (const r of next) {
        const owner = this.keyHost.get(r.key);
        if (owner !== undefined && owner !== host) return undefined;
      }
      const prev = this.published.get(host) ?? [];
      if (prev === next) continue;
      const keys = new Set(next.map((r) => r.key));
      for (const r of prev) {
        if (keys.has(r.key)) continue;
        removed.push(r);
        this.keyHost.delete(r.key);
      }
      for (const r of next) upserts.push(r);
      this.recordPublished(host, next);
    }
    return { upserts, removed, touched };
  }

  /**
   * `host`'s resources with its current listener addresses (rebuilt when those changed), its
   * ServiceEntry noted in the listener conflicts; undefined when the host has no conversion.
   */
  private addressedOf(host: string): { resources: readonly IstioResource[]; touched: boolean } | undefined {
    const entry = this.cache.get(host);
    if (entry === undefined) return undefined;
    const addrs = this.addresses.addressesOf(host);
    if (entry.addresses !== addrs) {
      entry.addresses = addrs;
      entry.addressed = withAddresses(entry.output.resources, addrs);
    }
    const se = entry.addressed[0];
    let touched = false;
    if (entry.noted !== se) {
      if (entry.noted !== undefined && entry.noted.key !== se?.key) this.listenerConflicts.update(entry.noted.key, undefined);
      if (se !== undefined) this.listenerConflicts.update(se.key, se);
      entry.noted = se;
      touched = true;
    }
    return { resources: entry.addressed, touched };
  }

  private recordPublished(host: string, resources: readonly IstioResource[]): void {
    if (resources.length === 0) this.published.delete(host);
    else this.published.set(host, resources);
    for (const r of resources) {
      if (this.keyHost.has(r.key) && this.keyHost.get(r.key) !== host) this.duplicateKeys = true;
      this.keyHost.set(r.key, host);
    }
  }

  /** Adds the shared ServiceEntries to `out` (in a delta: those gone as removed) and records them. */
  private collectShared(out: Collected, changed: boolean): void {
    const shared = this.addresses.sharedResources();
    if (changed) this.noteShared(shared);
    const live = new Set(shared.map((r) => r.key));
    for (const r of this.publishedShared) {
      if (live.has(r.key)) continue;
      if (!('all' in out)) out.removed.push(r);
      if (this.keyHost.get(r.key) === SHARED) this.keyHost.delete(r.key);
    }
    for (const r of shared) ('all' in out ? out.all : out.upserts).push(r);
    this.publishedShared = shared;
    for (const r of shared) {
      const owner = this.keyHost.get(r.key);
      if (owner !== undefined && owner !== SHARED) this.duplicateKeys = true;
      this.keyHost.set(r.key, SHARED);
    }
  }

  /** Records the shared ServiceEntries in the listener conflicts. */
  private noteShared(shared: readonly IstioResource[]): void {
    const conflicts = this.listenerConflicts;
    const live = new Set<string>();
    for (const r of shared) {
      live.add(r.key);
      if (this.sharedNoted.get(r.key) !== r) {
        conflicts.update(r.key, r);
        this.sharedNoted.set(r.key, r);
      }
    }
    for (const k of [...this.sharedNoted.keys()]) {
      if (live.has(k)) continue;
      conflicts.update(k, undefined);
      this.sharedNoted.delete(k);
    }
  }

  private dropHost(host: string): void {
    const entry = this.cache.get(host);
    if (entry?.noted !== undefined) this.listenerConflicts.update(entry.noted.key, undefined);
    this.cache.delete(host);
    this.addresses.update(host, undefined, 'none');
  }

  /** Reports each distinct listener conflict once and sets the gauges. */
  private noteListenerConflicts(list: readonly ListenerConflict[]): void {
    this.listenerList = list;
    const byKind = { address: 0, domain: 0, wildcard: 0 };
    for (const c of list) {
      byKind[c.kind] += 1;
      const key = `listener|${c.kind}|${c.port}|${c.what ?? ''}|${c.resources.join(',')}`;
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      const err = new MeshbridgeError(
        ErrorCode.LISTENER_CONFLICT,
        `${c.resources.length} ServiceEntries want the same ${c.kind === 'wildcard' ? `wildcard listener 0.0.0.0:${c.port}` : c.kind === 'address' ? `listener ${c.what ?? ''}:${c.port}` : `HTTP domain ${c.what ?? ''}:${c.port}`}; ` +
          'istiod keeps the oldest and drops the others (give the registry addresses: providers, see docs/mapping.md#listener-addresses)',
        { details: { ...c } },
      );
      this.o.logger.warn({ code: err.code, conflict: c }, err.message);
    }
    for (const [kind, n] of Object.entries(byKind)) this.o.metrics.listenerConflicts.set({ kind }, n);
  }

  private noteAddressStats(): void {
    const st = this.addresses.stats();
    this.o.metrics.sharedServiceEntries.set(st.sharedGroups);
    this.o.metrics.vipsAllocated.set(st.vips);
  }

  /** Moves each changed service to its current host in the index; returns the hosts touched. */
  private placeChanged(
    index: HostIndex,
    dirty: ReadonlyMap<string, ReadonlySet<string>>,
    current: ReadonlyArray<ReadonlyMap<string, Service>>,
  ): Set<string> {
    const affected = new Set<string>();
    for (const [rank, r] of this.o.registries.entries()) {
      for (const key of dirty.get(r.name) ?? []) {
        const before = index.hostOf(rank, key);
        if (before !== undefined) affected.add(before);
        const s = current[rank]?.get(key);
        const after = s === undefined ? undefined : this.host(s);
        if (after !== undefined) affected.add(after);
        index.place(rank, key, after);
      }
    }
    return affected;
  }

  /** Merges and converts the `affected` hosts again from their current members. */
  private redoHosts(index: HostIndex, affected: ReadonlySet<string>, current: ReadonlyArray<ReadonlyMap<string, Service>>): void {
    const views = this.o.registries.map((r) => ({ registry: r.name, services: [] as Service[] }));
    for (const host of affected) {
      for (const [rank, key] of index.members(host)) {
        const s = current[rank]?.get(key);
        if (s !== undefined) views[rank]?.services.push(s);
      }
    }
    const { inputs, conflicts, collisions } = mergeByHost(views, (s) => this.host(s), this.o.conflictPolicy);
    index.replaceProblems(affected, conflicts, collisions);
    const withInput = new Set<string>();
    for (const input of inputs) {
      withInput.add(input.host);
      index.addHost(input.host);
      this.convertCached(input);
    }
    for (const host of affected) {
      if (withInput.has(host)) continue;
      index.removeHost(host);
      this.dropHost(host);
    }
    this.noteConflicts(index.conflicts());
    this.noteCollisions(index.collisions());
  }

  private host(s: Service): string | undefined {
    const cached = this.hostCache.get(s);
    if (cached !== undefined) return cached ?? undefined;
    const opts = this.o.conversion.get(s.registry);
    if (opts === undefined) return undefined;
    try {
      const h = this.o.hostFor(s, opts);
      this.hostCache.set(s, h);
      return h;
    } catch (e) {
      this.hostCache.set(s, null);
      const err = e instanceof MeshbridgeError ? e : new MeshbridgeError(ErrorCode.NAME_INVALID, describeError(e), { cause: e });
      this.problem(s.registry, err, true);
      return undefined;
    }
  }

  /**
   * Contract: the host's previous form (from its cached output) is passed to convert as
   * `previousForm` (the hysteresis around the inline limit); a cache hit reuses the output,
   * which is the fixed point of that (same input and form give the same output).
   */
  private convertCached(fresh: ConvertInput): ConvertOutput {
    const prev = this.cache.get(fresh.host);
    if (prev !== undefined && sameInput(prev.input, fresh)) return prev.output;
    const previousForm = prev === undefined ? undefined : formOf(prev.output.resources);
    const input: ConvertInput = previousForm === undefined ? fresh : { ...fresh, previousForm };
    const opts = this.o.conversion.get(input.primary.registry);
    if (opts === undefined) return { resources: [], problems: [], droppedLabels: 0 };
    const output = this.o.convert(input, opts);
    for (const p of output.problems) this.problem(input.primary.registry, p, true);
    if (output.droppedLabels > 0) this.o.metrics.labelsDropped.inc({ registry: input.primary.registry }, output.droppedLabels);
    // Hosts in mode none take no part in the address plan: no claim to compute on this path.
    const mode = opts.addresses ?? 'none';
    const claim = mode === 'none' ? undefined : claimOf(input.host, output.resources);
    this.addresses.update(input.host, claim, mode);
    const old = this.cache.get(input.host);
    this.cache.set(input.host, { input, output, claim, addresses: NO_ADDRESSES, addressed: output.resources, noted: old?.noted });
    return output;
  }

  private problem(registry: string, err: MeshbridgeError, skipped: boolean): void {
    if (skipped) this.o.metrics.entriesSkipped.inc({ registry, code: err.code });
    this.o.logger.warn({ registry, code: err.code, path: err.path }, err.message);
  }

  /** Logs a hold when it begins or grows, and its end; keeps the gauges. */
  private noteGuard(registry: string, res: ProtectResult): void {
    const m = this.o.metrics;
    const before = this.held.get(registry);
    m.protectHeldServices.set({ registry }, res.held.length);
    m.protectHeldEndpoints.set({ registry }, res.heldEndpoints);
    if (res.released !== undefined) {
      m.protectReleases.inc({ registry, cause: res.released });
      this.o.logger.warn({ registry, cause: res.released }, `deletion guard: hold of registry ${registry} released (${res.released}); its current view is published`);
    }
    if (!res.holding) {
      this.held.delete(registry);
      return;
    }
    this.held.set(registry, { services: res.held, endpoints: res.heldEndpoints });
    if (before === undefined || before.services.length < res.held.length || before.endpoints < res.heldEndpoints) {
      if (before === undefined) m.protectHeld.inc({ registry });
      const st = this.guard.state(this.now()).find((g) => g.registry === registry);
      const err = new MeshbridgeError(
        ErrorCode.PROTECT_HELD,
        `registry ${registry} lost more than its guard allows (${st?.hold?.reasons.join(' and ') ?? 'services'}): ` +
          `${res.held.length} services and ${res.heldEndpoints} endpoints are held back and stay published ` +
          `until the registry recovers, an operator releases it (POST /debug/release?registry=${registry}) or its protectHoldMaxSeconds pass`,
        { details: { held: res.held.slice(0, 20) } },
      );
      this.o.logger.error(
        { registry, code: err.code, heldServices: res.held.length, heldEndpoints: res.heldEndpoints, baseline: st?.baselineServices, baselineEndpoints: st?.baselineEndpoints },
        err.message,
      );
    }
  }

  /** Reports each distinct same-registry host collision once (they are merged, not skipped). */
  private noteCollisions(collisions: readonly HostCollision[]): void {
    this.collisions = collisions;
    for (const c of collisions) {
      const key = `collision|${c.host}|${c.registry}|${c.services.join(',')}`;
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      const err = new MeshbridgeError(
        ErrorCode.HOST_CONFLICT,
        `services ${c.services.map((k) => `"${k}"`).join(', ')} of registry ${c.registry} all map to host ${c.host}; ` +
          'they are merged into one ServiceEntry (make the host template tell them apart)',
        { path: c.registry, details: { host: c.host, services: c.services } },
      );
      this.o.metrics.registryErrors.inc({ registry: c.registry, code: err.code });
      this.o.logger.warn({ registry: c.registry, code: err.code, host: c.host, services: c.services }, err.message);
    }
  }

  private noteConflicts(conflicts: readonly HostConflict[]): void {
    this.conflicts = conflicts;
    for (const c of conflicts) {
      const key = `${c.host}|${c.winner}|${c.hidden.join(',')}`;
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      for (const h of c.hidden) {
        this.o.metrics.registryErrors.inc({ registry: h, code: ErrorCode.HOST_CONFLICT });
      }
      this.o.logger.warn({ host: c.host, winner: c.winner, hidden: c.hidden, code: ErrorCode.HOST_CONFLICT }, 'host published by several registries; precedence policy hides the later ones');
    }
  }
}

function sameInput(a: ConvertInput, b: ConvertInput): boolean {
  if (a.primary !== b.primary || a.origins.length !== b.origins.length) return false;
  if (a.ports === b.ports && a.endpoints === b.endpoints) return true;
  if (a.ports.length !== b.ports.length || a.endpoints.length !== b.endpoints.length) return false;
  for (let i = 0; i < a.ports.length; i++) if (a.ports[i] !== b.ports[i]) return false;
  for (let i = 0; i < a.endpoints.length; i++) if (a.endpoints[i] !== b.endpoints[i]) return false;
  return true;
}
