/**
 * The resolver on small hand-built xDS (Envoy's semantics, one rule per test) and on a state
 * captured from the real istiod (fixtures/, see fixtures/README.md). Pure: no peers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cidrContains, parseCidr, parseIp } from './cidr.js';
import { explain, resolve, type Connection, type Resolution } from './resolve.js';
import { edsNames, rdsNames } from './subscriptions.js';
import { TYPE_URL, type Cluster, type ClusterLoadAssignment, type FilterChain, type Listener, type RouteConfiguration, type XdsState } from './types.js';

const tcpFilter = (cluster: string) => ({ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TYPE_URL.tcpProxy, stat_prefix: cluster, cluster } });
const hcmFilter = (rds: string) => ({
  name: 'envoy.filters.network.http_connection_manager',
  typed_config: { '@type': TYPE_URL.hcm, stat_prefix: rds, rds: { route_config_name: rds } },
});
const statsFilter = { name: 'istio.stats', typed_config: { type_url: 'type.googleapis.com/stats.PluginConfig', value: '' } };
const httpInspector = { name: 'envoy.filters.listener.http_inspector', typed_config: { '@type': TYPE_URL.httpInspector } };
const addr = (address: string, port_value: number) => ({ socket_address: { address, port_value } });

function tcpListener(ip: string, port: number, cluster: string): Listener {
  return { name: `${ip}_${port}`, address: addr(ip, port), bind_to_port: { value: false }, filter_chains: [{ filters: [statsFilter, tcpFilter(cluster)] }] };
}

function httpListener(port: number, extra: Partial<Listener> = {}): Listener {
  return {
    name: `0.0.0.0_${port}`,
    address: addr('0.0.0.0', port),
    bind_to_port: false, // the bare encoding of a BoolValue
    listener_filters: [httpInspector],
    filter_chains: [
      { name: 'http', filter_chain_match: { application_protocols: ['http/1.1', 'h2c'] }, filters: [hcmFilter(String(port))] },
      { name: 'tcp', filter_chain_match: {}, filters: [tcpFilter('PassthroughCluster')] },
    ],
    ...extra,
  };
}

const virtualOutbound: Listener = {
  name: 'virtualOutbound',
  address: addr('0.0.0.0', 15001),
  use_original_dst: { value: true },
  listener_filters: [{ name: 'envoy.filters.listener.original_dst' }],
  filter_chains: [
    { name: 'virtualOutbound-catchall-tcp', filter_chain_match: { prefix_ranges: [{ address_prefix: '0.0.0.0', prefix_len: 0 }] }, filters: [tcpFilter('PassthroughCluster')] },
    { name: 'virtualOutbound-blackhole', filter_chain_match: { destination_port: { value: 15001 } }, filters: [tcpFilter('BlackHoleCluster')] },
  ],
};

const eds = (name: string): Cluster => ({ name, type: 'EDS', eds_cluster_config: { service_name: name } });
const cla = (name: string, ...eps: string[]): ClusterLoadAssignment => ({
  cluster_name: name,
  endpoints: [{ lb_endpoints: eps.map((e) => ({ endpoint: { address: addr(e.split(':')[0]!, Number(e.split(':')[1])) } })) }],
});

const routes8080: RouteConfiguration = {
  name: '8080',
  virtual_hosts: [
    {
      name: 'web.ns.svc.cluster.local:8080',
      domains: ['web.ns.svc.cluster.local', 'web.ns.svc.cluster.local:8080', '10.0.0.5', '10.0.0.5:8080'],
      routes: [
        { name: 'api', match: { prefix: '/api' }, route: { cluster: 'outbound|8080||api' } },
        { name: 'default', match: { prefix: '/' }, route: { cluster: 'outbound|8080||web' } },
      ],
    },
    { name: 'long-suffix', domains: ['*.b.example.com'], routes: [{ match: { prefix: '/' }, route: { cluster: 'outbound|8080||b-example' } }] },
    { name: 'suffix', domains: ['*.example.com'], routes: [{ match: { prefix: '/' }, route: { cluster: 'outbound|8080||example' } }] },
    { name: 'prefix', domains: ['web.*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'outbound|8080||web-prefix' } }] },
    {
      name: 'weighted',
      domains: ['canary.ns.svc.cluster.local'],
      routes: [
        {
          match: { path: '/' },
          route: { weighted_clusters: { clusters: [{ name: 'outbound|8080|v1|canary', weight: { value: 90 } }, { name: 'outbound|8080|v2|canary', weight: 10 }] } },
        },
      ],
    },
    { name: 'regex', domains: ['re.ns.svc.cluster.local'], routes: [{ match: { safe_regex: { regex: '/v[0-9]+/.*' } }, route: { cluster: 'outbound|8080||re' } }] },
    { name: 'allow_any', domains: ['*'], routes: [{ name: 'allow_any', match: { prefix: '/' }, route: { cluster: 'PassthroughCluster' } }] },
  ],
};

function hand(): XdsState {
  return {
    listeners: [virtualOutbound, tcpListener('10.0.0.1', 20880, 'outbound|20880||a'), tcpListener('0.0.0.0', 20880, 'outbound|20880||b'), httpListener(8080)],
    routes: [routes8080],
    clusters: [
      { name: 'PassthroughCluster', type: 'ORIGINAL_DST' },
      { name: 'BlackHoleCluster' }, // STATIC (the zero value) without endpoints
      eds('outbound|20880||a'),
      eds('outbound|20880||b'),
      eds('outbound|8080||api'),
      eds('outbound|8080||web'),
      eds('outbound|8080||example'),
      eds('outbound|8080||b-example'),
      eds('outbound|8080||web-prefix'),
      eds('outbound|8080|v1|canary'),
      eds('outbound|8080|v2|canary'),
      eds('outbound|8080||re'),
    ],
    endpoints: [
      cla('outbound|20880||a', '127.0.0.11:20880'),
      cla('outbound|20880||b', '127.0.0.12:20880', '127.0.0.22:20880'),
      cla('outbound|8080||api', '10.1.0.1:8080'),
      cla('outbound|8080||web', '10.1.0.2:8080'),
      cla('outbound|8080||example', '10.1.0.3:8080'),
      cla('outbound|8080||b-example', '10.1.0.4:8080'),
      cla('outbound|8080||web-prefix', '10.1.0.5:8080'),
      cla('outbound|8080|v1|canary', '10.1.1.1:8080'),
      cla('outbound|8080|v2|canary', '10.1.1.2:8080'),
      cla('outbound|8080||re', '10.1.2.1:8080'),
    ],
  };
}

function cluster(r: Resolution): string {
  return r.type === 'rejected' ? `rejected: ${r.reason}` : `${r.type} ${r.cluster}`;
}

function check(state: XdsState, conn: Connection, want: string): Resolution {
  const r = resolve(state, conn);
  assert.equal(cluster(r), want, explain(r));
  return r;
}

test('virtualOutbound hands off to the exact ip:port listener, else the 0.0.0.0:port one', () => {
  const s = hand();
  const a = check(s, { ip: '10.0.0.1', port: 20880, protocol: 'tcp' }, 'endpoints outbound|20880||a');
  assert.equal(a.listener, '10.0.0.1_20880');
  assert.deepEqual(a.endpoints, ['127.0.0.11:20880']);
  const b = check(s, { ip: '127.0.0.12', port: 20880, protocol: 'tcp' }, 'endpoints outbound|20880||b');
  assert.equal(b.listener, '0.0.0.0_20880');
  assert.deepEqual(b.endpoints, ['127.0.0.12:20880', '127.0.0.22:20880']);
  assert.match(b.trace.join('\n'), /virtualOutbound \(use_original_dst\) hands off to 0\.0\.0\.0_20880: wildcard/);
});

test('no listener for the port: virtualOutbound\'s own chains (passthrough; black hole on 15001)', () => {
  const s = hand();
  const p = check(s, { ip: '192.0.2.7', port: 9999, protocol: 'tcp' }, 'passthrough PassthroughCluster');
  assert.equal(p.listener, 'virtualOutbound');
  assert.equal(p.filterChain, 'virtualOutbound-catchall-tcp');
  assert.deepEqual(p.endpoints, ['192.0.2.7:9999']);
  const bh = check(s, { ip: '192.0.2.7', port: 15001, protocol: 'tcp' }, 'blackhole BlackHoleCluster');
  assert.equal(bh.filterChain, 'virtualOutbound-blackhole', 'destination_port is decided before prefix_ranges');
  assert.deepEqual(bh.endpoints, []);
});

test('http_inspector sets the application protocol: HTTP goes to the HCM chain, opaque TCP to the other', () => {
  const s = hand();
  const h1 = check(s, { ip: '10.0.0.5', port: 8080, protocol: 'http1', authority: 'web.ns.svc.cluster.local:8080', path: '/api/x' }, 'endpoints outbound|8080||api');
  assert.equal(h1.filterChain, 'http');
  assert.equal(h1.route, 'api');
  check(s, { ip: '10.0.0.5', port: 8080, protocol: 'h2c', authority: 'web.ns.svc.cluster.local' }, 'endpoints outbound|8080||web');
  check(s, { ip: '10.0.0.5', port: 8080, protocol: 'http1' }, 'endpoints outbound|8080||web'); // authority defaults to ip:port
  const t = check(s, { ip: '10.0.0.5', port: 8080, protocol: 'tcp' }, 'passthrough PassthroughCluster');
  assert.equal(t.filterChain, 'tcp');
});

test('an http_inspector disabled for the port (filter_disabled) leaves HTTP on the non-HTTP chain', () => {
  const s = hand();
  const off: Listener = httpListener(8080, {
    listener_filters: [{ ...httpInspector, filter_disabled: { or_match: { rules: [{ destination_port_range: { start: 8080, end: 8081 } }] } } }],
  });
  const s2: XdsState = { ...s, listeners: [virtualOutbound, off] };
  const r = check(s2, { ip: '10.0.0.5', port: 8080, protocol: 'http1' }, 'passthrough PassthroughCluster');
  assert.match(explain(r), /no enabled http_inspector/);
  // An inspector on virtualOutbound itself ran before the hand-off: its result counts.
  const vo: Listener = { ...virtualOutbound, listener_filters: [...(virtualOutbound.listener_filters ?? []), httpInspector] };
  check({ ...s, listeners: [vo, { ...off, listener_filters: [] }] }, { ip: '10.0.0.5', port: 8080, protocol: 'http1' }, 'endpoints outbound|8080||web');
});

test('virtual hosts in Envoy\'s order: exact, longest suffix wildcard, prefix wildcard, "*"', () => {
  const s = hand();
  const http = (authority: string): Connection => ({ ip: '10.9.9.9', port: 8080, protocol: 'http1', authority });
  check(s, http('WEB.ns.svc.cluster.local:8080'), 'endpoints outbound|8080||web'); // case-insensitive
  check(s, http('a.b.example.com'), 'endpoints outbound|8080||b-example');
  check(s, http('x.example.com'), 'endpoints outbound|8080||example');
  check(s, http('example.com'), 'passthrough PassthroughCluster'); // "*.example.com" needs a label
  check(s, http('web.other'), 'endpoints outbound|8080||web-prefix');
  const any = check(s, http('10.0.0.5:9999'), 'passthrough PassthroughCluster'); // port is part of the host
  assert.equal(any.virtualHost, 'allow_any');
  assert.deepEqual(any.endpoints, ['10.9.9.9:8080'], 'passthrough goes to the original destination');
});

test('ignore_port_in_host_matching and strip_any_host_port drop the port before the lookup', () => {
  const s = hand();
  const rc: RouteConfiguration = {
    ...routes8080,
    ignore_port_in_host_matching: true,
    virtual_hosts: [{ name: 'only', domains: ['svc.local'], routes: [{ match: { prefix: '/' }, route: { cluster: 'outbound|8080||web' } }] }],
  };
  check({ ...s, routes: [rc] }, { ip: '10.0.0.5', port: 8080, protocol: 'h2c', authority: 'svc.local:1234' }, 'endpoints outbound|8080||web');
  const strict = { ...rc, ignore_port_in_host_matching: false };
  check({ ...s, routes: [strict] }, { ip: '10.0.0.5', port: 8080, protocol: 'h2c', authority: 'svc.local:1234' }, 'rejected: no virtual host for "svc.local:1234" (404)');
});

test('routes: first match wins; path exact and safe_regex; weighted clusters give every leg', () => {
  const s = hand();
  const w = check(s, { ip: '10.0.0.5', port: 8080, protocol: 'http1', authority: 'canary.ns.svc.cluster.local' }, 'endpoints outbound|8080|v1|canary');
  assert.deepEqual(
    w.type !== 'rejected' && w.clusters.map((c) => `${c.name}=${c.weight}`),
    ['outbound|8080|v1|canary=90', 'outbound|8080|v2|canary=10'],
  );
  assert.deepEqual(w.endpoints, ['10.1.1.1:8080', '10.1.1.2:8080']);
  check(s, { ip: '10.0.0.5', port: 8080, protocol: 'http1', authority: 'canary.ns.svc.cluster.local', path: '/x' }, 'rejected: no route of virtual host weighted matches /x (404)');
  check(s, { ip: '10.0.0.5', port: 8080, protocol: 'http1', authority: 're.ns.svc.cluster.local', path: '/v2/items?q=1' }, 'endpoints outbound|8080||re');
  check(s, { ip: '10.0.0.5', port: 8080, protocol: 'http1', authority: 're.ns.svc.cluster.local', path: '/x/v2/items' }, 'rejected: no route of virtual host regex matches /x/v2/items (404)');
});

test('filter chains: no backtracking once a level picked the most specific value', () => {
  const chains: FilterChain[] = [
    { name: 'port-tls', filter_chain_match: { destination_port: { value: 9000 }, transport_protocol: 'tls' }, filters: [tcpFilter('outbound|9000||tls')] },
    { name: 'any', filters: [tcpFilter('outbound|9000||any')] },
  ];
  const l: Listener = { name: '0.0.0.0_9000', address: addr('0.0.0.0', 9000), filter_chains: chains };
  const s: XdsState = { ...hand(), listeners: [virtualOutbound, l], clusters: [...hand().clusters, eds('outbound|9000||any'), eds('outbound|9000||dflt')] };
  check(s, { ip: '10.0.0.9', port: 9000, protocol: 'tcp' }, 'rejected: no filter chain of 0.0.0.0_9000 matches');
  const withDefault: Listener = { ...l, default_filter_chain: { filters: [tcpFilter('outbound|9000||dflt')] } };
  const r = check({ ...s, listeners: [virtualOutbound, withDefault] }, { ip: '10.0.0.9', port: 9000, protocol: 'tcp' }, 'rejected: cluster outbound|9000||dflt unusable (not in CDS, or its EDS not received)');
  assert.equal(r.filterChain, 'default_filter_chain');
});

test('filter chains: the most specific destination prefix wins; IPv6 is its own family', () => {
  const l: Listener = {
    name: 'virtualOutbound',
    address: addr('0.0.0.0', 15001),
    use_original_dst: true,
    filter_chains: [
      { name: 'wide', filter_chain_match: { prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }] }, filters: [tcpFilter('wide')] },
      { name: 'narrow', filter_chain_match: { prefix_ranges: [{ address_prefix: '10.1.0.0', prefix_len: { value: 16 } }, { address_prefix: '192.0.2.1', prefix_len: 32 }] }, filters: [tcpFilter('narrow')] },
      { name: 'v6', filter_chain_match: { prefix_ranges: [{ address_prefix: '2001:db8::', prefix_len: 32 }] }, filters: [tcpFilter('v6')] },
      { name: 'rest', filters: [tcpFilter('PassthroughCluster')] },
    ],
  };
  const s: XdsState = { listeners: [l], routes: [], clusters: [{ name: 'wide', type: 'STATIC', load_assignment: cla('wide', '10.255.0.1:1') }, { name: 'narrow', load_assignment: cla('narrow', '10.1.0.1:1') }, { name: 'v6', type: 'STRICT_DNS', load_assignment: cla('v6', 'v6.example:1') }, { name: 'PassthroughCluster', type: 'ORIGINAL_DST' }], endpoints: [] };
  assert.equal(resolve(s, { ip: '10.1.2.3', port: 1, protocol: 'tcp' }).filterChain, 'narrow');
  assert.equal(resolve(s, { ip: '10.2.2.3', port: 1, protocol: 'tcp' }).filterChain, 'wide');
  assert.equal(resolve(s, { ip: '192.0.2.1', port: 1, protocol: 'tcp' }).filterChain, 'narrow');
  assert.equal(resolve(s, { ip: '192.0.2.2', port: 1, protocol: 'tcp' }).filterChain, 'rest');
  const v6 = resolve(s, { ip: '2001:db8::1', port: 443, protocol: 'tcp' });
  assert.equal(v6.filterChain, 'v6');
  assert.deepEqual(v6.endpoints, ['v6.example:1']);
  assert.deepEqual(resolve(s, { ip: '2001:db9::1', port: 443, protocol: 'tcp' }).endpoints, ['[2001:db9::1]:443']);
});

test('EDS: missing assignments are rejected with a reason; unhealthy and draining endpoints are left out', () => {
  const s = hand();
  const noEds: XdsState = { ...s, endpoints: s.endpoints.filter((e) => e.cluster_name !== 'outbound|20880||b') };
  check(noEds, { ip: '127.0.0.12', port: 20880, protocol: 'tcp' }, 'rejected: cluster outbound|20880||b unusable (not in CDS, or its EDS not received)');
  const mixed: ClusterLoadAssignment = {
    cluster_name: 'outbound|20880||b',
    endpoints: [
      {
        lb_endpoints: [
          { endpoint: { address: addr('127.0.0.12', 20880) }, health_status: 'HEALTHY' },
          { endpoint: { address: addr('127.0.0.13', 20880) }, health_status: 'UNHEALTHY' },
          { endpoint: { address: addr('127.0.0.14', 20880) }, health_status: 'DRAINING' },
        ],
      },
    ],
  };
  const r = resolve({ ...s, endpoints: [...noEds.endpoints, mixed] }, { ip: '127.0.0.12', port: 20880, protocol: 'tcp' });
  assert.deepEqual(r.endpoints, ['127.0.0.12:20880'], explain(r));
});

test('no use_original_dst listener: only listeners bound at the address (or its wildcard) take it', () => {
  const s: XdsState = { ...hand(), listeners: [tcpListener('0.0.0.0', 20880, 'outbound|20880||b')] };
  check(s, { ip: '10.0.0.1', port: 20880, protocol: 'tcp' }, 'endpoints outbound|20880||b');
  check(s, { ip: '10.0.0.1', port: 20881, protocol: 'tcp' }, 'rejected: no listener for 10.0.0.1:20881 and no use_original_dst listener');
});

test('subscriptions: EDS service names and the RDS names HCMs reference', () => {
  const s = hand();
  assert.deepEqual(edsNames(s.clusters).slice(0, 3), ['outbound|20880||a', 'outbound|20880||b', 'outbound|8080|v1|canary']);
  assert.equal(edsNames(s.clusters).length, 10);
  assert.deepEqual(rdsNames(s.listeners), ['8080']);
});

test('cidr: parsing and containment', () => {
  assert.equal(parseIp('::ffff:1.2.3.4')?.value, (0xffffn << 32n) | 0x01020304n);
  assert.equal(parseIp('[::1]')?.value, 1n);
  assert.equal(parseIp('1.2.3.256'), undefined);
  assert.equal(parseIp('1::2::3'), undefined);
  const c = parseCidr({ address_prefix: '10.1.2.3', prefix_len: 16 })!;
  assert.ok(cidrContains(c, parseIp('10.1.200.1')!));
  assert.ok(!cidrContains(c, parseIp('10.2.0.1')!));
  assert.ok(!cidrContains(c, parseIp('::a01:1')!), 'families differ');
});

test('resolve is cheap on one state: thousands of calls (reported, not asserted)', (t) => {
  const s = hand();
  const t0 = performance.now();
  let n = 0;
  for (let i = 0; i < 5000; i++) {
    const r = resolve(s, { ip: `10.0.${i % 250}.${i % 200}`, port: i % 2 === 0 ? 20880 : 8080, protocol: i % 3 === 0 ? 'tcp' : 'h2c', authority: `web.ns.svc.cluster.local:8080` });
    if (r.type !== 'rejected') n++;
  }
  assert.equal(n, 5000);
  t.diagnostic(`5000 resolve() calls on the hand-built state: ${(performance.now() - t0).toFixed(1)} ms`);
});

/** The sidecar state the real istiod (1.31-dev, mcp mode) sent; see fixtures/README.md. */
const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../test-support/dataplane/fixtures/istiod-mcp-sidecar.json', import.meta.url)), 'utf8'),
) as XdsState;

