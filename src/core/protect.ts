import { endpointKey, type Service } from '../model/index.js';
import { PeakWindow } from './peak-window.js';

/**
 * The deletion guard: a registry that blinks (restarts empty, answers a partial list, loses its
 * ephemeral instances, drains session by session) must never take services or endpoints out of
 * the mesh. docs/safety.md is the user-facing statement of these rules; ADR 0012 the reasons.
 *
 * Per registry:
 * - The *baseline* is the last view released while not holding (the last healthy state). It
 *   never moves while a hold lasts.
 * - A pass *trips* the guard when, against the baseline and the largest view released within
 *   `windowMs` (so a slow drain adds up), more than `servicePercent` of the services or more than
 *   `endpointPercent` of the endpoints are gone. Services count by key (the missing ones) and by
 *   number (net loss over the window); endpoints by number (net loss: a rolling restart that
 *   replaces every endpoint is no loss).
 * - While *holding*, nothing is removed: services missing from the registry stay as in the
 *   baseline, and each service keeps its baseline endpoints that are gone besides its current
 *   ones. Additions and changes always go through.
 * - A hold ends (the current view becomes the baseline):
 *   - at once when the registry is back *complete*: every baseline service present with every
 *     baseline endpoint (recovery; nothing is removed by the release);
 *   - when it has been back to its baseline size in services and endpoints for `settleMs`
 *     without interruption, with some baseline services or endpoints still missing (settled:
 *     counts alone are not trusted at once, as services coming back one by one in any order
 *     reach the baseline's numbers with a newcomer before the last old one is back);
 *   - when an operator releases it (`requestRelease`), or `holdMaxMs` after it began (0: never
 *     by time).
 * - The first view of a registry is released as is, unless a baseline was seeded (a checkpoint
 *   from before a restart): then it is judged against that baseline like any other pass.
 *
 * Pure state machine: time comes in as `now` (ms); no timers, no I/O.
 */
export interface ProtectSettings {
  /** Hold when more than this share (0-100) of services is gone; 100 turns the check off. */
  readonly servicePercent: number;
  /** Hold when more than this share (0-100) of endpoints is gone; 100 turns the check off. */
  readonly endpointPercent: number;
  /** Losses add up over this window (ms); 0: each pass is compared with the baseline only. */
  readonly windowMs: number;
  /** A hold is released this long after it began (ms); 0: only by recovery or an operator. */
  readonly holdMaxMs: number;
  /**
   * A hold whose registry is back to its baseline numbers, but not complete, is released after
   * the numbers held this long (ms); 0: at once.
   */
  readonly settleMs: number;
}

export const HoldReason = {
  SERVICES: 'services',
  ENDPOINTS: 'endpoints',
} as const;
export type HoldReason = (typeof HoldReason)[keyof typeof HoldReason];

export const ReleaseCause = {
  RECOVERED: 'recovered',
  SETTLED: 'settled',
  OPERATOR: 'operator',
  TIME: 'time',
} as const;
export type ReleaseCause = (typeof ReleaseCause)[keyof typeof ReleaseCause];

export interface ProtectResult {
  readonly view: readonly Service[];
  /** Keys of services held back (missing from the registry, still published), sorted. */
  readonly held: readonly string[];
  /** Endpoints held back (gone from the registry, still published). */
  readonly heldEndpoints: number;
  /** True while the registry is held (even when, for a moment, nothing is missing). */
  readonly holding: boolean;
  /** Set on the pass that ended a hold. */
  readonly released: ReleaseCause | undefined;
}

/** What /debug/guard shows per registry. */
export interface GuardState {
  readonly registry: string;
  readonly baselineServices: number;
  readonly baselineEndpoints: number;
  readonly windowPeakServices: number;
  readonly windowPeakEndpoints: number;
  readonly hold:
    | {
        readonly since: string;
        readonly reasons: readonly HoldReason[];
        readonly heldServices: number;
        readonly heldEndpoints: number;
        /** When the hold will be released by time; undefined: never by time. */
        readonly releaseAt: string | undefined;
        /** Since when the registry is back to its baseline numbers (not complete); undefined: it is not. */
        readonly backSince: string | undefined;
      }
    | undefined;
}

