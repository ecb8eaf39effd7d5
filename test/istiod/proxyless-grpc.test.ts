/**
 * Routing proven from the data plane on the MCP route: a file registry (edited by the test) ->
 * `meshbridge run` (sinks.xds) -> a real istiod -> a real proxyless gRPC client
 * (@grpc/grpc-js-xds, bootstrapped against istiod's plaintext xDS port with the gRPC generator)
 * calling real @grpc/grpc-js servers on loopback addresses through the API listener, route,
 * cluster and endpoints istiod built from Meshbridge's ServiceEntry.
 *
 * Two services share one port number P on distinct loopback IPs (Linux routes all of 127/8 to
 * lo): echo (127.0.0.21:P, 127.0.0.22:P) and other (127.0.0.23:P). Every server counts the calls
 * it answers, so a call that reaches the wrong service's server shows, and removing a provider
 * from the registry while its server keeps running shows that the client follows EDS, not
 * connection failures.
 *
 * grpc-js-xds reads its bootstrap once per process (GRPC_XDS_BOOTSTRAP_CONFIG, cached on the first
 * xds: channel): this file sets it once, after istiod started. Latencies are reported
 * (t.diagnostic), never asserted; deadlines are generous.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { register as registerXds } from '@grpc/grpc-js-xds';
import { loadPeers, requirePeers, type KubeApi, type Istiod, type PeersModule } from '../support/peers.js';
import { eventually } from '../support/kube.js';
import { startMeshbridge, tempDir, writeServices, type FileService, type MeshbridgeProcess } from '../support/meshbridge.js';
import { expectedView, hostOf, istiodView } from '../support/istiod-view.js';
import { echoClient, startEchoServer, tally, type EchoClient, type EchoServer } from '../support/grpc-echo.js';
import { grpcBootstrap } from '../support/grpc-bootstrap.js';

const skip = await requirePeers('etcd', 'kube-apiserver', 'istiod');
const DEADLINE = 60_000;
const NS = 'mb-grpc-mcp';
const REG = 'files';
const CALLS = 30;
let peers: PeersModule;
let api: KubeApi | undefined;
let istiod: Istiod | undefined;
let mb: MeshbridgeProcess | undefined;
let client: EchoClient | undefined;
const servers = new Map<string, EchoServer>();
let servicesPath = '';
let port = 0;

function service(name: string, providers: readonly string[]): FileService {
  return {
    name,
    namespace: 'shop',
    ports: [{ number: port, name: 'grpc', protocol: 'GRPC' }],
    instances: providers.map((id) => ({ address: servers.get(id)!.address.split(':')[0]!, weight: 1, labels: { app: name, instance: id } })),
  };
}

/** The registry with echo served by `echoProviders` and other by other-a. */
function registry(echoProviders: readonly string[]): FileService[] {
  return [service('echo', echoProviders), service('other', ['other-a'])];
}

async function istiodShows(services: readonly FileService[], what: string): Promise<void> {
  const want = JSON.stringify(expectedView(services, REG));
  await eventually(async () => (JSON.stringify(await istiodView(istiod!, REG, NS)) === want ? true : undefined), DEADLINE, `istiod shows ${what}`);
}

function counts(): Record<string, number> {
  return Object.fromEntries([...servers].map(([id, s]) => [id, s.calls()]));
}

function delta(before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts()).map(([id, n]) => [id, n - (before[id] ?? 0)]));
}

/** Calls until `window` consecutive replies all come from `ids` and together cover them all. */
async function settlesOn(ids: readonly string[], what: string, window = 10): Promise<number> {
  const t0 = Date.now();
  const want = new Set(ids);
  let recent: string[] = [];
  await eventually(async () => {
    const who = await client!.who(DEADLINE);
    recent = [...recent, who].slice(-window);
    const ok = recent.length === window && recent.every((r) => want.has(r)) && ids.every((id) => recent.includes(id));
    return ok ? true : undefined;
  }, DEADLINE, `${what} (last replies: ${recent.join(', ')})`, 0);
  return Date.now() - t0;
}