test('real istiod: two TCP services on 20880 without addresses share 0.0.0.0_20880; the older (A) wins', () => {
  const b = check(fixture, { ip: '127.0.0.12', port: 20880, protocol: 'tcp' }, 'endpoints outbound|20880||provider-a.dubbo.files.local');
  assert.equal(b.listener, '0.0.0.0_20880');
  assert.deepEqual(b.endpoints, ['127.0.0.11:20880'], 'B\'s address reaches A\'s provider: the misroute of issue 11');
  assert.ok(fixture.clusters.some((c) => c.name === 'outbound|20880||provider-b.dubbo.files.local'), 'B\'s cluster exists, unreachable by address');
});

test('real istiod: HTTP by host name reaches the service; by a provider\'s ip:port it passes through', () => {
  const byName = check(fixture, { ip: '127.0.0.13', port: 50051, protocol: 'h2c', authority: 'greeter.grpc.files.local:50051' }, 'endpoints outbound|50051||greeter.grpc.files.local');
  assert.deepEqual(byName.endpoints, ['127.0.0.13:50051']);
  assert.equal(byName.filterChain, '#0');
  const byIp = check(fixture, { ip: '127.0.0.13', port: 50051, protocol: 'h2c', authority: '127.0.0.13:50051' }, 'passthrough PassthroughCluster');
  assert.equal(byIp.virtualHost, 'allow_any');
  // istiod sets ignore_port_in_host_matching: the port of the authority plays no part.
  check(fixture, { ip: '127.0.0.13', port: 50051, protocol: 'http1', authority: 'greeter.grpc.files.local:1' }, 'endpoints outbound|50051||greeter.grpc.files.local');
});

test('real istiod: exact-address listener, passthrough and black hole via virtualOutbound', () => {
  const k = check(fixture, { ip: '10.0.0.1', port: 443, protocol: 'tcp' }, 'endpoints outbound|443||kubernetes.default.svc.cluster.local');
  assert.equal(k.listener, '10.0.0.1_443');
  check(fixture, { ip: '10.0.0.2', port: 443, protocol: 'tcp' }, 'passthrough PassthroughCluster');
  check(fixture, { ip: '192.0.2.1', port: 15001, protocol: 'tcp' }, 'blackhole BlackHoleCluster');
  // the HTTP chain of 0.0.0.0_50051 wants an application protocol: opaque TCP takes istiod's default chain
  const opaque = check(fixture, { ip: '127.0.0.13', port: 50051, protocol: 'tcp' }, 'passthrough PassthroughCluster');
  assert.equal(opaque.filterChain, 'default_filter_chain');
});
