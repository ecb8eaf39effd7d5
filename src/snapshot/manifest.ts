import { SPECLESS_KINDS, apiVersionOf, type IstioResource } from './resource.js';

/** A resource as the complete Kubernetes object `kubectl apply -f` takes. */
export interface IstioManifest {
  /** networking.istio.io/v1, or v1 / discovery.k8s.io/v1 for the core kinds (apiVersionOf). */
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations: Readonly<Record<string, string>>;
  };
  readonly spec: Readonly<Record<string, unknown>>;
}

/** Any kind's Kubernetes object: an EndpointSlice has its fields at the top level, no spec. */
export type KubeObject = Omit<IstioManifest, 'spec'> & { readonly spec?: Readonly<Record<string, unknown>>; readonly [field: string]: unknown };

/** A copy with sorted keys, so equal content renders to equal text. */
function sortedRecord(r: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(r).sort()) {
    const v = r[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * The Kubernetes object of a resource (apiVersionOf its kind), labels and annotations with
 * sorted keys (see toObject for an EndpointSlice). Pure. The one definition the renderer, the golden tests and the CRD schema test share.
 */
export function toManifest(r: IstioResource): IstioManifest {
  const metadata = { name: r.name, namespace: r.namespace, labels: sortedRecord(r.labels), annotations: sortedRecord(r.annotations) };
  return { apiVersion: apiVersionOf(r.kind), kind: r.kind, metadata, spec: r.spec };
}

/** toManifest, with an EndpointSlice's fields at the top level (what `kubectl apply -f` takes for every kind). */
export function toObject(r: IstioResource): KubeObject {
  const m = toManifest(r);
  if (!SPECLESS_KINDS.has(r.kind)) return { ...m };
  const { spec, ...rest } = m;
  return { ...rest, ...spec };
}
