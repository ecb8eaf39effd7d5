/**
 * The passes a flush makes over the registries' views to decide what to hand the store.
 *
 * Contract:
 * - full(): every registry through its deletion guard, every host merged and converted (cache
 *   permitting), the host index rebuilt; hands over every host's resources.
 * - incremental(dirty): redoes only the hosts that the services named in upsert/delete events
 *   map to (now or before): guard, merge, conflicts and conversion of those hosts, and hands over
 *   only those hosts' resources (and those whose listener addresses moved) as a delta against
 *   what was last handed over. It declines (undefined: a full pass is needed) before the first
 *   full pass, while a guard holds or would hold, while a registry is substituted (checkpoint,
 *   time-out), when incremental passes are off, and when a registry's services do not add up to
 *   the announced changes. Both passes hand over the same content.
 * - A service whose host cannot be made is reported and skipped.
 * - Selection (ServiceSelection): every service goes through its registry's rules after the
 *   guard and before merging; an excluded one has no host (it is not published, nor reported),
 *   a narrowed one contributes only its kept endpoints. The guard judges the unselected views.
 * - The Sidecars of consumer applications (sidecar-pass.ts) travel with the shared
 *   ServiceEntries: handed over whole on every pass, rebuilt only when consumers changed.
 * - `registries` and `conversion` are the pipeline's own, read on every pass: a reload changes
 *   them, then calls reconfigure(), after which the next pass is a full one.
 */
import { serviceKey, type Service } from '../model/index.js';
import { ErrorCode, MeshbridgeError, describeError } from '../errors/index.js';
import type { ConversionOptions } from '../convert/options.js';
import type { IstioResource } from '../snapshot/index.js';
import type { Registry } from '../registry/types.js';
import type { ProtectGuard } from './protect.js';
import { mergeByHost, type ConflictPolicy } from './aggregate.js';
import { HostIndex } from './host-index.js';
import type { ConvertedHosts } from './converted-hosts.js';
import { PublishedLedger, type Collected } from './published-ledger.js';
import type { PipelineReport } from './pipeline-report.js';
import type { RegistryViews } from './registry-views.js';
import { ServiceSelection, type SelectionRecord, type SelectionStats } from './service-selection.js';
import { SidecarPass } from './sidecar-pass.js';
import { dropServiceClashes } from './service-clashes.js';

/** Hosts prepared per slice of a prewarm (see FlushPasses.prewarm). */
const PREWARM_SLICE = 250;

export interface FlushPassesOptions {
  /** In precedence order (config order). */
  readonly registries: readonly Registry[];
  readonly views: RegistryViews;
  readonly conversion: ReadonlyMap<string, ConversionOptions>;
  readonly hostFor: (service: Service, options: ConversionOptions) => string;
  readonly conflictPolicy: ConflictPolicy;
  readonly guard: ProtectGuard;
  readonly hosts: ConvertedHosts;
  readonly report: PipelineReport;
  /** False: incremental() always declines. */
  readonly incremental: boolean;
  readonly now: () => number;
}

export class FlushPasses {
  private hostCache = new WeakMap<Service, string | null>();
  private readonly ledger = new PublishedLedger();
  private index: HostIndex | undefined;
  /** What the prewarm slices' address settles changed, for the first collect(). */
  private pendingSettle = { hosts: false, shared: false };
  private conflictPolicy: ConflictPolicy;
  /** What the registries' selection rules keep out (for /debug/selection and the gauges). */
  readonly selection: ServiceSelection;
  private readonly sidecars: SidecarPass;

  constructor(private readonly o: FlushPassesOptions) {
    this.conflictPolicy = o.conflictPolicy;
    this.selection = new ServiceSelection(o.conversion);
    this.sidecars = new SidecarPass({ registries: o.registries, conversion: o.conversion, report: o.report });
  }

  /**
   * The registries, their order or the conversion options changed (a reload): the next pass is
   * a full one (the host index is by rank), with hosts made again when `conversionChanged`.
   */
  reconfigure(conflictPolicy: ConflictPolicy, conversionChanged: boolean): void {
    this.conflictPolicy = conflictPolicy;
    this.index = undefined;
    if (conversionChanged) {
      this.hostCache = new WeakMap();
      this.selection.reset();
    }
  }

