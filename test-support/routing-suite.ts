/**
 * Issue 11's proof, for one route (MCP or Kubernetes): a file registry holding the shapes that
 * trip L4 routing -> `meshbridge run` (addresses: providers, the default) -> a real istiod -> a
 * sidecar-posing xDS client (with and without DNS capture) -> the resolver (Envoy's listener,
 * filter-chain, route and cluster semantics).
 *
 * For every published service, every port and every endpoint, a connection to the endpoint's
 * ip:port (and, for HTTP ports, a request by the service's host) must resolve to a cluster of
 * that service, or of a shared ServiceEntry that serves it, whose endpoints all serve it. Never
 * another service's cluster, never a pass-through or a black hole.
 *
 * Shapes (addresses are 127.0.0.x, never dialled):
 * - Dubbo interfaces on one port on different hosts (dubbo-a, dubbo-b on 20880);
 * - one process exporting interfaces with differing provider sets on one ip:port (iface-c on .21
 *   and .22, iface-d and iface-e on .21 only, 20881);
 * - a Dubbo 3 application-level service with two ports (app-shop: 20882 TCP, 50052 GRPC);
 * - triple/gRPC services on one port (greeter, greeter-2 on 50051);
 * - Spring Cloud style HTTP services on 8080 (orders on two hosts, users);
 * - Dubbo 3 triple: two processes exporting the same two interfaces on one gRPC port (tri-a,
 *   tri-b on 50053: a shared HTTP group of two ip:ports);
 * - a TCP service with 20 providers (more addresses than one entry carries: chunk entries);
 * - Consul style services sharing a port, TCP and HTTP (consul-tcp, consul-http on 9000);
 * - from a real Eureka server: Spring Cloud style apps on 8080 (catalog on two hosts, billing).
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadPeers, requirePeers, type KubeApi, type Istiod } from './peers.js';
import { startMeshbridge, tempDir, writeRunConfig, writeServices, type FileService, type MeshbridgeProcess } from './meshbridge.js';
import { edsNames, explain, rdsNames, resolve, startSidecar, type Connection, type SidecarClient, type XdsState } from './dataplane/index.js';
import { claAddresses, LeanSidecar } from './dataplane/lean-sidecar.js';
import { loadEureka, type EurekaServer } from './eureka.js';

const DEADLINE = 90_000;
const REG = 'files';

function svc(name: string, ports: ReadonlyArray<[number, string]>, ips: readonly string[]): FileService {
  return {
    name,
    namespace: 'shop',
    ports: ports.map(([number, protocol]) => ({ number, name: `${protocol.toLowerCase()}-${number}`, protocol })),
    instances: ips.map((address) => ({ address, weight: 1, labels: { app: name } })),
  };
}

export const ROUTING_SERVICES: readonly FileService[] = [
  svc('dubbo-a', [[20880, 'TCP']], ['127.0.0.11']),
  svc('dubbo-b', [[20880, 'TCP']], ['127.0.0.12']),
  svc('iface-c', [[20881, 'TCP']], ['127.0.0.21', '127.0.0.22']),
  svc('iface-d', [[20881, 'TCP']], ['127.0.0.21']),
  svc('iface-e', [[20881, 'TCP']], ['127.0.0.21']),
  svc('app-shop', [[20882, 'TCP'], [50052, 'GRPC']], ['127.0.0.41']),
  svc('greeter', [[50051, 'GRPC']], ['127.0.0.13']),
  svc('greeter-2', [[50051, 'GRPC']], ['127.0.0.14']),
  svc('orders', [[8080, 'HTTP']], ['127.0.0.31', '127.0.0.32', '127.0.0.34']),
  svc('users', [[8080, 'HTTP']], ['127.0.0.33']),
  // Dubbo 3 triple: two processes both exporting two interfaces on one gRPC port.
  svc('tri-a', [[50053, 'GRPC']], ['127.0.0.61', '127.0.0.62']),
  svc('tri-b', [[50053, 'GRPC']], ['127.0.0.61', '127.0.0.62']),
  // A TCP service with more providers than one entry carries addresses for (16): chunk entries.
  svc('wide', [[20883, 'TCP']], Array.from({ length: 20 }, (_, i) => `127.0.1.${i + 1}`)),
  svc('consul-tcp', [[9000, 'TCP']], ['127.0.0.51']),
  svc('consul-http', [[9000, 'HTTP']], ['127.0.0.52']),
];

/** A published ServiceEntry as Meshbridge's /debug/snapshot shows it. */
interface PublishedEntry {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly spec: {
    hosts: string[];
    addresses?: string[];
    ports: Array<{ number: number; name: string; protocol: string }>;
    endpoints?: Array<{ address: string; ports?: Record<string, number> }>;
  };
}

