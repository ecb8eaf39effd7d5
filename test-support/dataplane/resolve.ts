/**
 * Where a sidecar sends an outbound connection, from the xDS it holds (pure; Envoy's semantics):
 *
 * 1. iptables REDIRECT lands the connection on the `use_original_dst` listener (Istio's
 *    virtualOutbound, 15001), which hands it off to the listener bound exactly at ip:port, else
 *    to the one at 0.0.0.0:port ([::]:port for IPv6), else keeps it (its own filter chains).
 * 2. Listener filters: http_inspector (unless its filter_disabled holds for the port) reports
 *    'http/1.1' or 'h2c' as the application protocol; plaintext is transport 'raw_buffer'.
 * 3. The filter chain (filter-chain-match.ts), then its terminal network filter: tcp_proxy
 *    (cluster / weighted_clusters) or http_connection_manager (RDS or inline route config ->
 *    virtual host -> first matching route -> cluster / weighted_clusters).
 * 4. The cluster: EDS endpoints, ORIGINAL_DST passthrough, or a black hole.
 */
import { hostPort, parseIp } from './cidr.js';
import { clusterOutcome, type ClusterOutcome } from './clusters.js';
import { selectFilterChain, type ConnectionFacts } from './filter-chain-match.js';
import { selectRoute, selectVirtualHost, stripPort, type HttpRequestFacts } from './http-route.js';
import {
  TYPE_URL,
  typeOf,
  unwrap,
  type Cluster,
  type ClusterLoadAssignment,
  type FilterChain,
  type HttpConnectionManager,
  type Listener,
  type ListenerFilterPredicate,
  type RouteConfiguration,
  type TcpProxy,
  type WeightedClusters,
  type XdsState,
} from './types.js';

/** An outbound connection from the application, as the sidecar sees it. */
export interface Connection {
  /** Destination IP the application dialled (IPv4 or IPv6). */
  readonly ip: string;
  readonly port: number;
  /** 'tcp': opaque bytes (or HTTP with http_inspector off); 'http1' / 'h2c': plaintext HTTP. */
  readonly protocol: 'tcp' | 'http1' | 'h2c';
  /** Host / :authority for HTTP; default "ip:port". */
  readonly authority?: string;
  /** Default '/'. */
  readonly path?: string;
  /** Extra request headers (names lower-case), e.g. {'content-type': 'application/grpc'}. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The application's address (only chains with source conditions care). */
  readonly sourceIp?: string;
}

/** One cluster a connection may go to, with its weight (1 for a single cluster). */
export interface ClusterLeg {
  readonly name: string;
  readonly weight: number;
  readonly outcome: ClusterOutcome['type'];
  readonly endpoints: readonly string[];
}

interface Matched {
  /** Name of the listener whose filter chain was used. */
  readonly listener: string;
  /** filter chain name, or "#<index>", or "default_filter_chain". */
  readonly filterChain: string;
  /** Readable steps, for assertion messages. */
  readonly trace: readonly string[];
  readonly virtualHost?: string;
  readonly route?: string;
}

/**
 * Where a connection ends up:
 * - 'endpoints': a cluster with endpoints (`endpoints` are "ip:port", sorted; for weighted
 *   clusters the union over the legs with weight > 0, `cluster` the heaviest leg);
 * - 'passthrough': an ORIGINAL_DST cluster (Istio's PassthroughCluster): to ip:port itself;
 * - 'blackhole': a cluster without endpoints (Istio's BlackHoleCluster): closed;
 * - 'rejected': no listener, filter chain, terminal filter, route config, virtual host, route
 *   or cluster: Envoy closes the connection or answers 404/503; `reason` says which.
 */
export type Resolution =
  | (Matched & { readonly type: 'endpoints' | 'passthrough' | 'blackhole'; readonly cluster: string; readonly clusters: readonly ClusterLeg[]; readonly endpoints: readonly string[] })
  | (Partial<Matched> & { readonly type: 'rejected'; readonly reason: string; readonly trace: readonly string[]; readonly cluster?: undefined; readonly endpoints: readonly [] });

interface StateIndex {
  readonly entry: Listener | undefined;
  readonly exact: ReadonlyMap<string, Listener>;
  readonly wildcard: ReadonlyMap<string, Listener>;
  readonly routes: ReadonlyMap<string, RouteConfiguration>;
  readonly clusters: ReadonlyMap<string, Cluster>;
  readonly assignments: ReadonlyMap<string, ClusterLoadAssignment>;
  /** Outcomes of clusters that do not depend on the destination (all but ORIGINAL_DST). */
  readonly outcomes: Map<string, ClusterOutcome>;
}