  /** Full pass: every registry through the guard, every host merged; rebuilds the host index. */
  full(): Collected {
    const now = this.o.now();
    const index = new HostIndex(this.o.registries.length);
    const sel = this.selection;
    const views = this.o.registries.map((r, rank) => {
      const current = this.o.views.viewOf(r);
      const res = this.o.guard.apply(r.name, current, now);
      this.o.report.guard(r.name, res, () => this.o.guard.state(this.o.now()).find((g) => g.registry === r.name));
      sel.restart(r.name);
      const services: Service[] = [];
      const place = (key: string, s: Service): void => {
        sel.note(r.name, key, s);
        const picked = sel.pick(s);
        index.place(rank, key, picked === undefined ? undefined : this.host(picked));
        if (picked !== undefined) services.push(picked);
      };
      // The registry's own key strings when nothing is held (the view is then exactly `current`).
      if (!res.holding) for (const [key, s] of current) place(key, s);
      else for (const s of res.view) place(serviceKey(s), s);
      return { registry: r.name, services };
    });
    sel.retain(new Set(this.o.registries.map((r) => r.name)));
    this.o.report.selection(sel.stats(this.o.registries.map((r) => r.name)));
    const { inputs, conflicts, collisions } = mergeByHost(views, (s) => this.host(s), this.conflictPolicy);
    index.replaceProblems([], conflicts, collisions);
    index.setHosts(inputs.map((i) => i.host));
    this.index = index;
    this.o.report.hostConflicts(index.conflicts());
    this.o.report.hostCollisions(index.collisions());
    const live = new Set<string>();
    for (const input of inputs) {
      live.add(input.host);
      this.o.hosts.convert(input);
    }
    this.o.hosts.keepOnly(live);
    this.sidecars.replaceAll(inputs);
    return this.collect(index, undefined);
  }

  /**
   * Incremental pass over the hosts touched by `dirty` (keys named by upsert/delete events, by
   * registry name); undefined when a full pass is needed (see the module contract).
   */
  incremental(dirty: ReadonlyMap<string, ReadonlySet<string>>): Collected | undefined {
    const index = this.index;
    if (index === undefined || this.o.guard.holding() || !this.o.incremental) return undefined;
    // A registry published from its checkpoint (or unsynced) goes through full passes.
    if (this.o.views.anySubstituted()) return undefined;
    const regs = this.o.registries;
    const current = regs.map((r) => r.services());
    const now = this.o.now();
    for (const [rank, r] of regs.entries()) {
      const keys = dirty.get(r.name);
      if (keys !== undefined && !this.o.guard.applyChanges(r.name, current[rank] ?? new Map(), keys, now)) return undefined;
    }
    const affected = this.placeChanged(index, dirty, current);
    if (affected.size > 0) this.redoHosts(index, affected, current);
    return this.collect(index, affected);
  }

  /**
   * Converts every host of the registries' current views and settles their addresses, a slice of
   * PREWARM_SLICE hosts at a time, yielding to the event loop between slices (until `stopped`).
   * Only a cache warm-up: the full pass that follows is the authoritative one (guard, merge,
   * conversion cache hits, the remaining settle, publish).
   */
  async prewarm(stopped: () => boolean): Promise<void> {
    const pick = (s: Service): Service[] => {
      const p = this.selection.pick(s);
      return p === undefined ? [] : [p];
    };
    const views = this.o.registries.map((r) => ({ registry: r.name, services: [...this.o.views.viewOf(r).values()].flatMap(pick) }));
    const { inputs } = mergeByHost(views, (s) => this.host(s), this.conflictPolicy);
    for (let i = 0; i < inputs.length; i += PREWARM_SLICE) {
      await new Promise<void>((r) => setImmediate(r));
      if (stopped()) return;
      for (const input of inputs.slice(i, i + PREWARM_SLICE)) this.o.hosts.convert(input);
      const s = this.o.hosts.settle();
      if (s.hosts.size > 0) this.pendingSettle.hosts = true;
      if (s.sharedChanged) this.pendingSettle.shared = true;
    }
  }

