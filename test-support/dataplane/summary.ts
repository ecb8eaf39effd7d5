/**
 * A short text view of a proxy's xDS state for test diagnostics: one line per listener (address,
 * filter chains and where their terminal filter points), then counts.
 */
import { TYPE_URL, typeOf, type FilterChain, type HttpConnectionManager, type TcpProxy, type XdsState } from './types.js';

function target(chain: FilterChain): string {
  for (const f of chain.filters ?? []) {
    const t = typeOf(f.typed_config);
    if (t === TYPE_URL.tcpProxy) {
      const tcp = f.typed_config as TcpProxy;
      return `tcp:${tcp.cluster ?? (tcp.weighted_clusters?.clusters ?? []).map((c) => c.name ?? '').join('+')}`;
    }
    if (t === TYPE_URL.hcm) {
      const hcm = f.typed_config as HttpConnectionManager;
      return `http:${hcm.rds?.route_config_name ?? '(inline)'}`;
    }
  }
  return '?';
}

/** One line per listener, sorted by name, `only` keeping those whose name or targets contain it. */
export function summarize(state: XdsState, only?: string): string {
  const lines: string[] = [];
  for (const l of [...state.listeners].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const sa = l.address?.socket_address;
    const chains = [...(l.filter_chains ?? []), ...(l.default_filter_chain !== undefined ? [l.default_filter_chain] : [])];
    const line = `${l.name} @${sa?.address ?? '?'}:${sa?.port_value ?? 0}: ${chains.map((c) => `[${c.name ?? ''} ${target(c)}]`).join(' ')}`;
    if (only === undefined || line.includes(only)) lines.push(line);
  }
  lines.push(`${state.listeners.length} listeners, ${state.routes.length} route configs, ${state.clusters.length} clusters, ${state.endpoints.length} assignments`);
  return lines.join('\n');
}
