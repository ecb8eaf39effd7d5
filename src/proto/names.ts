/** Full protobuf names of the messages Meshbridge encodes, and their Any type URLs. */
export const ProtoName = {
  DiscoveryRequest: 'envoy.service.discovery.v3.DiscoveryRequest',
  DiscoveryResponse: 'envoy.service.discovery.v3.DiscoveryResponse',
  McpResource: 'istio.mcp.v1alpha1.Resource',
  McpMetadata: 'istio.mcp.v1alpha1.Metadata',
  ServiceEntry: 'istio.networking.v1alpha3.ServiceEntry',
  WorkloadEntry: 'istio.networking.v1alpha3.WorkloadEntry',
  Sidecar: 'istio.networking.v1alpha3.Sidecar',
  Any: 'google.protobuf.Any',
} as const;

const PREFIX = 'type.googleapis.com/';

/** Type URLs of Any payloads. v1 and v1beta1 resources travel as the v1alpha3 messages. */
export const TypeUrl = {
  McpResource: `${PREFIX}${ProtoName.McpResource}`,
  ServiceEntry: `${PREFIX}${ProtoName.ServiceEntry}`,
  WorkloadEntry: `${PREFIX}${ProtoName.WorkloadEntry}`,
  Sidecar: `${PREFIX}${ProtoName.Sidecar}`,
} as const;