const indexes = new WeakMap<XdsState, StateIndex>();

function addressKey(ip: string, port: number): string | undefined {
  const p = parseIp(ip);
  return p === undefined ? undefined : `${p.v6 ? 6 : 4}/${p.value}/${port}`;
}

function listenerAddresses(l: Listener): Array<{ ip: string; port: number }> {
  const out: Array<{ ip: string; port: number }> = [];
  for (const a of [l.address, ...(l.additional_addresses ?? []).map((x) => x.address)]) {
    const sa = a?.socket_address;
    if (sa?.address !== undefined) out.push({ ip: sa.address, port: sa.port_value ?? 0 });
  }
  return out;
}

function isWildcard(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::' || ip === '[::]';
}

function indexState(state: XdsState): StateIndex {
  const cached = indexes.get(state);
  if (cached !== undefined) return cached;
  const exact = new Map<string, Listener>();
  const wildcard = new Map<string, Listener>();
  let entry: Listener | undefined;
  for (const l of state.listeners) {
    if (unwrap(l.use_original_dst, false) === true && (entry === undefined || l.name === 'virtualOutbound')) entry = l;
  }
  for (const l of state.listeners) {
    if (l === entry) continue;
    for (const { ip, port } of listenerAddresses(l)) {
      if (isWildcard(ip)) {
        const k = `${ip.includes(':') ? 6 : 4}/${port}`;
        if (!wildcard.has(k)) wildcard.set(k, l);
      } else {
        const k = addressKey(ip, port);
        if (k !== undefined && !exact.has(k)) exact.set(k, l);
      }
    }
  }
  const idx: StateIndex = {
    entry,
    exact,
    wildcard,
    routes: new Map(state.routes.map((r) => [r.name, r])),
    clusters: new Map(state.clusters.map((c) => [c.name, c])),
    assignments: new Map(state.endpoints.map((e) => [e.cluster_name, e])),
    outcomes: new Map(),
  };
  indexes.set(state, idx);
  return idx;
}

/** The listener a connection to ip:port is handled by (after the original-dst hand-off), and how. */
function selectListener(idx: StateIndex, ip: string, port: number): { listener: Listener; how: string; handedOff: boolean } | undefined {
  const v6 = parseIp(ip)?.v6 ?? false;
  const exact = idx.exact.get(addressKey(ip, port) ?? '');
  const wild = idx.wildcard.get(`${v6 ? 6 : 4}/${port}`) ?? (v6 ? undefined : idx.wildcard.get(`6/${port}`));
  const entry = idx.entry;
  const via = entry !== undefined ? `${entry.name} (use_original_dst) hands off to` : 'no use_original_dst listener; bound';
  if (exact !== undefined) return { listener: exact, how: `${via} ${exact.name}: exact address ${hostPort(ip, port)}`, handedOff: entry !== undefined };
  if (wild !== undefined) return { listener: wild, how: `${via} ${wild.name}: wildcard address for port ${port}`, handedOff: entry !== undefined };
  if (entry !== undefined) return { listener: entry, how: `no listener at ${hostPort(ip, port)} or the wildcard of port ${port}: ${entry.name}'s own filter chains`, handedOff: false };
  return undefined;
}

function predicateHolds(p: ListenerFilterPredicate | undefined, port: number): boolean {
  if (p === undefined) return false;
  if (p.any_match === true) return true;
  if (p.destination_port_range !== undefined) {
    const { start = 0, end = 0 } = p.destination_port_range;
    return port >= start && port < end;
  }
  if (p.not_match !== undefined) return !predicateHolds(p.not_match, port);
  if (p.or_match !== undefined) return (p.or_match.rules ?? []).some((r) => predicateHolds(r, port));
  if (p.and_match !== undefined) return (p.and_match.rules ?? []).every((r) => predicateHolds(r, port));
  return false;
}

/** Whether an enabled http_inspector runs on `listeners` (those the socket passed) for `port`. */
function httpInspected(listeners: readonly Listener[], port: number): boolean {
  return listeners.some((l) =>
    (l.listener_filters ?? []).some(
      (f) => (f.name === 'envoy.filters.listener.http_inspector' || typeOf(f.typed_config) === TYPE_URL.httpInspector) && !predicateHolds(f.filter_disabled, port),
    ),
  );
}

