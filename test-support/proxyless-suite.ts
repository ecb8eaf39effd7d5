/**
 * Routing proven from the data plane, for one route (MCP or Kubernetes): a file registry (edited
 * by the test) -> `meshbridge run` -> a real istiod -> a real proxyless gRPC client
 * (@grpc/grpc-js-xds, bootstrapped against istiod's plaintext xDS port with the gRPC generator)
 * calling real @grpc/grpc-js servers on loopback addresses through the API listener, route,
 * cluster and endpoints istiod built from Meshbridge's ServiceEntry.
 *
 * Two services share one port number P on distinct loopback IPs (Linux routes all of 127/8 to
 * lo): echo (127.0.0.21:P, 127.0.0.22:P) and other (127.0.0.23:P). Every server counts the calls
 * it answers, so a call reaching the wrong service's server shows; and since a provider removed
 * from the registry keeps its server running, only the EDS update can stop its calls.
 *
 * grpc-js-xds reads its bootstrap once per process (GRPC_XDS_BOOTSTRAP_CONFIG, cached by the first
 * xds: channel), so one test file runs one route: `proxylessSuite` sets the variable once, after
 * istiod started. Latencies are reported (t.diagnostic), never asserted; deadlines are generous.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { register as registerXds } from '@grpc/grpc-js-xds';
import { loadPeers, requirePeers, type KubeApi, type Istiod, type PeersModule } from './peers.js';
import { eventually } from './kube.js';
import { startMeshbridge, tempDir, writeRunConfig, writeServices, type FileService, type MeshbridgeProcess } from './meshbridge.js';
import { expectedView, hostOf, istiodView } from './istiod-view.js';
import { echoClient, startEchoServer, tally, type EchoClient, type EchoServer } from './grpc-echo.js';
import { grpcBootstrap } from './grpc-bootstrap.js';

const DEADLINE = 60_000;
const REG = 'files';
const CALLS = 30;
const PROVIDERS = [
  ['echo-a', '127.0.0.21'],
  ['echo-b', '127.0.0.22'],
  ['other-a', '127.0.0.23'],
] as const;

export interface ProxylessSuiteOptions {
  readonly mode: 'mcp' | 'kubernetes';
  /** Kubernetes namespace of the ServiceEntries (and of the gRPC client). */
  readonly namespace: string;
}

