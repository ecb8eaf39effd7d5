/**
 * A data-plane view of istiod for tests: a sidecar-posing xDS client of a real istiod
 * (SidecarClient) and a pure resolver that says where that sidecar would send a connection
 * (resolve), following Envoy's listener, filter-chain, route and cluster semantics.
 */
export { SidecarClient, startSidecar, type SidecarClientOptions, type StreamEnd } from './sidecar-client.js';
export { sidecarMetadata, sidecarNode, sidecarNodeId, type SidecarIdentity } from './sidecar-node.js';
export { explain, resolve, type ClusterLeg, type Connection, type Resolution } from './resolve.js';
export { edsNames, rdsNames } from './subscriptions.js';
export { summarize } from './summary.js';
export { decodeAny } from './protos.js';
export { TYPE_URL, type Cluster, type ClusterLoadAssignment, type Listener, type RouteConfiguration, type XdsState } from './types.js';
