/**
 * Config hot reload on the Kubernetes route (issue 15, ADR 0017): `meshbridge run` writing to a
 * real kube-apiserver; a reload that adds a registry and restarts another writes only the new
 * objects (the others keep their resourceVersion), and a removed registry's objects are pruned.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { requirePeers, type KubeApi } from '../../test-support/peers.js';
import { eventually, listIstio, startKubeCluster, type KubeCluster } from '../../test-support/kube.js';
import { freePort } from '../../test-support/cli.js';
import { metricSum, replaceFile, runConfigText, startMeshbridge, tempDir, writeServices, type FileService } from '../../test-support/meshbridge.js';
import { sleep } from '../../test-support/xds/adsc.js';

const skip = await requirePeers('etcd', 'kube-apiserver', 'istio-crds');
const NS = 'reload';
let cluster: KubeCluster | undefined;
let api: KubeApi | undefined;

before(async () => {
  if (skip !== undefined) return;
  cluster = await startKubeCluster({ namespaces: [NS] });
  api = cluster.api;
});

after(async () => {
  await cluster?.stop();
});

function services(registry: string, n: number, base: number): FileService[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `${registry}-svc${i}`,
    namespace: 'default',
    ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }],
    instances: [{ address: `127.0.${base}.${i + 1}`, weight: 1, labels: {} }],
  }));
}

/** name -> resourceVersion of the ServiceEntries in NS. */
async function objects(): Promise<Map<string, string>> {
  return new Map((await listIstio(api!, 'serviceentries', NS)).map((o) => [o.metadata.name, o.metadata.resourceVersion]));
}

test('a reload writes only what changed: unchanged objects keep their resourceVersion; a removed registry is pruned', { skip }, async (t) => {
  const dir = await tempDir('meshbridge-reload-kube-');
  await writeServices(join(dir, 'a.yaml'), services('a', 2, 1));
  await writeServices(join(dir, 'b.yaml'), services('b', 2, 2));
  const admin = await freePort();
  const reg = (name: string, extra = ''): string => `  - {name: ${name}, kind: file, namespace: ${NS}, file: {path: ${join(dir, `${name}.yaml`)}${extra}}${name === 'b' ? ', protectPercent: 100, protectEndpointPercent: 100' : ''}}`;
  const text = (registries: string): string =>
    runConfigText({ registries, sinks: `  kubernetes: {kubeconfig: ${api!.kubeconfigPath}, qps: 100, burst: 200}`, admin, debounce: { quietPeriodMs: 50, maxDelayMs: 500 } });
  const config = join(dir, 'meshbridge.yaml');
  await replaceFile(config, text(reg('a')));
  const mb = await startMeshbridge({ config, adminPort: admin });
  t.after(() => mb.stop());
  await eventually(async () => ((await objects()).size === 2 ? true : undefined), 20_000, "a's two ServiceEntries");
  const before = await objects();
  const applies = async (): Promise<number> => metricSum(await mb.metrics(), 'meshbridge_kube_writes_total', { op: 'apply', result: 'ok' });
  const applied = await applies();

  // Add b and restart a (its file settings changed) in one reload.
  await replaceFile(config, text(`${reg('a', ', pollIntervalMs: 700')}\n${reg('b')}`));
  await eventually(async () => ((await objects()).size === 4 ? true : undefined), 20_000, "b's ServiceEntries");
  await eventually(() => (/"registry":"a".*its own view replaces the checkpoint or stand-in/.test(mb.stderr()) ? true : undefined), 10_000, 'the restarted a synced');
  await sleep(1500); // time for any rewrite the restart would cause
  const after = await objects();
  for (const [name, rv] of before) assert.equal(after.get(name), rv, `${name} was not rewritten`);
  assert.equal((await applies()) - applied, 2, "only b's two objects were written");

  // Remove b: its objects are pruned (2 of the instance's 4: within maxDeletePercent 50).
  await replaceFile(config, text(reg('a', ', pollIntervalMs: 700')));
  await eventually(async () => ((await objects()).size === 2 ? true : undefined), 20_000, "b's objects pruned");
  const left = await objects();
  for (const [name, rv] of before) assert.equal(left.get(name), rv, `${name} still untouched`);
  assert.equal(metricSum(await mb.metrics(), 'meshbridge_config_reloads_total', { result: 'applied' }), 2);
});