export interface Verdict {
  readonly checks: number;
  readonly failures: readonly string[];
  /** Clusters whose EDS lists an ip:port more than once, with the count. */
  readonly duplicates: readonly string[];
}

/** What a published per-service ServiceEntry promises: its host, ports and provider ip:ports. */
interface Expected {
  readonly host: string;
  readonly ports: ReadonlyArray<{ readonly number: number; readonly protocol: string; readonly ips: readonly string[] }>;
}

/** The per-service entries Meshbridge published (shared and chunk entries left out). */
function expectedFrom(published: readonly PublishedEntry[]): Expected[] {
  return published
    .filter((e) => e.labels['meshbridge.io/shared'] !== 'true')
    .map((e) => ({
      host: e.spec.hosts[0] ?? '',
      ports: e.spec.ports.map((p) => ({
        number: p.number,
        protocol: p.protocol,
        // An endpoint listens on the service port unless it names another one for this port.
        ips: (e.spec.endpoints ?? []).filter((x) => (x.ports?.[p.name] ?? p.number) === p.number).map((x) => x.address),
      })),
    }));
}

/**
 * Checks every published service, port and endpoint against the sidecar's state: a connection to
 * each endpoint ip:port (by protocol), and for HTTP ports a request by host, must reach a cluster
 * of that service, or of a shared entry serving it, whose endpoints all serve it.
 */
export function verifyRouting(state: XdsState, published: readonly PublishedEntry[]): Verdict {
  const failures: string[] = [];
  let checks = 0;
  const expected = expectedFrom(published);
  const byHost = new Map(published.map((e) => [e.spec.hosts[0] ?? '', e]));
  const serving = new Map<string, Set<string>>();
  for (const x of expected) for (const p of x.ports) serving.set(`${x.host}|${p.number}`, new Set(p.ips.map((ip) => `${ip}:${p.number}`)));
  const acceptable = (host: string, port: number, clusterName: string, endpoints: readonly string[]): string | undefined => {
    const m = /^outbound\|(\d+)\|\|(.+)$/.exec(clusterName);
    if (m === null) return `not a service cluster (${clusterName})`;
    const target = m[2] ?? '';
    if (target !== host) {
      const shared = byHost.get(target);
      const serves = (shared?.annotations['meshbridge.io/serves'] ?? '').split(',');
      if (shared?.labels['meshbridge.io/shared'] !== 'true' || !serves.includes(host)) return `another service's cluster (${clusterName})`;
    }
    const ok = serving.get(`${host}|${port}`) ?? new Set<string>();
    const bad = endpoints.filter((e) => !ok.has(e));
    if (endpoints.length === 0) return `no endpoints in ${clusterName}`;
    if (bad.length > 0) return `endpoints ${bad.join(', ')} of ${clusterName} do not serve ${host}:${port}`;
    return undefined;
  };
  const check = (what: string, host: string, port: number, c: Connection): void => {
    checks += 1;
    const r = resolve(state, c);
    if (r.type !== 'endpoints') {
      failures.push(`${what}: ${r.type}\n${explain(r)}`);
      return;
    }
    const why = acceptable(host, port, r.cluster, r.endpoints);
    if (why !== undefined) failures.push(`${what}: ${why}\n${explain(r)}`);
  };
  for (const x of expected) {
    for (const p of x.ports) {
      const protocol = p.protocol === 'TCP' ? 'tcp' : p.protocol === 'HTTP' ? 'http1' : 'h2c';
      for (const ip of p.ips) check(`${x.host}: ${ip}:${p.number} (${protocol})`, x.host, p.number, { ip, port: p.number, protocol });
      if (protocol !== 'tcp' && p.ips[0] !== undefined) {
        // By name: the client dials some address of the host (a provider) with the host as authority.
        check(`${x.host}: authority ${x.host}:${p.number}`, x.host, p.number, { ip: p.ips[0], port: p.number, protocol, authority: `${x.host}:${p.number}` });
      }
    }
  }
  const duplicates: string[] = [];
  for (const cla of state.endpoints) {
    const seen = new Map<string, number>();
    for (const l of cla.endpoints ?? []) {
      for (const lb of l.lb_endpoints ?? []) {
        const sa = lb.endpoint?.address?.socket_address;
        const k = `${sa?.address ?? ''}:${sa?.port_value ?? 0}`;
        seen.set(k, (seen.get(k) ?? 0) + 1);
      }
    }
    for (const [k, n] of seen) if (n > 1) duplicates.push(`${cla.cluster_name ?? ''} ${k} x${n}`);
  }
  return { checks, failures, duplicates };
}

