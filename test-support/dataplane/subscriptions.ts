/**
 * Which EDS and RDS names a proxy subscribes to, given its clusters and listeners (Envoy's
 * behaviour: every EDS cluster's service name, every HttpConnectionManager's RDS name).
 */
import { TYPE_URL, typeOf, type Cluster, type FilterChain, type HttpConnectionManager, type Listener } from './types.js';

/** The ClusterLoadAssignment names of the EDS clusters (eds_cluster_config.service_name, else the cluster name), sorted, unique. */
export function edsNames(clusters: readonly Cluster[]): string[] {
  const out = new Set<string>();
  for (const c of clusters) {
    if (c.type === 'EDS') out.add(c.eds_cluster_config?.service_name ?? c.name);
  }
  return [...out].sort();
}

/** The HttpConnectionManager of a filter chain, if it has one. */
export function hcmOf(chain: FilterChain | undefined): HttpConnectionManager | undefined {
  for (const f of chain?.filters ?? []) {
    if (typeOf(f.typed_config) === TYPE_URL.hcm) return f.typed_config as HttpConnectionManager;
  }
  return undefined;
}

/** The route config names (HCM rds.route_config_name) the listeners reference, sorted, unique. */
export function rdsNames(listeners: readonly Listener[]): string[] {
  const out = new Set<string>();
  for (const l of listeners) {
    for (const chain of [...(l.filter_chains ?? []), ...(l.default_filter_chain !== undefined ? [l.default_filter_chain] : [])]) {
      const name = hcmOf(chain)?.rds?.route_config_name;
      if (name !== undefined && name !== '') out.add(name);
    }
  }
  return [...out].sort();
}
