import { serviceKey, type Service } from '../model/index.js';

/**
 * The protect threshold: holds back deletions when a registry loses too many services at once
 * (a registry that blinked and answered an empty or partial list).
 *
 * Contract: `apply(registry, current)` returns the view to publish. When the services missing
 * from `current`, compared with the last view released for this registry, exceed
 * `maxDeletePercent` of that view, the missing services stay in the returned view (held) and
 * `held` is reported; the released view does not move, so a recovery is seen as no change and
 * a later legitimate deletion of a smaller share goes through. Additions and changes always go
 * through.
 */
export interface ProtectResult {
  readonly view: readonly Service[];
  /** Keys of services whose deletion is being held back, sorted (empty when nothing is held). */
  readonly held: readonly string[];
  /** Services in the last released view, for the report. */
  readonly previous: number;
}

export class ProtectGuard {
  private readonly released = new Map<string, Map<string, Service>>();
  private readonly maxDeletePercent: (registry: string) => number;

  constructor(maxDeletePercent: (registry: string) => number) {
    this.maxDeletePercent = maxDeletePercent;
  }

  apply(registry: string, current: ReadonlyMap<string, Service>): ProtectResult {
    const prev = this.released.get(registry);
    if (prev === undefined || prev.size === 0) {
      this.released.set(registry, new Map(current));
      return { view: [...current.values()], held: [], previous: prev?.size ?? 0 };
    }
    const missing: Service[] = [];
    for (const [key, s] of prev) if (!current.has(key)) missing.push(s);
    const pct = this.maxDeletePercent(registry);
    if (missing.length > 0 && (missing.length / prev.size) * 100 > pct) {
      // Hold: publish current plus the missing services, as last released.
      const view = [...current.values(), ...missing];
      // Changes and additions are released; the held services keep their last released form.
      const next = new Map(current);
      for (const s of missing) next.set(serviceKey(s), s);
      this.released.set(registry, next);
      return { view, held: missing.map(serviceKey).sort(), previous: prev.size };
    }
    this.released.set(registry, new Map(current));
    return { view: [...current.values()], held: [], previous: prev.size };
  }

  /**
   * The incremental form of apply() for a pass in which only the services `changed` (keys) may
   * differ from the last released view: the released view takes their current form, or loses
   * them. Returns false and changes nothing when the pass must go through apply() instead:
   * nothing was released yet, the deletions would be held, or `current` does not add up to the
   * released view plus `changed` (a change that was never announced).
   */
  applyChanges(registry: string, current: ReadonlyMap<string, Service>, changed: ReadonlySet<string>): boolean {
    const prev = this.released.get(registry);
    if (prev === undefined || prev.size === 0) return false;
    let added = 0;
    let deleted = 0;
    for (const key of changed) {
      const was = prev.has(key);
      const is = current.has(key);
      if (was && !is) deleted += 1;
      else if (!was && is) added += 1;
    }
    if (prev.size + added - deleted !== current.size) return false;
    if (deleted > 0 && (deleted / prev.size) * 100 > this.maxDeletePercent(registry)) return false;
    for (const key of changed) {
      const s = current.get(key);
      if (s === undefined) prev.delete(key);
      else prev.set(key, s);
    }
    return true;
  }
}
