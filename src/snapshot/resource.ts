/**
 * The Istio resources Meshbridge publishes, in the shape of the Kubernetes objects (the spec is
 * the CRD's camelCase JSON). Produced by conversion, held in snapshots, read by sinks.
 */
export const ResourceKind = {
  ServiceEntry: 'ServiceEntry',
  WorkloadEntry: 'WorkloadEntry',
  /** Opt-in, from consumers (docs/mapping.md#sidecars). */
  Sidecar: 'Sidecar',
  /**
   * A core `v1` Service (selector-less) and its `discovery.k8s.io/v1` EndpointSlices: the
   * Kubernetes Services sink (ADR 0020). Only the Kubernetes sink writes them; MCP cannot carry
   * them to istiod (its MCP config store takes Istio kinds only), so the xDS sink ignores them.
   * An EndpointSlice has no `spec`: its `spec` here holds its top-level fields (addressType,
   * endpoints, ports), which toManifest and the sink's apply body put at the top level.
   */
  Service: 'Service',
  EndpointSlice: 'EndpointSlice',
} as const;
export type ResourceKind = (typeof ResourceKind)[keyof typeof ResourceKind];

export const ISTIO_GROUP = 'networking.istio.io';
export const ISTIO_API_VERSION = 'networking.istio.io/v1';

/** The kinds of networking.istio.io (what MCP serves; the others are core Kubernetes kinds). */
export const ISTIO_KINDS: ReadonlySet<ResourceKind> = new Set([ResourceKind.ServiceEntry, ResourceKind.WorkloadEntry, ResourceKind.Sidecar]);

/** Kinds whose body has no `spec` (the resource's `spec` holds the top-level fields). */
export const SPECLESS_KINDS: ReadonlySet<ResourceKind> = new Set([ResourceKind.EndpointSlice]);

/** The apiVersion of a kind's Kubernetes object. */
export function apiVersionOf(kind: ResourceKind): string {
  if (kind === ResourceKind.Service) return 'v1';
  if (kind === ResourceKind.EndpointSlice) return 'discovery.k8s.io/v1';
  return ISTIO_API_VERSION;
}

/** Labels and annotations Meshbridge puts on every object it owns. */
export const OwnershipLabel = {
  MANAGED_BY: 'app.kubernetes.io/managed-by',
  MANAGED_BY_VALUE: 'meshbridge',
  REGISTRY: 'meshbridge.io/registry',
  /**
   * The deployment that owns the object (config `instance`). Stamped by the Kubernetes sink, not
   * by conversion: it is not part of the content hash.
   */
  INSTANCE: 'meshbridge.io/instance',
  /** WorkloadEntry label (metadata and spec) that its ServiceEntry's workloadSelector matches. */
  SERVICE_ENTRY: 'meshbridge.io/service-entry',
} as const;
export const ContentHashAnnotation = 'meshbridge.io/content-hash';

/** Label naming the Service of an EndpointSlice (Kubernetes'). */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** Label naming the controller that manages an EndpointSlice (Kubernetes'). */
export const SLICE_MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
/**
 * Meshbridge's value of SLICE_MANAGED_BY_LABEL, in the form of Kubernetes' own
 * (`endpointslice-controller.k8s.io`): a label value cannot hold a '/'.
 */
export const MANAGED_BY_CONTROLLER = 'controller.meshbridge.io';

export interface IstioResource {
  readonly kind: ResourceKind;
  readonly namespace: string;
  readonly name: string;
  /** `${kind}/${namespace}/${name}`: unique within a snapshot. */
  readonly key: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly spec: Readonly<Record<string, unknown>>;
  /** Content hash of labels, annotations (minus the hash itself) and spec. */
  readonly version: string;
}

export function resourceKey(kind: ResourceKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}