/** Registers the before/after hooks and the tests of one route in the calling test file. */
export async function proxylessSuite(options: ProxylessSuiteOptions): Promise<void> {
  const { mode, namespace: NS } = options;
  const skip = await requirePeers(...(mode === 'kubernetes' ? (['etcd', 'kube-apiserver', 'istio-crds', 'istiod'] as const) : (['etcd', 'kube-apiserver', 'istiod'] as const)));
  let peers: PeersModule;
  let api: KubeApi | undefined;
  let istiod: Istiod | undefined;
  let mb: MeshbridgeProcess | undefined;
  let client: EchoClient | undefined;
  const servers = new Map<string, EchoServer>();
  let servicesPath = '';
  let port = 0;

  const service = (name: string, providers: readonly string[]): FileService => ({
    name,
    namespace: 'shop',
    ports: [{ number: port, name: 'grpc', protocol: 'GRPC' }],
    instances: providers.map((id) => ({ address: PROVIDERS.find(([p]) => p === id)![1], weight: 1, labels: { app: name, instance: id } })),
  });
  /** The registry: echo served by `echoProviders`, other by other-a. */
  const registry = (echoProviders: readonly string[]): FileService[] => [service('echo', echoProviders), service('other', ['other-a'])];

  const istiodShows = async (services: readonly FileService[], what: string): Promise<void> => {
    const want = JSON.stringify(expectedView(services, REG));
    let last = '';
    await eventually(async () => {
      last = JSON.stringify(await istiodView(istiod!, REG, NS));
      return last === want ? true : undefined;
    }, DEADLINE, `istiod shows ${what}`).catch((e: unknown) => {
      throw new Error(`${e instanceof Error ? e.message : String(e)}\nwant ${want}\ngot  ${last}`);
    });
  };
  const counts = (): Record<string, number> => Object.fromEntries([...servers].map(([id, s]) => [id, s.calls()]));
  const delta = (since: Record<string, number>): Record<string, number> =>
    Object.fromEntries(Object.entries(counts()).map(([id, n]) => [id, n - (since[id] ?? 0)]));

  /** Calls until `window` consecutive replies all come from `ids` and cover each; resolves with ms. */
  const settlesOn = async (ids: readonly string[], what: string, window = 10): Promise<number> => {
    const t0 = Date.now();
    let recent: string[] = [];
    await eventually(async () => {
      recent = [...recent, await client!.who(DEADLINE)].slice(-window);
      return recent.length === window && recent.every((r) => ids.includes(r)) && ids.every((id) => recent.includes(id)) ? true : undefined;
    }, DEADLINE, `${what} (last replies: ${recent.join(', ')})`, 0);
    return Date.now() - t0;
  };

  before(async () => {
    if (skip !== undefined) return;
    peers = await loadPeers();
    [port] = (await peers.freePorts(1)) as [number];
    for (const [id, host] of PROVIDERS) servers.set(id, await startEchoServer({ identity: id, host, port }));
    api = await peers.startKubeApiserver({ authorization: 'AlwaysAllow' });
    const dir = await tempDir(`meshbridge-grpc-${mode}-`);
    const [adminPort, xdsPort] = (await peers.freePorts(2)) as [number, number];
    servicesPath = join(dir, 'services.yaml');
    await writeServices(servicesPath, registry(['echo-a', 'echo-b']));
    const config = await writeRunConfig(dir, {
      registries: `  - {name: ${REG}, kind: file, file: {path: services.yaml, pollIntervalMs: 500}, namespace: ${NS}}`,
      sinks: mode === 'mcp' ? `  xds: {address: 127.0.0.1:${xdsPort}}` : `  kubernetes: {kubeconfig: ${api.kubeconfigPath}}`,
      admin: adminPort,
    });
    if (mode === 'mcp') {
      // Meshbridge first: istiod exits at start when nothing listens on its xds:// config source.
      mb = await startMeshbridge({ config, adminPort });
      istiod = await peers.startIstiod({ mode: 'mcp', xdsAddress: `127.0.0.1:${xdsPort}`, kubeconfig: api.kubeconfigPath, api, timeoutMs: 90_000 });
    } else {
      await peers.applyIstioCrds(api);
      await peers.ensureNamespace(api, NS);
      istiod = await peers.startIstiod({ mode: 'kubernetes', kubeconfig: api.kubeconfigPath, api, timeoutMs: 90_000 });
      mb = await startMeshbridge({ config, adminPort });
    }
    process.env['GRPC_XDS_BOOTSTRAP_CONFIG'] = JSON.stringify(grpcBootstrap({ xdsServer: istiod.grpcAddress, namespace: NS }));
    registerXds();
    await istiodShows(registry(['echo-a', 'echo-b']), 'echo and other');
    client = echoClient(`xds:///${hostOf({ name: 'echo', namespace: 'shop' }, REG)}:${port}`);
  });

  after(async () => {
    client?.close();
    await mb?.kill().catch(() => undefined);
    await istiod?.stop();
    await api?.stop();
    for (const s of servers.values()) await s.stop();
  });

  test(`${mode} route: a proxyless gRPC client resolves the ServiceEntry through istiod and reaches only its providers`, { skip }, async (t) => {
    const t0 = Date.now();
    const first = await client!.who(DEADLINE);
    t.diagnostic(`${mode} route: first xds:/// call (LDS, RDS, CDS, EDS from istiod, then connect): ${Date.now() - t0} ms, answered by ${first}`);
    const since = counts();
    const t1 = Date.now();
    const replies = await tally(client!, CALLS);
    t.diagnostic(`${mode} route: ${CALLS} sequential calls in ${Date.now() - t1} ms; replies ${JSON.stringify(Object.fromEntries(replies))}`);
    assert.deepEqual([...replies.keys()].sort(), ['echo-a', 'echo-b'], 'both providers of echo answer, nobody else');
    assert.deepEqual(delta(since), { 'echo-a': replies.get('echo-a'), 'echo-b': replies.get('echo-b'), 'other-a': 0 }, 'server-side counts agree; other is never called');
  });

  test(`${mode} route: a provider removed from the registry stops getting calls (failover) and gets them again once added back`, { skip }, async (t) => {
    let t0 = Date.now();
    await writeServices(servicesPath, registry(['echo-a']));
    let calling = await settlesOn(['echo-a'], 'calls reach echo-a only');
    t.diagnostic(`${mode} route: registry edit (echo-b removed) -> the client calls echo-a only: ${Date.now() - t0} ms (${calling} ms of calls)`);
    await istiodShows(registry(['echo-a']), 'echo with echo-a only');
    let since = counts();
    let replies = await tally(client!, CALLS);
    assert.deepEqual(Object.fromEntries(replies), { 'echo-a': CALLS }, 'only the remaining provider answers');
    assert.deepEqual(delta(since), { 'echo-a': CALLS, 'echo-b': 0, 'other-a': 0 }, 'the removed provider is not called although its server still listens');

    t0 = Date.now();
    await writeServices(servicesPath, registry(['echo-a', 'echo-b']));
    calling = await settlesOn(['echo-a', 'echo-b'], 'calls reach echo-a and echo-b again');
    t.diagnostic(`${mode} route: registry edit (echo-b added back) -> the client calls both: ${Date.now() - t0} ms (${calling} ms of calls)`);
    since = counts();
    replies = await tally(client!, CALLS);
    assert.deepEqual([...replies.keys()].sort(), ['echo-a', 'echo-b'], 'both providers answer again');
    assert.equal(delta(since)['other-a'], 0, 'other is never called');
  });
}
