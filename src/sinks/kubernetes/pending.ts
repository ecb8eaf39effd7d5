import type { IstioResource, Snapshot } from '../../snapshot/index.js';

/**
 * The writes the Kubernetes sink still owes, by object key, with the time each first became due.
 *
 * Contract:
 * - One entry per object, whatever the number of snapshots that changed it meanwhile: each pass
 *   re-plans from the newest snapshot, so the write that finally runs carries the latest content
 *   (latest wins) and superseded contents are never written.
 * - `plan(keys, now)` replaces the set with one pass's plan: a key still planned keeps its first
 *   time, a new key gets `now`, a key no longer planned is dropped (its object caught up, e.g. a
 *   change and its revert).
 * - `order` sorts a phase's items oldest first (ties keep the plan's order), so under a backlog a
 *   change waits for the changes made before it and not for every later one: the latency of a
 *   change is bounded by the backlog ahead of it divided by the API server's write rate.
 */
export class PendingWrites {
  private readonly since = new Map<string, number>();

  plan(keys: Iterable<string>, now: number): void {
    const next = new Set(keys);
    for (const k of this.since.keys()) if (!next.has(k)) this.since.delete(k);
    for (const k of next) if (!this.since.has(k)) this.since.set(k, now);
  }

  /** A write of `key` succeeded: it is no longer owed (a later plan may owe it again). */
  done(key: string): void {
    this.since.delete(key);
  }

  order<T>(items: readonly T[], keyOf: (t: T) => string): T[] {
    const at = (t: T): number => this.since.get(keyOf(t)) ?? Number.POSITIVE_INFINITY;
    return items
      .map((item, i) => ({ item, i, t: at(item) }))
      .sort((a, b) => a.t - b.t || a.i - b.i)
      .map((x) => x.item);
  }

  get size(): number {
    return this.since.size;
  }

  /** Age in ms of the oldest owed write, 0 when none. */
  oldestAgeMs(now: number): number {
    let oldest = now;
    for (const t of this.since.values()) if (t < oldest) oldest = t;
    return now - oldest;
  }
}

/**
 * The content to write for `planned`, a resource of snapshot `planFrom`, when `current` is the
 * newest snapshot: the newest version when it keeps the plan's checks valid (same hosts,
 * workload selector and labels: clashes and form-switch gates were decided on those), else
 * `planned`; undefined when the newest snapshot no longer holds it (the next pass plans its
 * deletion, through the guard). Pure.
 */
export function newestContent(planned: IstioResource, planFrom: Snapshot, current: Snapshot | undefined): IstioResource | undefined {
  if (current === undefined || current === planFrom) return planned;
  const now = current.kinds.get(planned.kind)?.resources.get(planned.key);
  if (now === undefined) return undefined;
  if (now.version === planned.version) return planned;
  return shapeOf(now) === shapeOf(planned) ? now : planned;
}

function shapeOf(r: IstioResource): string {
  return JSON.stringify([r.spec['hosts'], r.spec['workloadSelector'], r.spec['labels'], r.labels]);
}
