import { ISTIO_API_VERSION, type IstioResource } from '../snapshot/index.js';

/** A resource as the Kubernetes object a user would `kubectl apply`. */
export interface IstioManifest {
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

/** The Kubernetes object of a converted resource (`networking.istio.io/v1`). Pure. */
export function toManifest(r: IstioResource): IstioManifest {
  return {
    apiVersion: ISTIO_API_VERSION,
    kind: r.kind,
    metadata: { name: r.name, namespace: r.namespace, labels: r.labels, annotations: r.annotations },
    spec: r.spec,
  };
}
