/**
 * The MCP route end to end with the real CLI: a file registry (edited atomically by the test) ->
 * `meshbridge run` (sinks.xds on a loopback port) -> a real istiod that reads its Istio config only
 * from that MCP-over-xDS server (mesh configSources: [{address: xds://127.0.0.1:PORT}]), checked at
 * istiod's /debug/configz, /debug/registryz and /debug/endpointz.
 *
 * The pinned istio.io/istio (1.31-dev) panics without Kubernetes (test-support/README.md), so istiod
 * runs in the hybrid mode: Istio config only from MCP, services and pods from a real kube-apiserver
 * (which holds no Istio CRDs here: every ServiceEntry istiod knows came over MCP).
 *
 * Latencies are reported (t.diagnostic), never asserted tightly: deadlines are generous.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadPeers, requirePeers, type KubeApi, type Istiod, type PeersModule } from '../../test-support/peers.js';
import { eventually } from '../../test-support/kube.js';
import { metricSum, startMeshbridge, tempDir, writeRunConfig, writeServices, type FileService, type MeshbridgeProcess } from '../../test-support/meshbridge.js';
import { STEPS, expectedView, hostOf, istiodConfigz, istiodView, summary } from '../../test-support/istiod-view.js';

const skip = await requirePeers('etcd', 'kube-apiserver', 'istiod');
const DEADLINE = 60_000;
const NS = 'mb-e2e-mcp';
const REG = 'files';
let peers: PeersModule;
let api: KubeApi | undefined;
let istiod: Istiod | undefined;
let mb: MeshbridgeProcess | undefined;
let servicesPath = '';
let config = '';
let adminPort = 0;
let xdsPort = 0;

async function run(): Promise<MeshbridgeProcess> {
  return startMeshbridge({ config, adminPort });
}

before(async () => {
  if (skip !== undefined) return;
  peers = await loadPeers();
  api = await peers.startKubeApiserver({ authorization: 'AlwaysAllow' });
  const dir = await tempDir();
  [adminPort, xdsPort] = (await peers.freePorts(2)) as [number, number];
  servicesPath = join(dir, 'services.yaml');
  await writeServices(servicesPath, STEPS[0]!.services);
  config = await writeRunConfig(dir, {
    registries: `  - {name: ${REG}, kind: file, file: {path: services.yaml, pollIntervalMs: 1000}, namespace: ${NS}}`,
    sinks: `  xds: {address: 127.0.0.1:${xdsPort}}`,
    admin: adminPort,
  });
  // Meshbridge first: istiod exits at start when nothing listens on its xds:// config source.
  mb = await run();
  istiod = await peers.startIstiod({ mode: 'mcp', xdsAddress: `127.0.0.1:${xdsPort}`, kubeconfig: api.kubeconfigPath, api, timeoutMs: 90_000 });
});

after(async () => {
  await mb?.kill().catch(() => undefined);
  await istiod?.stop();
  await api?.stop();
});

/** Polls istiod until registryz/endpointz and configz show exactly `services`; resolves with ms. */
async function converge(services: readonly FileService[], since: number, what: string): Promise<number> {
  const want = expectedView(services, REG);
  const wantKeys = services.map((s) => `ServiceEntry/${NS}/${hostOf(s, REG)}`).sort();
  let last: unknown;
  await eventually(async () => {
    const view = await istiodView(istiod!, REG, NS);
    // The shared entries of the listener-address plan are proven by test/istiod/dataplane-routing-*.
    const keys = (await istiodConfigz(istiod!, NS)).map((c) => c.key).filter((k) => !k.endsWith('.shared.meshbridge.internal'));
    last = { view, keys };
    return JSON.stringify(view) === JSON.stringify(want) && JSON.stringify(keys) === JSON.stringify(wantKeys) ? true : undefined;
  }, DEADLINE, `istiod shows "${what}"`).catch((e: unknown) => {
    throw new Error(`${e instanceof Error ? e.message : String(e)}\nwant ${JSON.stringify({ view: want, keys: wantKeys })}\ngot  ${JSON.stringify(last)}`);
  });
  return Date.now() - since;
}

