import { OwnershipLabel, type IstioResource } from '../../snapshot/index.js';
import type { ObservedObject } from './observed.js';

export interface PlanInput {
  /** Every resource of the current snapshot. */
  readonly desired: readonly IstioResource[];
  /** Every ServiceEntry and WorkloadEntry seen in the watched namespaces, owned or not. */
  readonly observed: ReadonlyMap<string, ObservedObject>;
  /** Registry names this Meshbridge serves: objects labelled with another registry are not ours. */
  readonly registries: ReadonlySet<string>;
  /** Generation the API server returned for our last write of each key (drift detection). */
  readonly written: ReadonlyMap<string, number>;
  /** Refuse to delete more than this share of a registry's ServiceEntries in one pass. */
  readonly maxDeletePercent: number;
}

export interface HostClash {
  readonly host: string;
  /** Our resource that was not written. */
  readonly resource: string;
  /** The unowned object that claims the host (or the name). */
  readonly claimedBy: string;
}

export interface HeldDeletion {
  readonly registry: string;
  readonly wouldDelete: number;
  readonly owned: number;
}

export interface Plan {
  readonly apply: readonly IstioResource[];
  readonly remove: readonly ObservedObject[];
  readonly clashes: readonly HostClash[];
  readonly held: readonly HeldDeletion[];
  /** Desired resources already up to date. */
  readonly unchanged: number;
}

/** An object is ours when it carries the managed-by label AND one of our registries' labels. */
export function isOwned(o: Pick<ObservedObject, 'labels'>, registries: ReadonlySet<string>): boolean {
  const reg = o.labels[OwnershipLabel.REGISTRY];
  return o.labels[OwnershipLabel.MANAGED_BY] === OwnershipLabel.MANAGED_BY_VALUE && reg !== undefined && registries.has(reg);
}

/**
 * Decides what to write and delete. Pure.
 *
 * Contract:
 * - A desired object is applied only when the cluster lacks it, its content hash differs, or
 *   someone else changed it since our last write (generation moved past what we wrote).
 * - Objects we do not own are never in `remove` and never overwritten: a desired object whose
 *   name is taken by an unowned object, or whose host an unowned ServiceEntry claims, is skipped
 *   (with its WorkloadEntries) and reported in `clashes`; if we had written it earlier it stays.
 * - Owned objects not desired are removed, unless that would delete more than
 *   `maxDeletePercent` of a registry's owned ServiceEntries in one pass: then none of that
 *   registry's deletions happen and the registry is reported in `held`.
 */
export function plan(input: PlanInput): Plan {
  const { clashes, skipped, skippedSelectors } = findClashes(input);
  const { apply, unchanged, desiredKeys } = planApply(input, clashes, skipped, skippedSelectors);
  const { remove, held } = planRemove(input, desiredKeys);
  return { apply, remove, clashes, held, unchanged };
}

interface Selector {
  readonly namespace: string;
  readonly labels: Record<string, string>;
}

function findClashes(input: PlanInput): { clashes: HostClash[]; skipped: Set<string>; skippedSelectors: Selector[] } {
  const { observed, registries } = input;
  const unownedHosts = new Map<string, string>();
  for (const o of observed.values()) {
    if (o.kind !== 'ServiceEntry' || isOwned(o, registries)) continue;
    for (const h of o.hosts) if (!unownedHosts.has(h)) unownedHosts.set(h, o.key);
  }
  const clashes: HostClash[] = [];
  const skipped = new Set<string>();
  // Selectors of skipped ServiceEntries: their WorkloadEntries are skipped too.
  const skippedSelectors: Selector[] = [];
  for (const r of input.desired) {
    if (r.kind !== 'ServiceEntry') continue;
    const hosts = Array.isArray(r.spec['hosts']) ? (r.spec['hosts'] as string[]) : [];
    const byName = observed.get(r.key);
    let claimedBy = byName !== undefined && !isOwned(byName, registries) ? byName.key : undefined;
    let host = hosts[0] ?? '';
    for (const h of hosts) {
      const other = unownedHosts.get(h);
      if (other !== undefined && claimedBy === undefined) {
        claimedBy = other;
        host = h;
      }
    }
    if (claimedBy === undefined) continue;
    skipped.add(r.key);
    clashes.push({ host, resource: r.key, claimedBy });
    const sel = (r.spec['workloadSelector'] as { labels?: Record<string, string> } | undefined)?.labels;
    if (sel !== undefined) skippedSelectors.push({ namespace: r.namespace, labels: sel });
  }
  return { clashes, skipped, skippedSelectors };
}

function planApply(
  input: PlanInput,
  clashes: HostClash[],
  skipped: Set<string>,
  skippedSelectors: readonly Selector[],
): { apply: IstioResource[]; unchanged: number; desiredKeys: Set<string> } {
  const apply: IstioResource[] = [];
  const desiredKeys = new Set<string>();
  let unchanged = 0;
  for (const r of input.desired) {
    desiredKeys.add(r.key);
    if (skipped.has(r.key)) continue;
    if (r.kind === 'WorkloadEntry' && selectedBy(r, skippedSelectors)) continue;
    const o = input.observed.get(r.key);
    if (o !== undefined && !isOwned(o, input.registries)) {
      clashes.push({ host: '', resource: r.key, claimedBy: o.key });
      continue;
    }
    if (o !== undefined && o.contentHash === r.version) {
      const wrote = input.written.get(r.key);
      if (wrote === undefined || o.generation <= wrote) {
        unchanged++;
        continue;
      }
    }
    apply.push(r);
  }
  return { apply, unchanged, desiredKeys };
}

function planRemove(input: PlanInput, desiredKeys: ReadonlySet<string>): { remove: ObservedObject[]; held: HeldDeletion[] } {
  const candidates = new Map<string, ObservedObject[]>();
  const ownedSe = new Map<string, number>();
  for (const o of input.observed.values()) {
    if (!isOwned(o, input.registries)) continue;
    const reg = o.labels[OwnershipLabel.REGISTRY] ?? '';
    if (o.kind === 'ServiceEntry') ownedSe.set(reg, (ownedSe.get(reg) ?? 0) + 1);
    if (desiredKeys.has(o.key)) continue;
    let list = candidates.get(reg);
    if (list === undefined) candidates.set(reg, (list = []));
    list.push(o);
  }
  const remove: ObservedObject[] = [];
  const held: HeldDeletion[] = [];
  for (const [registry, list] of candidates) {
    const owned = ownedSe.get(registry) ?? 0;
    const wouldDelete = list.filter((o) => o.kind === 'ServiceEntry').length;
    if (wouldDelete > 0 && wouldDelete * 100 > input.maxDeletePercent * owned) {
      held.push({ registry, wouldDelete, owned });
      continue;
    }
    remove.push(...list);
  }
  remove.sort((a, b) => (a.key < b.key ? -1 : 1));
  return { remove, held };
}

function selectedBy(r: IstioResource, selectors: readonly Selector[]): boolean {
  const labels = (r.spec['labels'] as Record<string, string> | undefined) ?? {};
  return selectors.some((s) => s.namespace === r.namespace && Object.entries(s.labels).every(([k, v]) => labels[k] === v));
}
