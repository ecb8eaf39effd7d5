/** API paths of the kinds the Kubernetes sink writes, and which kinds it watches. */
import { ResourceKind, apiVersionOf } from '../../snapshot/index.js';
import type { ObservedObject } from './observed.js';

type Kind = ObservedObject['kind'];

/** The plural resource name of each kind (API paths). */
export const PLURAL: Record<Kind, string> = {
  ServiceEntry: 'serviceentries',
  WorkloadEntry: 'workloadentries',
  Sidecar: 'sidecars',
  Service: 'services',
  EndpointSlice: 'endpointslices',
};

/** The API group/version path of a kind: /apis/networking.istio.io/v1, /api/v1, /apis/discovery.k8s.io/v1. */
export function apiBase(kind: Kind): string {
  const v = apiVersionOf(kind);
  return v === 'v1' ? '/api/v1' : `/apis/${v}`;
}

/** The collection path of a kind, in `namespace` or cluster-wide. */
export function collectionPath(kind: Kind, namespace: string | undefined): string {
  return namespace === undefined ? `${apiBase(kind)}/${PLURAL[kind]}` : `${apiBase(kind)}/namespaces/${namespace}/${PLURAL[kind]}`;
}

/** The API path of one object of its kind. */
export function objectPath(o: { readonly kind: Kind; readonly namespace: string; readonly name: string }): string {
  return `${collectionPath(o.kind, o.namespace)}/${o.name}`;
}

/** The kinds the sink always watches; Sidecars (some registry has `sidecars`) and the Kubernetes Services sink (Service, EndpointSlice) add theirs. */
export const ISTIO_WATCHED: readonly Kind[] = [ResourceKind.ServiceEntry, ResourceKind.WorkloadEntry];
export const SERVICE_KINDS: readonly Kind[] = [ResourceKind.Service, ResourceKind.EndpointSlice];

