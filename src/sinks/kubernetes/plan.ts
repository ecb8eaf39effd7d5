import { OwnershipLabel, SERVICE_NAME_LABEL, type IstioResource } from '../../snapshot/index.js';
import type { ObservedObject } from './observed.js';
import { isOwned, ownershipOf, type OwnerIdentity } from './ownership.js';

export { isOwned } from './ownership.js';

export interface PlanInput {
  /** Every resource of the current snapshot. */
  readonly desired: readonly IstioResource[];
  /** Every ServiceEntry and WorkloadEntry seen in the watched namespaces, owned or not. */
  readonly observed: ReadonlyMap<string, ObservedObject>;
  /** This deployment's identity (config `instance`): objects labelled with another are not ours. */
  readonly instance: string;
  /** Registry names in today's config (legacy adoption, and the guard's grouping). */
  readonly registries: ReadonlySet<string>;
  /** Generation the API server returned for our last write of each key (drift detection). */
  readonly written: ReadonlyMap<string, number>;
  /** Refuse to delete more than this share of a registry's owned objects of a kind in one pass. */
  readonly maxDeletePercent: number;
  /**
   * `desired` holds only the resources added or replaced since a pass that left nothing to do,
   * and nothing was removed since (sink.ts decides when): the plan writes what of them differs
   * and removes nothing. Absent: `desired` is the whole desired state.
   */
  readonly changesOnly?: boolean;
}

export interface HostClash {
  readonly host: string;
  /** Our resource that was not written. */
  readonly resource: string;
  /** The unowned object that claims the host (or the name). */
  readonly claimedBy: string;
}

export interface HeldDeletion {
  /** Registry label of the objects (possibly one no longer configured). */
  readonly registry: string;
  readonly kind: ObservedObject['kind'];
  readonly wouldDelete: number;
  /** What `wouldDelete` was weighed against (see plan's contract). */
  readonly owned: number;
}

export interface Plan {
  readonly apply: readonly IstioResource[];
  readonly remove: readonly ObservedObject[];
  readonly clashes: readonly HostClash[];
  readonly held: readonly HeldDeletion[];
  /** The owned objects not desired whose deletion `held` keeps back this pass, sorted by key. */
  readonly kept: readonly ObservedObject[];
  /** Desired WorkloadEntries not written because the ServiceEntry selecting them clashes. */
  readonly skipped: readonly string[];
  /** Desired resources already up to date. */
  readonly unchanged: number;
}

/**
 * Decides what to write and delete. Pure.
 *
 * Contract:
 * - Ownership is by instance (ownership.ts): ours, or legacy (no instance label, a configured
 *   registry) to adopt. Anything else is never in `apply` or `remove`.
 * - A desired object is applied when the cluster lacks it, its content hash differs, someone
 *   else changed it since our last write (generation moved past what we wrote), or it lacks our
 *   instance label (adoption of a legacy object).
 * - A desired object whose name is taken by an unowned object, or whose host an unowned
 *   ServiceEntry claims, is skipped (with its WorkloadEntries) and reported in `clashes`; if we
 *   had written it earlier it stays.
 * - Kubernetes Services (ADR 0020): a desired Service whose name an unowned object holds is
 *   skipped with its EndpointSlices (label kubernetes.io/service-name) and reported in `clashes`
 *   (host `<name>.<namespace>.svc`). The guard weighs Services like ServiceEntries; EndpointSlice
 *   deletions are never weighed (they are re-cut as endpoints change).
 * - Owned objects not desired are removed: also those of registries no longer configured and
 *   those in namespaces no longer targeted (when the sink sees them). Guard, per registry label
 *   and kind: if the deletions exceed `maxDeletePercent` of that registry's owned objects of the
 *   kind, none of that registry's deletions (of either kind) happen this pass and each kind over
 *   the line is reported in `held`. A registry no longer configured is weighed against all owned
 *   objects of the kind (a removed registry is 100% of itself; against the whole instance, a
 *   rename passes once its new objects exist). A WorkloadEntry deletion counts only when the
 *   ServiceEntry selecting it stays desired in WorkloadEntry form (endpoint loss): those of a
 *   ServiceEntry being deleted go with it (that deletion counts), those of one switching to
 *   inline are listed inline, and those no ServiceEntry selects carry no traffic. Sidecar
 *   deletions never trip the guard (a Sidecar gone only widens what proxies see; the pipeline's
 *   guard holds the services it lists), but wait with the rest when the registry is held.
 * - `kept` lists the objects of the held registries (every deletion `held` stops), `skipped` the
 *   WorkloadEntries left out with their clashing ServiceEntry: what `meshbridge diff` lists.
 */
