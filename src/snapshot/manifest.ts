import { ISTIO_API_VERSION, type IstioResource } from './resource.js';

/** A resource as the complete Kubernetes object `kubectl apply -f` takes. */
export interface IstioManifest {
  readonly apiVersion: typeof ISTIO_API_VERSION;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations: Readonly<Record<string, string>>;
  };
  readonly spec: Readonly<Record<string, unknown>>;
}

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
 * The Kubernetes object of a resource (`networking.istio.io/v1`), labels and annotations with
 * sorted keys. Pure. The one definition the renderer, the golden tests and the CRD schema test share.
 */
export function toManifest(r: IstioResource): IstioManifest {
  return {
    apiVersion: ISTIO_API_VERSION,
    kind: r.kind,
    metadata: { name: r.name, namespace: r.namespace, labels: sortedRecord(r.labels), annotations: sortedRecord(r.annotations) },
    spec: r.spec,
  };
}
