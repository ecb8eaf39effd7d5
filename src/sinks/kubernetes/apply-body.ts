import { OwnershipLabel, SPECLESS_KINDS, apiVersionOf, type IstioResource } from '../../snapshot/index.js';

/** The configuration the sink sends by server-side apply for one resource (see applyBody). */
export interface ApplyBody {
  /** networking.istio.io/v1, or v1 / discovery.k8s.io/v1 for the core kinds (apiVersionOf). */
  readonly apiVersion: string;
  readonly kind: IstioResource['kind'];
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels: Record<string, string>;
    readonly annotations: Readonly<Record<string, string>>;
  };
  /** Absent for an EndpointSlice: its fields (addressType, endpoints, ports) are top-level. */
  readonly spec?: Readonly<Record<string, unknown>>;
  readonly [field: string]: unknown;
}

/**
 * The server-side-apply body of `r` as instance `instance` writes it: the resource's labels plus
 * our instance label, its annotations (the content hash among them) and its spec (for an
 * EndpointSlice its fields at the top level). Pure. Every field in it is owned by our field
 * manager after the apply; nothing else is (the object writer sends exactly this, `meshbridge
 * diff` compares against exactly this).
 */
export function applyBody(r: IstioResource, instance: string): ApplyBody {
  const metadata = { name: r.name, namespace: r.namespace, labels: { ...r.labels, [OwnershipLabel.INSTANCE]: instance }, annotations: r.annotations };
  if (SPECLESS_KINDS.has(r.kind)) return { apiVersion: apiVersionOf(r.kind), kind: r.kind, metadata, ...r.spec };
  return { apiVersion: apiVersionOf(r.kind), kind: r.kind, metadata, spec: r.spec };
}