export function plan(input: PlanInput): Plan {
  const id: OwnerIdentity = { instance: input.instance, registries: input.registries };
  const { clashes, skipped, skippedSelectors } = findClashes(input, id);
  const { apply, unchanged, desiredKeys, skippedWith } = planApply(input, id, clashes, skipped, skippedSelectors);
  const { remove, held, kept } = input.changesOnly === true ? { remove: [], held: [], kept: [] } : planRemove(input, id, desiredKeys);
  return { apply, remove, clashes, held, kept, skipped: skippedWith, unchanged };
}

/** The kinds the deletion guard weighs (EndpointSlices are not: see planRemove). */
const GUARDED_KINDS: readonly ObservedObject['kind'][] = ['ServiceEntry', 'WorkloadEntry', 'Service'];

interface Selector {
  readonly namespace: string;
  readonly labels: Record<string, string>;
  /** Matches metadata labels of EndpointSlices (else spec labels of WorkloadEntries). */
  readonly metadata?: boolean;
}

function findClashes(input: PlanInput, id: OwnerIdentity): { clashes: HostClash[]; skipped: Set<string>; skippedSelectors: Selector[] } {
  const { observed } = input;
  const unownedHosts = new Map<string, string>();
  for (const o of observed.values()) {
    if (o.kind !== 'ServiceEntry' || isOwned(o, id)) continue;
    for (const h of o.hosts) if (!unownedHosts.has(h)) unownedHosts.set(h, o.key);
  }
  const clashes: HostClash[] = [];
  const skipped = new Set<string>();
  // Selectors of skipped ServiceEntries: their WorkloadEntries are skipped too.
  const skippedSelectors: Selector[] = [];
  for (const r of input.desired) {
    if (r.kind === 'Service') {
      // A Service whose name a foreign Service holds: its EndpointSlices would feed that Service.
      const other = observed.get(r.key);
      if (other !== undefined && !isOwned(other, id)) {
        skipped.add(r.key);
        clashes.push({ host: `${r.name}.${r.namespace}.svc`, resource: r.key, claimedBy: other.key });
        skippedSelectors.push({ namespace: r.namespace, labels: { [SERVICE_NAME_LABEL]: r.name }, metadata: true });
      }
      continue;
    }
    if (r.kind !== 'ServiceEntry') continue;
    const hosts = Array.isArray(r.spec['hosts']) ? (r.spec['hosts'] as string[]) : [];
    const byName = observed.get(r.key);
    let claimedBy = byName !== undefined && !isOwned(byName, id) ? byName.key : undefined;
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
    const sel = selectorOf(r);
    if (sel !== undefined) skippedSelectors.push({ namespace: r.namespace, labels: sel });
  }
  return { clashes, skipped, skippedSelectors };
}

function planApply(
  input: PlanInput,
  id: OwnerIdentity,
  clashes: HostClash[],
  skipped: Set<string>,
  skippedSelectors: readonly Selector[],
): { apply: IstioResource[]; unchanged: number; desiredKeys: Set<string>; skippedWith: string[] } {
  const apply: IstioResource[] = [];
  const desiredKeys = new Set<string>();
  const skippedWith: string[] = [];
  let unchanged = 0;
  for (const r of input.desired) {
    desiredKeys.add(r.key);
    if (skipped.has(r.key)) continue;
    if ((r.kind === 'WorkloadEntry' || r.kind === 'EndpointSlice') && selectedBy(r, skippedSelectors)) {
      skippedWith.push(r.key);
      continue;
    }
    const o = input.observed.get(r.key);
    const who = o === undefined ? undefined : ownershipOf(o, id);
    if (o !== undefined && who === 'foreign') {
      clashes.push({ host: '', resource: r.key, claimedBy: o.key });
      continue;
    }
    if (o !== undefined && who === 'ours' && o.contentHash === r.version) {
      const wrote = input.written.get(r.key);
      if (wrote === undefined || o.generation <= wrote) {
        unchanged++;
        continue;
      }
    }
    apply.push(r);
  }
  return { apply, unchanged, desiredKeys, skippedWith };
}