function chainLabel(chain: FilterChain, index: number): string {
  if (index < 0) return 'default_filter_chain';
  return chain.name !== undefined && chain.name !== '' ? chain.name : `#${index}`;
}

function legsOf(w: WeightedClusters | undefined): Array<{ name: string; weight: number }> {
  return (w?.clusters ?? []).map((c) => ({ name: c.name ?? '', weight: unwrap(c.weight, 0) ?? 0 }));
}

function rejected(reason: string, trace: string[], m: Partial<Matched> = {}): Resolution {
  trace.push(`rejected: ${reason}`);
  return { ...m, type: 'rejected', reason, trace, endpoints: [] };
}

function outcomeOf(idx: StateIndex, name: string, original: string): ClusterOutcome {
  const cached = idx.outcomes.get(name);
  if (cached !== undefined) return cached;
  const c = idx.clusters.get(name);
  const o = clusterOutcome(name, c, (n) => idx.assignments.get(n), original);
  if (o.type !== 'passthrough') idx.outcomes.set(name, o);
  return o;
}

const matchTexts = new WeakMap<FilterChain, string>();

function matchText(chain: FilterChain): string {
  let t = matchTexts.get(chain);
  if (t === undefined) {
    t = JSON.stringify(chain.filter_chain_match ?? {});
    matchTexts.set(chain, t);
  }
  return t;
}

/** Cluster names with weights -> the final answer. */
function toClusters(idx: StateIndex, conn: Connection, legs: Array<{ name: string; weight: number }>, trace: string[], m: Matched): Resolution {
  if (legs.length === 0) return rejected('no cluster named', trace, m);
  const original = hostPort(conn.ip, conn.port);
  const out: ClusterLeg[] = legs.map((l) => {
    const o = outcomeOf(idx, l.name, original);
    trace.push(`cluster ${l.name}${legs.length > 1 ? ` (weight ${l.weight})` : ''}: ${o.note}`);
    return { name: l.name, weight: l.weight, outcome: o.type, endpoints: o.endpoints };
  });
  const live = out.filter((l) => l.weight > 0 || out.length === 1);
  const heaviest = [...live].sort((a, b) => b.weight - a.weight)[0] ?? out[0]!;
  const missing = live.find((l) => l.outcome === 'missing');
  if (missing !== undefined) return rejected(`cluster ${missing.name} unusable (not in CDS, or its EDS not received)`, trace, m);
  const endpoints = live.length === 1 ? live[0]!.endpoints : [...new Set(live.flatMap((l) => l.endpoints))].sort();
  const type = heaviest.outcome as Exclude<ClusterOutcome['type'], 'missing'>;
  return { ...m, type, cluster: heaviest.name, clusters: out, endpoints, trace };
}

/**
 * Resolves where `conn` ends up in `state` (see the file comment for the steps). Pure; indexes
 * each state object and each listener's filter chains once (by identity), so thousands of calls
 * on one state are cheap. Never throws for a config it does not understand: that is a
 * 'rejected' result whose trace says what was missing.
 */