interface Hold {
  readonly since: number;
  readonly reasons: readonly HoldReason[];
  heldServices: number;
  heldEndpoints: number;
  /** Since when the registry has been back to the baseline's numbers, without interruption. */
  backSince: number | undefined;
}

interface RegistryGuard {
  readonly name: string;
  baseline: Map<string, Service>;
  baselineEndpoints: number;
  readonly services: PeakWindow;
  readonly endpoints: PeakWindow;
  hold: Hold | undefined;
  releaseRequested: boolean;
  /** Seeded from a checkpoint and not judged yet: the first pass is compared with it. */
  seeded: boolean;
}

export class ProtectGuard {
  private readonly registries = new Map<string, RegistryGuard>();
  private readonly settings: (registry: string) => ProtectSettings;
  private readonly merged = new WeakMap<Service, { readonly base: Service; readonly view: Service; readonly held: number }>();

  constructor(settings: (registry: string) => ProtectSettings) {
    this.settings = settings;
  }

  /** Seeds a registry's baseline (a checkpoint from before a restart). */
  seed(registry: string, services: ReadonlyMap<string, Service>, now: number): void {
    const st = this.fresh(registry, services, now);
    st.seeded = true;
  }

  /** Forgets a registry: its baseline, window and hold (it left the config). */
  forget(registry: string): void {
    this.registries.delete(registry);
  }

  /** Asks for a registry's hold to end on its next pass; false when it is not holding. */
  requestRelease(registry: string): boolean {
    const st = this.registries.get(registry);
    if (st?.hold === undefined) return false;
    st.releaseRequested = true;
    return true;
  }

  holding(registry?: string): boolean {
    if (registry !== undefined) return this.registries.get(registry)?.hold !== undefined;
    for (const st of this.registries.values()) if (st.hold !== undefined) return true;
    return false;
  }

  /** The earliest time (ms) a hold is due to be released by time or by settling; undefined: none. */
  nextTimedRelease(): number | undefined {
    let next: number | undefined;
    const consider = (at: number) => {
      if (next === undefined || at < next) next = at;
    };
    for (const [name, st] of this.registries) {
      if (st.hold === undefined) continue;
      const cfg = this.settings(name);
      if (cfg.holdMaxMs > 0) consider(st.hold.since + cfg.holdMaxMs);
      if (st.hold.backSince !== undefined) consider(st.hold.backSince + cfg.settleMs);
    }
    return next;
  }

  /** The baseline (last released view) of a registry, for the checkpoint. */
  baseline(registry: string): ReadonlyMap<string, Service> | undefined {
    return this.registries.get(registry)?.baseline;
  }

  state(now: number): GuardState[] {
    return [...this.registries].map(([registry, st]) => {
      const max = this.settings(registry).holdMaxMs;
      return {
        registry,
        baselineServices: st.baseline.size,
        baselineEndpoints: st.baselineEndpoints,
        windowPeakServices: Math.max(st.baseline.size, st.services.peak(now)),
        windowPeakEndpoints: Math.max(st.baselineEndpoints, st.endpoints.peak(now)),
        hold:
          st.hold === undefined
            ? undefined
            : {
                since: new Date(st.hold.since).toISOString(),
                reasons: st.hold.reasons,
                heldServices: st.hold.heldServices,
                heldEndpoints: st.hold.heldEndpoints,
                releaseAt: max > 0 ? new Date(st.hold.since + max).toISOString() : undefined,
                backSince: st.hold.backSince === undefined ? undefined : new Date(st.hold.backSince).toISOString(),
              },
      };
    });
  }

