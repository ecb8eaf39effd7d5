/**
 * The envoy.config.core.v3.Node a sidecar (pilot-agent + Envoy) presents to istiod. pilot-agent
 * copies every ISTIO_META_<KEY> environment variable into metadata as <KEY> (no prefix): istiod's
 * NodeMetadata (pkg/model/context.go) reads DNS_CAPTURE and DNS_AUTO_ALLOCATE, not
 * ISTIO_META_DNS_CAPTURE.
 */

export interface SidecarIdentity {
  /** The pod's IP (node id, INSTANCE_IPS). */
  readonly ip: string;
  readonly pod: string;
  readonly namespace: string;
  /** Pod labels (LABELS); default {app: <pod>}. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Default 'default'. */
  readonly serviceAccount?: string;
  /** ISTIO_VERSION; default '1.31.0' (istiod gates features on it). */
  readonly istioVersion?: string;
  /** CLUSTER_ID; default 'Kubernetes' (what test-support/peers/peers.mjs starts istiod with). */
  readonly clusterId?: string;
  /** ISTIO_META_DNS_CAPTURE=true: istiod may give ServiceEntries without addresses a VIP. */
  readonly dnsCapture?: boolean;
  /** ISTIO_META_DNS_AUTO_ALLOCATE=true (only with dnsCapture). */
  readonly dnsAutoAllocate?: boolean;
  /** More metadata (string values), e.g. {MESH_ID: 'cluster.local'}; wins over the defaults. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * google.protobuf.Value / Struct in proto-loader's object form: protobufjs's bundled
 * google/protobuf/struct descriptor has camelCase field names, whatever keepCase says.
 */
type StructValue = { readonly stringValue: string } | { readonly structValue: Struct };
interface Struct {
  readonly fields: Readonly<Record<string, StructValue>>;
}

export interface NodeMessage {
  readonly id: string;
  readonly cluster: string;
  readonly metadata: Struct;
  readonly user_agent_name: string;
}

/** `sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`, the id pilot-agent builds. */
export function sidecarNodeId(id: Pick<SidecarIdentity, 'ip' | 'pod' | 'namespace'>): string {
  return `sidecar~${id.ip}~${id.pod}.${id.namespace}~${id.namespace}.svc.cluster.local`;
}

/** The metadata keys and values (before Struct encoding) a sidecar with `id` sends. */
export function sidecarMetadata(id: SidecarIdentity): { readonly strings: Record<string, string>; readonly labels: Record<string, string> } {
  const labels = { ...(id.labels ?? { app: id.pod }) };
  const strings: Record<string, string> = {
    NAME: id.pod,
    NAMESPACE: id.namespace,
    CLUSTER_ID: id.clusterId ?? 'Kubernetes',
    ISTIO_VERSION: id.istioVersion ?? '1.31.0',
    INTERCEPTION_MODE: 'REDIRECT',
    INSTANCE_IPS: id.ip,
    SERVICE_ACCOUNT: id.serviceAccount ?? 'default',
    WORKLOAD_NAME: id.pod,
    MESH_ID: 'cluster.local',
    ...(id.dnsCapture === true ? { DNS_CAPTURE: 'true' } : {}),
    ...(id.dnsAutoAllocate === true ? { DNS_AUTO_ALLOCATE: 'true' } : {}),
    ...(id.metadata ?? {}),
  };
  return { strings, labels };
}

/** The Node message for the first DiscoveryRequest of the stream. */
export function sidecarNode(id: SidecarIdentity): NodeMessage {
  const { strings, labels } = sidecarMetadata(id);
  const fields: Record<string, StructValue> = {};
  for (const [k, v] of Object.entries(strings)) fields[k] = { stringValue: v };
  const labelFields: Record<string, StructValue> = {};
  for (const [k, v] of Object.entries(labels)) labelFields[k] = { stringValue: v };
  fields['LABELS'] = { structValue: { fields: labelFields } };
  return { id: sidecarNodeId(id), cluster: `${labels['app'] ?? id.pod}.${id.namespace}`, metadata: { fields }, user_agent_name: 'envoy' };
}