test('add, change (address, weight, label, port) and delete reach istiod over MCP', { skip }, async (t) => {
  assert.equal(istiod!.kubernetes, true, 'hybrid mode: services and pods from the API server');
  const config0 = await istiodConfigz(istiod!, NS);
  assert.ok(config0.every((c) => c.key.startsWith('ServiceEntry/')), 'only what Meshbridge serves');
  await converge(STEPS[0]!.services, Date.now(), STEPS[0]!.what);
  assert.deepEqual(peers.nonLoopbackSockets(mb!.pid), [], 'meshbridge sockets off loopback');
  assert.deepEqual(peers.nonLoopbackSockets(istiod!.pid), [], 'istiod sockets off loopback');
  assert.equal(metricSum(await mb!.metrics(), 'meshbridge_xds_connected_clients'), 1, 'istiod holds one ADS stream');

  const latencies: number[] = [];
  for (const step of STEPS.slice(1)) {
    const t0 = Date.now();
    await writeServices(servicesPath, step.services);
    const ms = await converge(step.services, t0, step.what);
    latencies.push(ms);
    t.diagnostic(`MCP route: file edit "${step.what}" -> istiod configz/registryz/endpointz: ${ms} ms`);
  }
  t.diagnostic(`MCP route file edit -> istiod: ${summary(latencies)}`);
});

test('restart: istiod keeps its config while Meshbridge is down, reconnects, and nothing is rewritten', { skip }, async (t) => {
  const last = STEPS[STEPS.length - 1]!.services;
  await writeServices(servicesPath, last);
  await converge(last, Date.now(), 'the last step');
  const before = await istiodConfigz(istiod!, NS);
  // versions are content hashes: what istiod holds carries them as resourceVersion.
  const snapshot = (await mb!.debug('snapshot')) as { kinds: Record<string, { resources: Array<{ name: string; version: string }> }> };
  assert.deepEqual(
    before.map((c) => c.resourceVersion),
    before.map((c) => snapshot.kinds['ServiceEntry']?.resources.find((r) => c.key.endsWith(`/${r.name}`))?.version),
    'istiod resourceVersion = Meshbridge content hash',
  );

  assert.equal(await mb!.stop(), 0, mb!.stderr().slice(-2000));
  const tDown = Date.now();
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(istiod!.running(), true, 'istiod survives its MCP source going away');
  assert.deepEqual(await istiodConfigz(istiod!, NS), before, 'istiod keeps its config while Meshbridge is down');

  mb = await run();
  const tUp = Date.now();
  await eventually(async () => (metricSum(await mb!.metrics(), 'meshbridge_xds_pushes_total', { type_url: 'networking.istio.io/v1/ServiceEntry' }) >= 1 ? true : undefined), DEADLINE, 'istiod reconnects and is sent ServiceEntries');
  t.diagnostic(`MCP route: istiod reconnected ${Date.now() - tUp} ms after the restart (${Date.now() - tDown} ms after the stop; istiod's backoff)`);
  assert.equal(metricSum(await mb.metrics(), 'meshbridge_xds_connected_clients'), 1, 'one ADS stream again, not two');
  await new Promise((r) => setTimeout(r, 2000));
  assert.deepEqual(await istiodConfigz(istiod!, NS), before, 'same objects, same versions and creation times: nothing orphaned, duplicated or rewritten');
  await converge(last, Date.now(), 'unchanged after the restart');

  const changed: FileService[] = last.map((x) => (x.name === 'inventory' ? { ...x, instances: [{ ...x.instances[0]!, address: '127.0.0.22' }] } : x));
  const t0 = Date.now();
  await writeServices(servicesPath, changed);
  t.diagnostic(`MCP route: change after the restart -> istiod: ${await converge(changed, t0, 'a change after the restart')} ms`);
  const afterChange = await istiodConfigz(istiod!, NS);
  for (const c of afterChange) {
    const b = before.find((x) => x.key === c.key)!;
    if (c.key.includes('/inventory.')) assert.notEqual(c.resourceVersion, b.resourceVersion, 'changed: new version');
    else assert.deepEqual(c, b, 'unchanged: same version');
  }
});