  /** Judges a full view of a registry; returns what to publish for it. */
  apply(registry: string, current: ReadonlyMap<string, Service>, now: number): ProtectResult {
    const st = this.registries.get(registry);
    if (st === undefined) {
      this.fresh(registry, current, now);
      return released(current, undefined);
    }
    const cfg = this.settings(registry);
    const endpoints = countEndpoints(current);
    if (st.hold !== undefined) {
      const byTime = cfg.holdMaxMs > 0 && now - st.hold.since >= cfg.holdMaxMs;
      const cause = st.releaseRequested ? ReleaseCause.OPERATOR : byTime ? ReleaseCause.TIME : undefined;
      if (cause !== undefined) {
        this.release(st, current, endpoints, now, true);
        return released(current, cause);
      }
      const view = this.heldView(st, current);
      if (view.held.length === 0 && view.heldEndpoints === 0) {
        this.release(st, current, endpoints, now, true);
        return released(current, ReleaseCause.RECOVERED);
      }
      if (!backToBaseline(st, current, endpoints)) {
        st.hold.backSince = undefined;
        return view;
      }
      st.hold.backSince ??= now;
      if (now - st.hold.backSince < cfg.settleMs) return view;
      this.release(st, current, endpoints, now, true);
      return released(current, ReleaseCause.SETTLED);
    }
    const reasons = this.trips(st, cfg, current, endpoints, now);
    if (reasons.length > 0) {
      st.hold = { since: now, reasons, heldServices: 0, heldEndpoints: 0, backSince: undefined };
      st.seeded = false;
      if (backToBaseline(st, current, endpoints)) st.hold.backSince = now;
      return this.heldView(st, current);
    }
    this.release(st, current, endpoints, now, st.seeded);
    return released(current, undefined);
  }

  /**
   * The incremental form of apply() for a pass in which only the services `changed` (keys) may
   * differ from the baseline: the baseline takes their current form, or loses them. Returns
   * false and changes nothing when the pass must go through apply() instead: no baseline yet or
   * a seeded one, a hold, a pass that would trip, or `current` not adding up to the baseline plus
   * `changed` (a change that was never announced).
   */
  applyChanges(registry: string, current: ReadonlyMap<string, Service>, changed: ReadonlySet<string>, now: number): boolean {
    const st = this.registries.get(registry);
    if (st === undefined || st.seeded || st.hold !== undefined || st.releaseRequested) return false;
    let added = 0;
    let deleted = 0;
    let endpoints = st.baselineEndpoints;
    for (const key of changed) {
      const was = st.baseline.get(key);
      const is = current.get(key);
      if (was !== undefined && is === undefined) deleted += 1;
      else if (was === undefined && is !== undefined) added += 1;
      endpoints += (is?.endpoints.length ?? 0) - (was?.endpoints.length ?? 0);
    }
    if (st.baseline.size + added - deleted !== current.size) return false;
    const cfg = this.settings(registry);
    if (exceeds(deleted, st.baseline.size, st.services.peak(now), current.size, cfg.servicePercent)) return false;
    if (exceeds(0, st.baselineEndpoints, st.endpoints.peak(now), endpoints, cfg.endpointPercent)) return false;
    for (const key of changed) {
      const s = current.get(key);
      if (s === undefined) st.baseline.delete(key);
      else st.baseline.set(key, s);
    }
    st.baselineEndpoints = endpoints;
    st.services.push(now, st.baseline.size, cfg.windowMs);
    st.endpoints.push(now, endpoints, cfg.windowMs);
    return true;
  }

  private fresh(registry: string, services: ReadonlyMap<string, Service>, now: number): RegistryGuard {
    const cfg = this.settings(registry);
    const st: RegistryGuard = {
      name: registry,
      baseline: new Map(services),
      baselineEndpoints: countEndpoints(services),
      services: new PeakWindow(),
      endpoints: new PeakWindow(),
      hold: undefined,
      releaseRequested: false,
      seeded: false,
    };
    st.services.push(now, st.baseline.size, cfg.windowMs);
    st.endpoints.push(now, st.baselineEndpoints, cfg.windowMs);
    this.registries.set(registry, st);
    return st;
  }