  /**
   * Settles the listener addresses, then gives the store what it needs: with `affected` (an
   * incremental pass) the resources of the affected hosts and of those whose addresses changed,
   * as a delta against what was last handed to the store; else (or when a delta cannot be exact:
   * addresses settled outside a flush, a key under two hosts) every host's resources in host
   * order, then the shared ServiceEntries. Either way the store ends with the same content.
   */
  private collect(index: HostIndex, affected: ReadonlySet<string> | undefined): Collected {
    const hosts = this.o.hosts;
    const pending = this.pendingSettle;
    const s = hosts.settle();
    this.pendingSettle = { hosts: false, shared: false };
    const sharedChanged = s.sharedChanged || pending.shared;
    const before = hosts.conflictCount;
    let touched = false;
    let out: Collected | undefined;
    if (affected !== undefined && !pending.hosts && this.ledger.deltasExact) {
      const changed = new Set(affected);
      for (const h of s.hosts) changed.add(h);
      let deltaTouched = false;
      out = this.ledger.delta(changed, (host) => {
        const rs = hosts.addressed(host);
        if (rs?.touched === true) deltaTouched = true;
        return rs?.resources ?? [];
      });
      if (out !== undefined) touched = deltaTouched;
    }
    if (out === undefined) {
      this.ledger.restart();
      const all: IstioResource[] = [];
      for (const host of index.hosts()) {
        const rs = hosts.addressed(host);
        if (rs === undefined) continue;
        if (rs.touched) touched = true;
        this.ledger.record(host, rs.resources);
        for (const r of rs.resources) all.push(r);
      }
      // Two hosts wanting one Kubernetes Service: the ledger saw the key twice (no delta is
      // exact), so every flush comes here until the clash is gone.
      const { kept, clashes } = dropServiceClashes(all);
      this.o.report.serviceClashes(clashes);
      out = { all: kept === all ? all : [...kept] };
    }
    if (sharedChanged) touched = true;
    const sidecars = this.sidecars.resources((host) => hosts.serviceEntryOf(host));
    const shared = hosts.shared(sharedChanged);
    this.ledger.shared(sidecars.length === 0 ? shared : [...shared, ...sidecars], out);
    if (s.hosts.size > 0 || pending.hosts || sharedChanged) this.o.report.addressStats(hosts.addressStats());
    if (touched && (before > 0 || hosts.conflictCount > 0)) this.o.report.listenerConflicts(hosts.listenerConflicts());
    return out;
  }

  /** Moves each changed service to its current host in the index; returns the hosts touched. */
  private placeChanged(
    index: HostIndex,
    dirty: ReadonlyMap<string, ReadonlySet<string>>,
    current: ReadonlyArray<ReadonlyMap<string, Service>>,
  ): Set<string> {
    const affected = new Set<string>();
    let selectionChanged = false;
    for (const [rank, r] of this.o.registries.entries()) {
      for (const key of dirty.get(r.name) ?? []) {
        const before = index.hostOf(rank, key);
        if (before !== undefined) affected.add(before);
        const s = current[rank]?.get(key);
        this.selection.note(r.name, key, s);
        selectionChanged = true;
        const picked = s === undefined ? undefined : this.selection.pick(s);
        const after = picked === undefined ? undefined : this.host(picked);
        if (after !== undefined) affected.add(after);
        index.place(rank, key, after);
      }
    }
    if (selectionChanged) this.o.report.selection(this.selection.stats(this.o.registries.map((r) => r.name)));
    return affected;
  }

  /** Merges and converts the `affected` hosts again from their current members. */
  private redoHosts(index: HostIndex, affected: ReadonlySet<string>, current: ReadonlyArray<ReadonlyMap<string, Service>>): void {
    const views = this.o.registries.map((r) => ({ registry: r.name, services: [] as Service[] }));
    for (const host of affected) {
      for (const [rank, key] of index.members(host)) {
        const s = current[rank]?.get(key);
        const picked = s === undefined ? undefined : this.selection.pick(s);
        if (picked !== undefined) views[rank]?.services.push(picked);
      }
    }
    const { inputs, conflicts, collisions } = mergeByHost(views, (s) => this.host(s), this.conflictPolicy);
    index.replaceProblems(affected, conflicts, collisions);
    const withInput = new Set<string>();
    for (const input of inputs) {
      withInput.add(input.host);
      index.addHost(input.host);
      this.o.hosts.convert(input);
    }
    for (const host of affected) {
      if (withInput.has(host)) continue;
      index.removeHost(host);
      this.o.hosts.drop(host);
    }
    this.sidecars.update(affected, inputs);
    this.o.report.hostConflicts(index.conflicts());
    this.o.report.hostCollisions(index.collisions());
  }

  /** Per registry in precedence order: what its selection rules keep out (up to `limit` services listed). */
  selectionState(limit: number): Array<SelectionStats & { readonly services: SelectionRecord[] }> {
    return this.selection.stats(this.o.registries.map((r) => r.name)).map((st) => ({ ...st, services: this.selection.list(st.registry, limit) }));
  }

  /** The host `s` maps to (memoised per service object); undefined, reported, when it has none. */
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
      this.o.report.skipped(s.registry, err);
      return undefined;
    }
  }
}
