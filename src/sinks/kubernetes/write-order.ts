import { OwnershipLabel, type IstioResource } from '../../snapshot/index.js';
import type { ObservedObject } from './observed.js';
import { selectingSe, selectorIndex, selectorOf, type Plan } from './plan.js';

/** The kinds applied and deleted in the ServiceEntry phases (2 and 3). */
const ENTRY_PHASE: ReadonlySet<string> = new Set(['ServiceEntry', 'Sidecar']);

/** A write that may only run once every key in `after` was written successfully this pass. */
export interface Gated<T> {
  readonly item: T;
  /** Keys of resources whose apply must have succeeded first; empty: no condition. */
  readonly after: readonly string[];
}

/** A plan's writes in the order the sink runs them, each phase finished before the next. */
export interface WritePhases {
  /** 1: every WorkloadEntry to apply. */
  readonly applyWorkloadEntries: readonly IstioResource[];
  /**
   * 2: every ServiceEntry (and Sidecar) to apply; a ServiceEntry switching to WorkloadEntry form
   * waits for its WorkloadEntries.
   */
  readonly applyServiceEntries: readonly Gated<IstioResource>[];
  /** 3: ServiceEntries (and Sidecars) to delete. */
  readonly removeServiceEntries: readonly ObservedObject[];
  /** 4: WorkloadEntries to delete; one whose ServiceEntry switches to inline form waits for it. */
  readonly removeWorkloadEntries: readonly Gated<ObservedObject>[];
  /** 5: Kubernetes Services to apply, then 6: their EndpointSlices (ADR 0020). */
  readonly applyServices: readonly IstioResource[];
  readonly applyEndpointSlices: readonly IstioResource[];
  /** 7: Kubernetes Services to delete, then 8: EndpointSlices (a slice without its Service is inert). */
  readonly removeServices: readonly ObservedObject[];
  readonly removeEndpointSlices: readonly ObservedObject[];
}

/**
 * Orders a plan so that no form switch leaves a gap. Pure.
 *
 * Contract (why this order is safe in Istio): istiod binds a WorkloadEntry to a ServiceEntry only
 * through that ServiceEntry's workloadSelector, in the same namespace. A WorkloadEntry that no
 * ServiceEntry selects therefore carries no ServiceEntry traffic, so it may exist early and go
 * late; a ServiceEntry that lists endpoints inline ignores WorkloadEntries.
 * - WorkloadEntries are applied before ServiceEntries, ServiceEntries are deleted before
 *   WorkloadEntries.
 * - A ServiceEntry seen inline in the cluster and desired in WorkloadEntry form is applied only
 *   after every desired WorkloadEntry it selects is in the cluster: each is either up to date
 *   already or in `after` (its apply must succeed this pass; one that cannot be applied at all,
 *   e.g. its name is taken, keeps the ServiceEntry inline). Otherwise the old form stays.
 * - Kubernetes Services (ADR 0020) after the Istio kinds: a Service before its EndpointSlices
 *   on apply and on delete (istiod reads slices only for a Service it knows).
 * - A WorkloadEntry selected (in the cluster) by a ServiceEntry that is desired inline and is
 *   being applied is deleted only after that apply succeeded.
 */
export function writePhases(p: Plan, desired: readonly IstioResource[], observed: ReadonlyMap<string, ObservedObject>): WritePhases {
  const applyKeys = new Set(p.apply.map((r) => r.key));
  const clashed = new Set(p.clashes.map((c) => c.resource));
  const applyWorkloadEntries = p.apply.filter((r) => r.kind === 'WorkloadEntry');

  // Desired WorkloadEntries by `namespace|selector value`, for ServiceEntries switching to WE form.
  const switching = new Map<string, IstioResource>();
  for (const r of p.apply) {
    if (r.kind !== 'ServiceEntry') continue;
    const before = observed.get(r.key);
    const v = selectorOf(r)?.[OwnershipLabel.SERVICE_ENTRY];
    if (before !== undefined && before.selector === undefined && v !== undefined) switching.set(`${r.namespace}|${v}`, r);
  }
  const waits = new Map<string, string[]>();
  if (switching.size > 0) {
    for (const r of desired) {
      if (r.kind !== 'WorkloadEntry') continue;
      const se = switching.get(`${r.namespace}|${r.labels[OwnershipLabel.SERVICE_ENTRY] ?? ''}`);
      if (se === undefined) continue;
      // Not applied and not skipped as a clash: the plan found it up to date in the cluster.
      if (!applyKeys.has(r.key) && !clashed.has(r.key)) continue;
      let list = waits.get(se.key);
      if (list === undefined) waits.set(se.key, (list = []));
      list.push(r.key);
    }
  }
  const applyServiceEntries = p.apply.filter((r) => ENTRY_PHASE.has(r.kind)).map((r) => ({ item: r, after: waits.get(r.key) ?? [] }));

  const goingInline = new Set<string>();
  for (const r of p.apply) if (r.kind === 'ServiceEntry' && selectorOf(r) === undefined && observed.get(r.key)?.selector !== undefined) goingInline.add(r.key);
  const index = selectorIndex(observed);
  const removeServiceEntries = p.remove.filter((o) => ENTRY_PHASE.has(o.kind));
  const removeWorkloadEntries = p.remove
    .filter((o) => o.kind === 'WorkloadEntry')
    .map((o) => {
      const se = selectingSe(o, index);
      return { item: o, after: se !== undefined && goingInline.has(se) ? [se] : [] };
    });
  return {
    applyWorkloadEntries,
    applyServiceEntries,
    removeServiceEntries,
    removeWorkloadEntries,
    applyServices: p.apply.filter((r) => r.kind === 'Service'),
    applyEndpointSlices: p.apply.filter((r) => r.kind === 'EndpointSlice'),
    removeServices: p.remove.filter((o) => o.kind === 'Service'),
    removeEndpointSlices: p.remove.filter((o) => o.kind === 'EndpointSlice'),
  };
}