  private trips(st: RegistryGuard, cfg: ProtectSettings, current: ReadonlyMap<string, Service>, endpoints: number, now: number): HoldReason[] {
    let missing = 0;
    for (const key of st.baseline.keys()) if (!current.has(key)) missing += 1;
    const reasons: HoldReason[] = [];
    if (exceeds(missing, st.baseline.size, st.services.peak(now), current.size, cfg.servicePercent)) reasons.push(HoldReason.SERVICES);
    if (exceeds(0, st.baselineEndpoints, st.endpoints.peak(now), endpoints, cfg.endpointPercent)) reasons.push(HoldReason.ENDPOINTS);
    return reasons;
  }

  /**
   * Makes `current` the baseline. After a hold (or a seeded baseline) the window restarts at the
   * new baseline, so the loss just accepted is not counted a second time.
   */
  private release(st: RegistryGuard, current: ReadonlyMap<string, Service>, endpoints: number, now: number, restartWindow: boolean): void {
    const cfg = this.settings(st.name);
    st.baseline = new Map(current);
    st.baselineEndpoints = endpoints;
    st.hold = undefined;
    st.releaseRequested = false;
    st.seeded = false;
    if (restartWindow) {
      st.services.reset();
      st.endpoints.reset();
    }
    st.services.push(now, current.size, cfg.windowMs);
    st.endpoints.push(now, endpoints, cfg.windowMs);
  }

  /** current plus everything of the baseline that is gone: missing services and endpoints. */
  private heldView(st: RegistryGuard, current: ReadonlyMap<string, Service>): ProtectResult {
    const view: Service[] = [];
    const held: string[] = [];
    let heldEndpoints = 0;
    for (const [key, s] of current) {
      const base = st.baseline.get(key);
      if (base === undefined || base === s) {
        view.push(s);
        continue;
      }
      const m = this.withLostEndpoints(s, base);
      heldEndpoints += m.held;
      view.push(m.view);
    }
    for (const [key, s] of st.baseline) {
      if (current.has(key)) continue;
      view.push(s);
      held.push(key);
      heldEndpoints += s.endpoints.length;
    }
    held.sort();
    const hold = st.hold;
    if (hold !== undefined) {
      hold.heldServices = held.length;
      hold.heldEndpoints = heldEndpoints;
    }
    return { view, held, heldEndpoints, holding: true, released: undefined };
  }

  /** `s` with the endpoints of `base` it lacks added back; cached per (s, base). */
  private withLostEndpoints(s: Service, base: Service): { view: Service; held: number } {
    const cached = this.merged.get(s);
    if (cached !== undefined && cached.base === base) return cached;
    const have = new Set(s.endpoints.map(endpointKey));
    const lost = base.endpoints.filter((e) => !have.has(endpointKey(e)));
    const entry = { base, view: lost.length === 0 ? s : { ...s, endpoints: [...s.endpoints, ...lost] }, held: lost.length };
    this.merged.set(s, entry);
    return entry;
  }
}

function released(current: ReadonlyMap<string, Service>, cause: ReleaseCause | undefined): ProtectResult {
  return { view: [...current.values()], held: [], heldEndpoints: 0, holding: false, released: cause };
}

/**
 * True when the loss is beyond `percent`: `missing` named losses against the baseline, or the
 * net loss from the window's peak (at least the baseline) to `now`.
 */
function exceeds(missing: number, baseline: number, windowPeak: number, now: number, percent: number): boolean {
  if (percent >= 100) return false;
  const ref = Math.max(baseline, windowPeak);
  if (ref === 0) return false;
  const lost = Math.max(missing, ref - now);
  return lost > 0 && lost * 100 > percent * ref;
}

/** The registry has at least the baseline's numbers of services and endpoints (maybe not the same ones). */
function backToBaseline(st: RegistryGuard, current: ReadonlyMap<string, Service>, endpoints: number): boolean {
  return current.size >= st.baseline.size && endpoints >= st.baselineEndpoints;
}

function countEndpoints(services: ReadonlyMap<string, Service>): number {
  let n = 0;
  for (const s of services.values()) n += s.endpoints.length;
  return n;
}