export interface RoutingSuiteOptions {
  readonly mode: 'mcp' | 'kubernetes';
  readonly namespace: string;
  /** MCP route: serve this many shards (sinks.xds.shards), istiod lists every one. */
  readonly shards?: number;
}

/** Registers the hooks and tests of one route in the calling test file. */
export async function routingSuite(options: RoutingSuiteOptions): Promise<void> {
  const { mode, namespace: NS } = options;
  const shards = options.shards ?? 1;
  const skip = await requirePeers(...(mode === 'kubernetes' ? (['etcd', 'kube-apiserver', 'istio-crds', 'istiod'] as const) : (['etcd', 'kube-apiserver', 'istiod'] as const)));
  let api: KubeApi | undefined;
  let istiod: Istiod | undefined;
  let mb: MeshbridgeProcess | undefined;
  let eureka: EurekaServer | undefined;
  const sidecars: SidecarClient[] = [];
  let published: PublishedEntry[] = [];

  /** Every service's cluster has its endpoints (and the shared ones too). */
  const complete = (s: XdsState, sidecar: SidecarClient): boolean => {
    if (!sidecar.warm(s)) return false;
    const names = new Set(published.flatMap((e) => e.spec.ports.map((p) => `outbound|${p.number}||${e.spec.hosts[0] ?? ''}`)));
    const withEndpoints = new Set(s.endpoints.filter((c) => (c.endpoints ?? []).some((l) => (l.lb_endpoints ?? []).length > 0)).map((c) => c.cluster_name ?? ''));
    return [...names].every((n) => withEndpoints.has(n));
  };

  before(async () => {
    if (skip !== undefined) return;
    const peers = await loadPeers();
    // A real Eureka server with Spring Cloud style apps on 8080, the port the file registry's
    // orders and users use too (HTTP services of two registries on one port).
    const eu = await loadEureka();
    eureka = await eu.startEureka();
    for (const [app, id, ip] of [['CATALOG', 'catalog-1', '127.0.0.71'], ['CATALOG', 'catalog-2', '127.0.0.72'], ['BILLING', 'billing-1', '127.0.0.73']] as const) {
      await eu.register(eureka.url, { app, id, ip, port: 8080 });
    }
    api = await peers.startKubeApiserver({ authorization: 'AlwaysAllow' });
    const dir = await tempDir(`meshbridge-routing-${mode}-`);
    const [adminPort, xdsPort] = (await peers.freePorts(2)) as [number, number];
    await writeServices(join(dir, 'services.yaml'), ROUTING_SERVICES);
    const config = await writeRunConfig(dir, {
      registries: `  - {name: ${REG}, kind: file, file: {path: services.yaml, pollIntervalMs: 500}, namespace: ${NS}}
  - {name: eureka, kind: eureka, eureka: {serviceUrls: ["${eureka.url}/"], intervalMs: 500}, namespace: ${NS}}`,
      sinks: mode === 'mcp' ? `  xds: {address: 127.0.0.1:${shards > 1 ? 0 : xdsPort}, shards: ${shards}}` : `  kubernetes: {kubeconfig: ${api.kubeconfigPath}}`,
      admin: adminPort,
    });
    if (mode === 'mcp') {
      mb = await startMeshbridge({ config, adminPort });
      // Sharded: each shard picked a free port; istiod lists every one as a config source.
      const ports = shards > 1 ? ((await mb.debug('xds')) as { servers: Array<{ port: number }> }).servers.map((s) => s.port) : [xdsPort];
      const meshConfig = `configSources:\n${ports.map((p) => `- address: xds://127.0.0.1:${p}\n`).join('')}`;
      istiod = await peers.startIstiod({ mode: 'mcp', xdsAddress: `127.0.0.1:${ports[0] ?? xdsPort}`, kubeconfig: api.kubeconfigPath, api, timeoutMs: 90_000, meshConfig });
      if (shards > 1) {
        const servers = ((await mb.debug('xds')) as { servers: Array<{ shard: number; resources: number; clients: unknown[] }> }).servers;
        assert.equal(servers.length, shards);
        for (const s of servers) assert.ok(s.clients.length >= 1, `istiod streams from shard ${s.shard} (${s.resources} resources)`);
        assert.ok(servers.filter((s) => s.resources > 0).length >= 2, `resources spread over the shards: ${servers.map((s) => s.resources).join(' ')}`);
      }
    } else {
      await peers.applyIstioCrds(api);
      await peers.ensureNamespace(api, NS);
      istiod = await peers.startIstiod({ mode: 'kubernetes', kubeconfig: api.kubeconfigPath, api, timeoutMs: 90_000 });
      mb = await startMeshbridge({ config, adminPort });
    }
    const snap = (await mb.debug('snapshot')) as { kinds?: { ServiceEntry?: { resources: PublishedEntry[] } } };
    published = snap.kinds?.ServiceEntry?.resources ?? [];
  });

  after(async () => {
    for (const s of sidecars) s.close();
    await mb?.kill().catch(() => undefined);
    await istiod?.stop();
    await api?.stop();
    await eureka?.stop();
  });

  const sidecarCase = (label: string, dns: boolean, ip: string): void => {
    test(`${mode} route, sidecar ${label}: every provider ip:port and every HTTP host reaches only providers of the service dialled`, { skip }, async (t) => {
      assert.ok(published.some((e) => (e.spec.addresses ?? []).length > 0), 'the published ServiceEntries carry addresses (addresses: providers is the default)');
      const sidecar = startSidecar({ address: istiod!.grpcAddress, ip, pod: `client-${dns ? 'dns' : 'plain'}`, namespace: `${NS}-client`, ...(dns ? { dnsCapture: true, dnsAutoAllocate: true } : {}) });
      sidecars.push(sidecar);
      const state = await sidecar.waitFor((s) => complete(s, sidecar), DEADLINE);
      const v = verifyRouting(state, published);
      t.diagnostic(`${v.checks} connections checked; shared entries: ${published.filter((e) => e.labels['meshbridge.io/shared'] === 'true').map((e) => `${e.spec.hosts[0] ?? ''} -> ${e.annotations['meshbridge.io/serves'] ?? ''}`).join('; ')}`);
      t.diagnostic(`EDS entries listed more than once: ${v.duplicates.length === 0 ? 'none' : v.duplicates.join('; ')}`);
      assert.ok(v.checks >= 50, `checked ${v.checks}`);
      assert.ok(published.some((e) => e.spec.hosts[0]?.includes('.eureka') === true || e.labels['meshbridge.io/registry'] === 'eureka'), 'the Eureka registry\'s services are published and checked');
      assert.deepEqual(v.failures, [], v.failures.join('\n\n'));
    });
  };
  sidecarCase('without DNS capture', false, '10.10.0.5');
  sidecarCase('with DNS capture and auto-allocation', true, '10.10.0.6');

  // The benches' LeanSidecar reads only a few fields off the wire; it must subscribe to and hold
  // what the full client (and Envoy) does, or every bench figure through istiod is wrong.
  test(`${mode} route: the benches' lean sidecar client subscribes to and holds what the full client decodes`, { skip }, async () => {
    const id = { address: istiod!.grpcAddress, ip: '10.10.0.7', pod: 'client-lean', namespace: `${NS}-client` };
    const full = startSidecar(id);
    sidecars.push(full);
    const lean = new LeanSidecar(id).start();
    try {
      const state = await full.waitFor((s) => complete(s, full), DEADLINE);
      await lean.waitFor(() => lean.edsNames().length === edsNames(state.clusters).length, DEADLINE);
      assert.deepEqual(lean.errors, []);
      assert.deepEqual(lean.edsNames(), edsNames(state.clusters), 'EDS subscription');
      assert.deepEqual(lean.rdsNames(), rdsNames(state.listeners), 'RDS subscription');
      assert.ok(lean.edsNames().length >= published.length, `${lean.edsNames().length} EDS clusters`);
      for (const cla of state.endpoints) {
        const want = (cla.endpoints ?? []).flatMap((l) => (l.lb_endpoints ?? []).map((e) => e.endpoint?.address?.socket_address?.address ?? '')).sort();
        assert.deepEqual(lean.addresses(cla.cluster_name).sort(), want, `endpoints of ${cla.cluster_name}`);
      }
      assert.deepEqual(claAddresses(Buffer.alloc(0)), []);
    } finally {
      lean.close();
    }
  });
}
