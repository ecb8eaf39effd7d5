/**
 * The xDS bootstrap of a proxyless gRPC client talking straight to istiod's plaintext xDS port,
 * shaped like the one istio-agent writes for proxyless gRPC (istio/istio
 * pkg/istio-agent/grpcxds/grpc_bootstrap.go, pilot/pkg/networking/grpcgen/testdata/xds_bootstrap.json):
 * - node.metadata.GENERATOR "grpc" makes istiod answer with its gRPC generator (API listeners
 *   named "<host>:<port>", RDS/CDS/EDS for "outbound|<port>||<host>") instead of Envoy config;
 * - node.id "sidecar~<ip>~<name>.<namespace>~<namespace>.svc.cluster.local" and NAMESPACE pick the
 *   proxy's namespace (its SidecarScope: which services it sees);
 * - CLUSTER_ID names the registry cluster (istiod here runs with CLUSTER_ID=Kubernetes).
 * No certificate_providers: the client uses insecure channel credentials, so it ignores the
 * clusters' TLS settings. No server_listener_resource_name_template: no xDS server here.
 */
export interface GrpcBootstrapOptions {
  /** istiod's plaintext xDS address, host:port (Istiod.grpcAddress). */
  readonly xdsServer: string;
  /** The client's namespace (node.id and NAMESPACE). */
  readonly namespace: string;
  /** The client's name in node.id (default grpc-client). */
  readonly name?: string;
  /** INSTANCE_IPS and the IP in node.id; data only, never dialled (default 127.0.0.30). */
  readonly ip?: string;
  readonly clusterId?: string;
}

export interface GrpcBootstrap {
  readonly xds_servers: ReadonlyArray<{ readonly server_uri: string; readonly channel_creds: ReadonlyArray<{ readonly type: string }>; readonly server_features: readonly string[] }>;
  readonly node: { readonly id: string; readonly locality: Readonly<Record<string, string>>; readonly metadata: Readonly<Record<string, string>> };
}

export function grpcBootstrap(options: GrpcBootstrapOptions): GrpcBootstrap {
  const ip = options.ip ?? '127.0.0.30';
  const ns = options.namespace;
  return {
    xds_servers: [{ server_uri: options.xdsServer, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: {
      id: `sidecar~${ip}~${options.name ?? 'grpc-client'}.${ns}~${ns}.svc.cluster.local`,
      // grpc-js-xds 1.14 rejects a node without locality ("locality field missing in node element")
      locality: {},
      metadata: { GENERATOR: 'grpc', NAMESPACE: ns, CLUSTER_ID: options.clusterId ?? 'Kubernetes', INSTANCE_IPS: ip },
    },
  };
}
