/**
 * The subset of Envoy's xDS resources (envoy.config.*.v3) the data-plane resolver reads, as plain
 * JSON objects with proto field names (snake_case), enums as their names and Any fields expanded
 * to `{"@type": url, ...fields}` when the type is known (see protos.ts), else
 * `{type_url, value: base64}`.
 *
 * Both encodings of wrapper types are accepted: protobufjs gives `{value: N}`, Envoy's
 * config_dump and hand-written fixtures give the bare value. Absent fields have proto3 defaults
 * (an absent `type` on a Cluster is STATIC, an absent enum is its zero value).
 */

/** google.protobuf.UInt32Value / BoolValue in either JSON encoding. */
export type Wrapped<T> = T | { readonly value?: T };

/** An Any: known types expanded with "@type", unknown ones kept as type_url + base64 value. */
export interface TypedConfig {
  readonly '@type'?: string;
  readonly type_url?: string;
  readonly [field: string]: unknown;
}

export interface SocketAddress {
  readonly address?: string;
  readonly port_value?: number;
}

export interface Address {
  readonly socket_address?: SocketAddress;
}

export interface CidrRange {
  readonly address_prefix?: string;
  readonly prefix_len?: Wrapped<number>;
}

export interface FilterChainMatch {
  readonly destination_port?: Wrapped<number>;
  readonly prefix_ranges?: readonly CidrRange[];
  readonly server_names?: readonly string[];
  readonly transport_protocol?: string;
  readonly application_protocols?: readonly string[];
  readonly direct_source_prefix_ranges?: readonly CidrRange[];
  readonly source_type?: 'ANY' | 'SAME_IP_OR_LOOPBACK' | 'EXTERNAL';
  readonly source_prefix_ranges?: readonly CidrRange[];
  readonly source_ports?: readonly number[];
}

export interface Filter {
  readonly name?: string;
  readonly typed_config?: TypedConfig;
}

export interface FilterChain {
  readonly name?: string;
  readonly filter_chain_match?: FilterChainMatch;
  readonly filters?: readonly Filter[];
}

/** envoy.config.listener.v3.ListenerFilterChainMatchPredicate */
export interface ListenerFilterPredicate {
  readonly or_match?: { readonly rules?: readonly ListenerFilterPredicate[] };
  readonly and_match?: { readonly rules?: readonly ListenerFilterPredicate[] };
  readonly not_match?: ListenerFilterPredicate;
  readonly any_match?: boolean;
  readonly destination_port_range?: { readonly start?: number; readonly end?: number };
}

export interface ListenerFilter {
  readonly name?: string;
  readonly typed_config?: TypedConfig;
  readonly filter_disabled?: ListenerFilterPredicate;
}

export interface Listener {
  readonly name: string;
  readonly address?: Address;
  readonly additional_addresses?: ReadonlyArray<{ readonly address?: Address }>;
  readonly filter_chains?: readonly FilterChain[];
  readonly default_filter_chain?: FilterChain;
  readonly listener_filters?: readonly ListenerFilter[];
  readonly use_original_dst?: Wrapped<boolean>;
  readonly bind_to_port?: Wrapped<boolean>;
  readonly traffic_direction?: 'UNSPECIFIED' | 'INBOUND' | 'OUTBOUND';
}

/** tcp_proxy's and route's weighted clusters. */
export interface WeightedClusters {
  readonly clusters?: ReadonlyArray<{ readonly name?: string; readonly weight?: Wrapped<number> }>;
}

/** envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy */
export interface TcpProxy {
  readonly cluster?: string;
  readonly weighted_clusters?: WeightedClusters;
}

export interface StringMatcher {
  readonly exact?: string;
  readonly prefix?: string;
  readonly suffix?: string;
  readonly contains?: string;
  readonly safe_regex?: { readonly regex?: string };
  readonly ignore_case?: boolean;
}

export interface HeaderMatcher {
  readonly name?: string;
  readonly exact_match?: string;
  readonly prefix_match?: string;
  readonly suffix_match?: string;
  readonly contains_match?: string;
  readonly safe_regex_match?: { readonly regex?: string };
  readonly present_match?: boolean;
  readonly string_match?: StringMatcher;
  readonly invert_match?: boolean;
}

export interface RouteMatch {
  readonly prefix?: string;
  readonly path?: string;
  readonly safe_regex?: { readonly regex?: string };
  readonly path_separated_prefix?: string;
  readonly case_sensitive?: Wrapped<boolean>;
  readonly headers?: readonly HeaderMatcher[];
  readonly grpc?: object;
}

export interface RouteAction {
  readonly cluster?: string;
  readonly weighted_clusters?: WeightedClusters;
  readonly cluster_header?: string;
}

export interface Route {
  readonly name?: string;
  readonly match?: RouteMatch;
  readonly route?: RouteAction;
  readonly redirect?: object;
  readonly direct_response?: { readonly status?: number };
}

export interface VirtualHost {
  readonly name?: string;
  readonly domains?: readonly string[];
  readonly routes?: readonly Route[];
}

export interface RouteConfiguration {
  readonly name: string;
  readonly virtual_hosts?: readonly VirtualHost[];
  readonly ignore_port_in_host_matching?: boolean;
}

/** envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager */
export interface HttpConnectionManager {
  readonly rds?: { readonly route_config_name?: string };
  readonly route_config?: RouteConfiguration;
  readonly strip_any_host_port?: boolean;
}

export interface LbEndpoint {
  readonly endpoint?: { readonly address?: Address };
  readonly health_status?: 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';
  readonly load_balancing_weight?: Wrapped<number>;
}

export interface ClusterLoadAssignment {
  readonly cluster_name: string;
  readonly endpoints?: ReadonlyArray<{ readonly lb_endpoints?: readonly LbEndpoint[] }>;
}

export type ClusterType = 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS' | 'ORIGINAL_DST';

export interface Cluster {
  readonly name: string;
  readonly type?: ClusterType;
  readonly eds_cluster_config?: { readonly service_name?: string };
  readonly load_assignment?: ClusterLoadAssignment;
}

/**
 * What a proxy holds at one moment: the full state of each type, as the last ACKed responses
 * gave it. Immutable: the client makes a new object on every change, so a resolver may cache
 * per state object. JSON-serialisable (fixtures are this shape).
 */
export interface XdsState {
  readonly listeners: readonly Listener[];
  readonly routes: readonly RouteConfiguration[];
  readonly clusters: readonly Cluster[];
  readonly endpoints: readonly ClusterLoadAssignment[];
}

export const TYPE_URL = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  hcm: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  tcpProxy: 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
  httpInspector: 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector',
} as const;

/** The Any's type URL in either encoding ('' when absent). */
export function typeOf(tc: TypedConfig | undefined): string {
  return tc?.['@type'] ?? tc?.type_url ?? '';
}

/**
 * A wrapper's value in either encoding: undefined when the field is absent, `zero` for an empty
 * wrapper message (proto3 drops a zero `value`).
 */
export function unwrap<T>(v: Wrapped<T> | undefined, zero: T): T | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object') return (v as { value?: T }).value ?? zero;
  return v;
}