function planRemove(input: PlanInput, id: OwnerIdentity, desiredKeys: ReadonlySet<string>): { remove: ObservedObject[]; held: HeldDeletion[]; kept: ObservedObject[] } {
  const staying = selectorServiceEntries(input);
  const selecting = selectorIndex(input.observed);
  const candidates = new Map<string, ObservedObject[]>();
  const owned = new Map<string, number>();
  const ownedOfKind = new Map<ObservedObject['kind'], number>();
  const counted = new Map<string, number>();
  for (const o of input.observed.values()) {
    if (!isOwned(o, id)) continue;
    const reg = o.labels[OwnershipLabel.REGISTRY] ?? '';
    owned.set(`${reg}|${o.kind}`, (owned.get(`${reg}|${o.kind}`) ?? 0) + 1);
    ownedOfKind.set(o.kind, (ownedOfKind.get(o.kind) ?? 0) + 1);
    if (desiredKeys.has(o.key)) continue;
    let list = candidates.get(reg);
    if (list === undefined) candidates.set(reg, (list = []));
    list.push(o);
    // A WorkloadEntry counts only when the ServiceEntry selecting it stays in WorkloadEntry form.
    if (o.kind === 'WorkloadEntry' && !staying.has(selectingSe(o, selecting) ?? '')) continue;
    // EndpointSlices never count: they are re-cut as endpoints change (the pipeline's endpoint
    // guard weighs endpoint loss); their Service counts like a ServiceEntry.
    if (o.kind === 'EndpointSlice') continue;
    counted.set(`${reg}|${o.kind}`, (counted.get(`${reg}|${o.kind}`) ?? 0) + 1);
  }
  const remove: ObservedObject[] = [];
  const held: HeldDeletion[] = [];
  const kept: ObservedObject[] = [];
  for (const [registry, list] of candidates) {
    const over: HeldDeletion[] = [];
    for (const kind of GUARDED_KINDS) {
      const wouldDelete = counted.get(`${registry}|${kind}`) ?? 0;
      const base = input.registries.has(registry) ? (owned.get(`${registry}|${kind}`) ?? 0) : (ownedOfKind.get(kind) ?? 0);
      if (wouldDelete > 0 && wouldDelete * 100 > input.maxDeletePercent * base) over.push({ registry, kind, wouldDelete, owned: base });
    }
    if (over.length > 0) {
      held.push(...over);
      kept.push(...list);
    } else remove.push(...list);
  }
  remove.sort((a, b) => (a.key < b.key ? -1 : 1));
  kept.sort((a, b) => (a.key < b.key ? -1 : 1));
  return { remove, held, kept };
}

/** Keys of the desired ServiceEntries in WorkloadEntry form (with a workloadSelector). */
function selectorServiceEntries(input: PlanInput): Set<string> {
  const out = new Set<string>();
  for (const r of input.desired) if (r.kind === 'ServiceEntry' && selectorOf(r) !== undefined) out.add(r.key);
  return out;
}

/**
 * Observed ServiceEntries in WorkloadEntry form by `namespace|selector label value`: which one a
 * WorkloadEntry is selected by (Meshbridge's selector label, same namespace).
 */
export function selectorIndex(observed: ReadonlyMap<string, ObservedObject>): Map<string, string> {
  const out = new Map<string, string>();
  for (const o of observed.values()) {
    const v = o.kind === 'ServiceEntry' ? o.selector?.[OwnershipLabel.SERVICE_ENTRY] : undefined;
    if (v !== undefined) out.set(`${o.namespace}|${v}`, o.key);
  }
  return out;
}

/** The key of the observed ServiceEntry that selects WorkloadEntry `we` (see selectorIndex). */
export function selectingSe(we: Pick<ObservedObject, 'namespace' | 'labels'>, index: ReadonlyMap<string, string>): string | undefined {
  const v = we.labels[OwnershipLabel.SERVICE_ENTRY];
  return v === undefined ? undefined : index.get(`${we.namespace}|${v}`);
}

export function selectorOf(r: IstioResource): Record<string, string> | undefined {
  return (r.spec['workloadSelector'] as { labels?: Record<string, string> } | undefined)?.labels;
}

function selectedBy(r: IstioResource, selectors: readonly Selector[]): boolean {
  const slice = r.kind === 'EndpointSlice';
  const labels = slice ? r.labels : ((r.spec['labels'] as Record<string, string> | undefined) ?? {});
  return selectors.some((s) => (s.metadata === true) === slice && s.namespace === r.namespace && Object.entries(s.labels).every(([k, v]) => labels[k] === v));
}