before(async () => {
  if (skip !== undefined) return;
  peers = await loadPeers();
  [port] = (await peers.freePorts(1)) as [number];
  for (const [id, host] of [['echo-a', '127.0.0.21'], ['echo-b', '127.0.0.22'], ['other-a', '127.0.0.23']] as const) {
    servers.set(id, await startEchoServer({ identity: id, host, port }));
  }
  api = await peers.startKubeApiserver({ authorization: 'AlwaysAllow' });
  const dir = await tempDir('meshbridge-grpc-mcp-');
  const [adminPort, xdsPort] = (await peers.freePorts(2)) as [number, number];
  servicesPath = join(dir, 'services.yaml');
  await writeServices(servicesPath, registry(['echo-a', 'echo-b']));
  const config = join(dir, 'meshbridge.yaml');
  await writeFile(
    config,
    `registries:
  - {name: ${REG}, kind: file, file: {path: services.yaml, pollIntervalMs: 500}, namespace: ${NS}}
debounce: {quietPeriodMs: 100, maxDelayMs: 1000}
sinks:
  xds: {address: 127.0.0.1:${xdsPort}}
admin: {address: 127.0.0.1:${adminPort}}
log: {level: info}
`,
  );
  // Meshbridge first: istiod exits at start when nothing listens on its xds:// config source.
  mb = await startMeshbridge({ config, adminPort });
  istiod = await peers.startIstiod({ mode: 'mcp', xdsAddress: `127.0.0.1:${xdsPort}`, kubeconfig: api.kubeconfigPath, api, timeoutMs: 90_000 });
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

test('a proxyless gRPC client resolves the ServiceEntry through istiod and reaches only its providers', { skip }, async (t) => {
  const t0 = Date.now();
  const first = await client!.who(DEADLINE);
  t.diagnostic(`MCP route: first xds:/// call (LDS/RDS/CDS/EDS from istiod + connect): ${Date.now() - t0} ms, answered by ${first}`);
  const before = counts();
  const t1 = Date.now();
  const replies = await tally(client!, CALLS);
  t.diagnostic(`MCP route: ${CALLS} sequential calls in ${Date.now() - t1} ms; replies ${JSON.stringify(Object.fromEntries(replies))}`);
  assert.deepEqual([...replies.keys()].sort(), ['echo-a', 'echo-b'], 'both providers of echo answer, nobody else');
  assert.deepEqual(delta(before), { 'echo-a': replies.get('echo-a'), 'echo-b': replies.get('echo-b'), 'other-a': 0 }, 'server-side counts agree; other never called');
});

test('a provider removed from the registry stops getting calls (failover), and gets them again once added back', { skip }, async (t) => {
  // remove echo-b: its server keeps running, so only the EDS update can stop the calls
  let t0 = Date.now();
  await writeServices(servicesPath, registry(['echo-a']));
  const gone = await settlesOn(['echo-a'], 'calls reach echo-a only');
  t.diagnostic(`MCP route: registry edit (echo-b removed) -> client calls echo-a only: ${Date.now() - t0} ms (${gone} ms of calling)`);
  await istiodShows(registry(['echo-a']), 'echo with echo-a only');
  let before = counts();
  let replies = await tally(client!, CALLS);
  assert.deepEqual(Object.fromEntries(replies), { 'echo-a': CALLS }, 'only the remaining provider answers');
  assert.deepEqual(delta(before), { 'echo-a': CALLS, 'echo-b': 0, 'other-a': 0 }, 'the removed provider is not called although it still listens');

  t0 = Date.now();
  await writeServices(servicesPath, registry(['echo-a', 'echo-b']));
  const back = await settlesOn(['echo-a', 'echo-b'], 'calls reach echo-a and echo-b again');
  t.diagnostic(`MCP route: registry edit (echo-b added back) -> client calls both: ${Date.now() - t0} ms (${back} ms of calling)`);
  before = counts();
  replies = await tally(client!, CALLS);
  assert.deepEqual([...replies.keys()].sort(), ['echo-a', 'echo-b']);
  assert.equal(delta(before)['other-a'], 0, 'other never called');
});