export function resolve(state: XdsState, conn: Connection): Resolution {
  const idx = indexState(state);
  const trace: string[] = [];
  const picked = selectListener(idx, conn.ip, conn.port);
  if (picked === undefined) return rejected(`no listener for ${hostPort(conn.ip, conn.port)} and no use_original_dst listener`, trace);
  const { listener } = picked;
  trace.push(`listener: ${picked.how}`);

  const passed = picked.handedOff && idx.entry !== undefined ? [idx.entry, listener] : [listener];
  const inspected = conn.protocol !== 'tcp' && httpInspected(passed, conn.port);
  const facts: ConnectionFacts = {
    destinationIp: conn.ip,
    destinationPort: conn.port,
    serverName: '',
    transportProtocol: 'raw_buffer',
    applicationProtocols: !inspected ? [] : conn.protocol === 'h2c' ? ['h2c'] : ['http/1.1'],
    ...(conn.sourceIp !== undefined ? { sourceIp: conn.sourceIp } : {}),
  };
  trace.push(`listener filters: transport raw_buffer, application protocols [${facts.applicationProtocols.join(', ')}]${conn.protocol !== 'tcp' && !inspected ? ' (no enabled http_inspector)' : ''}`);
  const choice = selectFilterChain(listener.filter_chains ?? [], listener.default_filter_chain, facts);
  if (choice === undefined) return rejected(`no filter chain of ${listener.name} matches`, trace, { listener: listener.name });
  const filterChain = chainLabel(choice.chain, choice.index);
  trace.push(`filter chain ${filterChain} of ${listener.name} (${choice.why}${choice.ambiguous ? '; AMBIGUOUS: more than one chain matched' : ''}) match ${matchText(choice.chain)}`);
  const m: Matched = { listener: listener.name, filterChain, trace };

  const terminal = (choice.chain.filters ?? []).find((f) => [TYPE_URL.tcpProxy, TYPE_URL.hcm].includes(typeOf(f.typed_config) as typeof TYPE_URL.hcm));
  if (terminal === undefined) return rejected('filter chain has neither tcp_proxy nor http_connection_manager', trace, m);
  if (typeOf(terminal.typed_config) === TYPE_URL.tcpProxy) {
    const tcp = terminal.typed_config as TcpProxy;
    const legs = tcp.cluster !== undefined && tcp.cluster !== '' ? [{ name: tcp.cluster, weight: 1 }] : legsOf(tcp.weighted_clusters);
    trace.push(`tcp_proxy -> ${legs.map((l) => l.name).join(', ')}`);
    return toClusters(idx, conn, legs, trace, m);
  }
  return resolveHttp(idx, conn, terminal.typed_config as HttpConnectionManager, trace, m);
}

function resolveHttp(idx: StateIndex, conn: Connection, hcm: HttpConnectionManager, trace: string[], m: Matched): Resolution {
  if (conn.protocol === 'tcp') return rejected('http_connection_manager on a non-HTTP connection (Envoy answers 400 / closes)', trace, m);
  const rdsName = hcm.rds?.route_config_name;
  const rc = hcm.route_config ?? (rdsName !== undefined ? idx.routes.get(rdsName) : undefined);
  if (rc === undefined) return rejected(`route config ${rdsName ?? '(none)'} not received`, trace, m);
  const authority = conn.authority ?? hostPort(conn.ip, conn.port);
  const host = hcm.strip_any_host_port === true || rc.ignore_port_in_host_matching === true ? stripPort(authority) : authority;
  trace.push(`http_connection_manager: route config ${hcm.route_config !== undefined ? '(inline)' : rdsName} for host "${host}"`);
  const vh = selectVirtualHost(rc, host);
  if (vh === undefined) return rejected(`no virtual host for "${host}" (404)`, trace, m);
  const req: HttpRequestFacts = {
    authority,
    path: conn.path ?? '/',
    headers: { ':authority': authority, ':path': conn.path ?? '/', ':method': 'GET', ':scheme': 'http', ...(conn.headers ?? {}) },
  };
  const vhName = vh.vhost.name ?? '(unnamed)';
  trace.push(`virtual host ${vhName} by ${vh.how}`);
  const r = selectRoute(vh.vhost, req);
  if (r === undefined) return rejected(`no route of virtual host ${vhName} matches ${req.path} (404)`, trace, { ...m, virtualHost: vhName });
  const routeName = r.route.name !== undefined && r.route.name !== '' ? r.route.name : `#${r.index}`;
  const mm: Matched = { ...m, virtualHost: vhName, route: routeName };
  trace.push(`route ${routeName} match ${JSON.stringify(r.route.match ?? {})}`);
  const action = r.route.route;
  if (action === undefined) return rejected(`route ${routeName} is a ${r.route.redirect !== undefined ? 'redirect' : 'direct response'}, not a cluster`, trace, mm);
  let legs: Array<{ name: string; weight: number }>;
  if (action.cluster !== undefined && action.cluster !== '') legs = [{ name: action.cluster, weight: 1 }];
  else if (action.cluster_header !== undefined) legs = [{ name: req.headers[action.cluster_header.toLowerCase()] ?? '', weight: 1 }];
  else legs = legsOf(action.weighted_clusters);
  return toClusters(idx, conn, legs, trace, mm);
}

/** The trace as one text block (for assertion messages and t.diagnostic). */
export function explain(r: Resolution): string {
  const head = r.type === 'rejected' ? `REJECTED: ${r.reason}` : `${r.type}: ${r.cluster} -> [${r.endpoints.join(', ')}]`;
  return [head, ...r.trace.map((s) => `  ${s}`)].join('\n');
}
