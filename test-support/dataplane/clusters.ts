/**
 * Where a cluster sends a connection: its endpoints (EDS from the ClusterLoadAssignment, STATIC
 * and DNS types from the inline load_assignment), the original destination (ORIGINAL_DST), or
 * nowhere (a STATIC cluster without endpoints, Istio's BlackHoleCluster).
 */
import { hostPort } from './cidr.js';
import type { Cluster, ClusterLoadAssignment, LbEndpoint } from './types.js';

export type ClusterOutcome =
  | { readonly type: 'endpoints'; readonly endpoints: readonly string[]; readonly note: string }
  | { readonly type: 'passthrough'; readonly endpoints: readonly string[]; readonly note: string }
  | { readonly type: 'blackhole'; readonly endpoints: readonly []; readonly note: string }
  | { readonly type: 'missing'; readonly endpoints: readonly []; readonly note: string };

/** Health states Envoy load-balances to outside panic mode. */
const ROUTABLE = new Set(['UNKNOWN', 'HEALTHY', 'DEGRADED']);

/** "ip:port" of every routable endpoint of `cla` (sorted; unhealthy, draining and non-socket ones left out). */
export function endpointsOf(cla: ClusterLoadAssignment | undefined): string[] {
  const out: string[] = [];
  for (const locality of cla?.endpoints ?? []) {
    for (const lb of locality.lb_endpoints ?? []) {
      if (!isRoutable(lb)) continue;
      const sa = lb.endpoint?.address?.socket_address;
      if (sa?.address === undefined) continue;
      out.push(hostPort(sa.address, sa.port_value ?? 0));
    }
  }
  return out.sort();
}

function isRoutable(lb: LbEndpoint): boolean {
  return ROUTABLE.has(lb.health_status ?? 'UNKNOWN');
}

/**
 * What `cluster` does with a connection whose original destination is `originalDst` ("ip:port").
 * `assignments` looks up a ClusterLoadAssignment by its cluster_name (EDS service name).
 */
export function clusterOutcome(
  name: string,
  cluster: Cluster | undefined,
  assignments: (serviceName: string) => ClusterLoadAssignment | undefined,
  originalDst: string,
): ClusterOutcome {
  if (cluster === undefined) return { type: 'missing', endpoints: [], note: `cluster ${name} not in CDS` };
  const type = cluster.type ?? 'STATIC';
  if (type === 'ORIGINAL_DST') return { type: 'passthrough', endpoints: [originalDst], note: `ORIGINAL_DST: to ${originalDst}` };
  if (type === 'EDS') {
    const service = cluster.eds_cluster_config?.service_name ?? cluster.name;
    const cla = assignments(service);
    if (cla === undefined) return { type: 'missing', endpoints: [], note: `EDS ${service}: no ClusterLoadAssignment received` };
    const eps = endpointsOf(cla);
    return { type: 'endpoints', endpoints: eps, note: `EDS ${service}: ${eps.length} endpoint(s)` };
  }
  const eps = endpointsOf(cluster.load_assignment);
  if (type === 'STATIC' && eps.length === 0) return { type: 'blackhole', endpoints: [], note: 'STATIC without endpoints: connection closed' };
  return { type: 'endpoints', endpoints: eps, note: `${type}: ${eps.length} endpoint(s)` };
}
