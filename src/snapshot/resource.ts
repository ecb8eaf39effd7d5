/**
 * The Istio resources Meshbridge publishes, in the shape of the Kubernetes objects (the spec is
 * the CRD's camelCase JSON). Produced by conversion, held in snapshots, read by sinks.
 */
export const ResourceKind = {
  ServiceEntry: 'ServiceEntry',
  WorkloadEntry: 'WorkloadEntry',
  /** Opt-in, from consumers (docs/mapping.md#sidecars). */
  Sidecar: 'Sidecar',
} as const;
export type ResourceKind = (typeof ResourceKind)[keyof typeof ResourceKind];

export const ISTIO_GROUP = 'networking.istio.io';
export const ISTIO_API_VERSION = 'networking.istio.io/v1';

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
