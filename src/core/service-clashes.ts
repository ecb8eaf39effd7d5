/**
 * Kubernetes Service names are made from registry service names (convert/kube-services.ts), so
 * two hosts can want one Service in one namespace (the same name in two registries, `Foo_Bar`
 * next to `foo-bar`). Conversion is per host and cannot see that; this pass over everything a
 * flush hands the store resolves it. Pure.
 *
 * Contract: for each Service key wanted by more than one host (told apart by their source
 * annotation), the host whose source sorts first keeps the Service and its EndpointSlices
 * (label kubernetes.io/service-name); the others' Service and EndpointSlices are left out and
 * listed in `clashes`. Without a clash `kept` is the very array given.
 */
import { Annotation } from '../convert/convert.js';
import { ResourceKind, SERVICE_NAME_LABEL, resourceKey, type IstioResource } from '../snapshot/index.js';
import { compareStrings } from '../util/sort.js';

export interface ServiceClash {
  /** `Service/<namespace>/<name>`. */
  readonly service: string;
  /** Source (`registry/namespace/name`) that keeps the Service. */
  readonly kept: string;
  /** Sources left without it, sorted. */
  readonly dropped: readonly string[];
}

function sourceOf(r: IstioResource): string {
  return r.annotations[Annotation.SOURCE] ?? '';
}

export function dropServiceClashes(all: readonly IstioResource[]): { kept: readonly IstioResource[]; clashes: ServiceClash[] } {
  const sources = new Map<string, Set<string>>();
  let clash = false;
  for (const r of all) {
    if (r.kind !== ResourceKind.Service) continue;
    let set = sources.get(r.key);
    if (set === undefined) sources.set(r.key, (set = new Set()));
    set.add(sourceOf(r));
    if (set.size > 1) clash = true;
  }
  if (!clash) return { kept: all, clashes: [] };
  const winner = new Map<string, string>();
  const clashes: ServiceClash[] = [];
  for (const [key, set] of sources) {
    if (set.size < 2) continue;
    const sorted = [...set].sort(compareStrings);
    const kept = sorted[0] ?? '';
    winner.set(key, kept);
    clashes.push({ service: key, kept, dropped: sorted.slice(1) });
  }
  const kept = all.filter((r) => {
    let service: string | undefined;
    if (r.kind === ResourceKind.Service) service = r.key;
    else if (r.kind === ResourceKind.EndpointSlice) service = resourceKey(ResourceKind.Service, r.namespace, r.labels[SERVICE_NAME_LABEL] ?? '');
    const w = service === undefined ? undefined : winner.get(service);
    return w === undefined || w === sourceOf(r);
  });
  clashes.sort((a, b) => compareStrings(a.service, b.service));
  return { kept, clashes };
}
