/**
 * The checkpoint in ConfigMaps (issue 10: "a Kubernetes object for the chart") against a real
 * kube-apiserver: small documents inline in the head, large ones in generation-named parts
 * behind an atomic head flip, torn reads detected, racing writers leave one whole document,
 * foreign objects never touched; and the CLI, killed with -9 and restarted against a registry
 * that answers 10 %, serves the rest from the ConfigMap.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPeers, requirePeers, type KubeApi, type PeersModule } from '../../test-support/peers.js';
import { kube, startKubeCluster, type KubeCluster } from '../../test-support/kube.js';
import { metricSum, startMeshbridge, writeServices, type FileService, type MeshbridgeProcess } from '../../test-support/meshbridge.js';
import { AdsClient } from '../../test-support/xds/adsc.js';
import { KubeClient } from '../../src/sinks/kubernetes/kube-client.js';
import { ConfigMapCheckpointStore, CONFIGMAP_FORMAT } from '../../src/checkpoint/index.js';

const skip = await requirePeers('etcd', 'kube-apiserver');
let peers: PeersModule | undefined;
let cluster: KubeCluster | undefined;
let api: KubeApi | undefined;
const NS = 'cp-store';
const never = new AbortController().signal;

before(async () => {
  if (skip !== undefined) return;
  peers = await loadPeers();
  cluster = await startKubeCluster({ crds: false, namespaces: [NS, 'cp-cli'] });
  api = cluster.api;
});

after(async () => {
  await cluster?.stop();
});

interface CM {
  metadata: { name: string; labels?: Record<string, string>; resourceVersion: string };
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

async function configMaps(ns = NS): Promise<CM[]> {
  const r = await kube<{ items: CM[] }>(api!, 'GET', `/api/v1/namespaces/${ns}/configmaps`);
  return r.body.items.filter((c) => c.metadata.name !== 'kube-root-ca.crt');
}

function store(name: string, partBytes?: number, instance = 'test'): ConfigMapCheckpointStore {
  const client = new KubeClient({ kubeconfig: api!.kubeconfigPath, qps: 100, burst: 100 });
  return new ConfigMapCheckpointStore({ client, namespace: NS, name, instance, ...(partBytes !== undefined ? { partBytes } : {}) });
}

/** A document that gzip cannot shrink much: random-looking text of about `bytes`. */
function doc(tag: string, bytes: number): string {
  let s = '';
  let x = 2166136261 ^ tag.length;
  while (s.length < bytes) {
    x = Math.imul(x ^ (x >>> 13), 16777619) >>> 0;
    s += x.toString(36);
  }
  return JSON.stringify({ tag, s });
}

test('small: one head ConfigMap holds the gzipped document, labelled as ours; nothing stored reads as undefined', { skip }, async () => {
  const st = store('small');
  assert.equal(await st.read(never), undefined, 'nothing stored yet');
  const text = doc('small', 2000);
  const r = await st.write(text, never);
  assert.ok(r.bytes > 0 && r.skipped !== true);
  assert.equal(await st.read(never), text);
  const [head, ...rest] = (await configMaps()).filter((c) => c.metadata.labels?.['meshbridge.io/checkpoint'] === 'small');
  assert.equal(rest.length, 0, 'no parts');
  assert.equal(head?.data?.['format'], CONFIGMAP_FORMAT);
  assert.equal(head?.data?.['parts'], '0');
  assert.ok(head?.binaryData?.['checkpoint.json.gz'] !== undefined);
  assert.equal(head?.metadata.labels?.['app.kubernetes.io/managed-by'], 'meshbridge');
  assert.equal(head?.metadata.labels?.['meshbridge.io/instance'], 'test');
});

test('large: parts of a new generation, then the head; the previous generation is deleted; a missing part is a torn read', { skip }, async () => {
  const st = store('large', 4096);
  const first = doc('first', 30_000);
  await st.write(first, never);
  const gen1 = (await configMaps()).find((c) => c.metadata.name === 'large')?.data?.['generation'];
  const parts1 = (await configMaps()).filter((c) => c.metadata.labels?.['meshbridge.io/checkpoint-generation'] === gen1);
  assert.ok(parts1.length >= 3, `split into parts: ${parts1.length}`);
  assert.equal(await st.read(never), first);
  const second = doc('second', 20_000);
  await st.write(second, never);
  const all = await configMaps();
  const gen2 = all.find((c) => c.metadata.name === 'large')?.data?.['generation'];
  assert.notEqual(gen2, gen1);
  const left = all.filter((c) => c.metadata.labels?.['meshbridge.io/checkpoint'] === 'large' && c.metadata.name !== 'large');
  assert.ok(left.every((c) => c.metadata.labels?.['meshbridge.io/checkpoint-generation'] === gen2), 'only the current generation is left');
  assert.equal(left.length, Number(all.find((c) => c.metadata.name === 'large')?.data?.['parts']));
  assert.equal(await st.read(never), second);
  // A part gone (an operator, a half-finished cleanup): detected, never returned as a document.
  await kube(api!, 'DELETE', `/api/v1/namespaces/${NS}/configmaps/${left[0]!.metadata.name}`);
  await assert.rejects(st.read(never), /missing/);
  // A part changed under the head: the SHA-256 catches it.
  await st.write(second, never);
  const head = (await configMaps()).find((c) => c.metadata.name === 'large')!;
  const victim = (await configMaps()).find((c) => c.metadata.labels?.['meshbridge.io/checkpoint-generation'] === head.data?.['generation'])!;
  await kube(api!, 'PUT', `/api/v1/namespaces/${NS}/configmaps/${victim.metadata.name}`, { ...victim, binaryData: { part: Buffer.from('tampered').toString('base64') } });
  await assert.rejects(st.read(never), /SHA-256/);
});

test('racing writers (two replicas): one whole document wins, the loser reports skipped and leaves no parts', { skip }, async () => {
  const a = store('race', 4096);
  const b = store('race', 4096);
  await a.write(doc('seed', 9000), never);
  for (let round = 0; round < 4; round++) {
    const ta = doc(`a${round}`, 12_000);
    const tb = doc(`b${round}`, 12_000);
    const [ra, rb] = await Promise.all([a.write(ta, never), b.write(tb, never)]);
    const got = await a.read(never);
    assert.ok(got === ta || got === tb, 'the stored document is one of the two, whole');
    if (ra.skipped === true) assert.equal(got, tb);
    if (rb.skipped === true) assert.equal(got, ta);
    const all = await configMaps();
    const gen = all.find((c) => c.metadata.name === 'race')?.data?.['generation'];
    const stray = all.filter((c) => c.metadata.labels?.['meshbridge.io/checkpoint'] === 'race' && c.metadata.name !== 'race' && c.metadata.labels['meshbridge.io/checkpoint-generation'] !== gen);
    assert.deepEqual(stray.map((c) => c.metadata.name), [], `round ${round}: parts of other generations are gone`);
  }
});

test('foreign objects: a ConfigMap of that name that is not a checkpoint, or another instance\'s checkpoint, is neither read nor overwritten', { skip }, async () => {
  await kube(api!, 'POST', `/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-settings' }, data: { color: 'blue' } });
  const st = store('app-settings');
  await assert.rejects(st.read(never), /not a meshbridge-checkpoint-configmap\/v1 head/);
  await assert.rejects(st.write(doc('x', 100), never), /not a meshbridge-checkpoint-configmap\/v1 head/);
  const kept = (await kube<CM>(api!, 'GET', `/api/v1/namespaces/${NS}/configmaps/app-settings`)).body;
  assert.deepEqual(kept.data, { color: 'blue' });
  // Another deployment's checkpoint under the same name: refused both ways, its parts untouched.
  const other = store('shared', 4096, 'other-instance');
  const mine = store('shared', 4096);
  const theirs = doc('other', 12_000);
  await other.write(theirs, never);
  const before = (await configMaps()).filter((c) => c.metadata.labels?.['meshbridge.io/checkpoint'] === 'shared').map((c) => c.metadata.resourceVersion);
  await assert.rejects(mine.read(never), /checkpoint of instance "other-instance", not "test"/);
  await assert.rejects(mine.write(doc('m1', 12_000), never), /checkpoint of instance "other-instance"/);
  const after = (await configMaps()).filter((c) => c.metadata.labels?.['meshbridge.io/checkpoint'] === 'shared').map((c) => c.metadata.resourceVersion);
  assert.deepEqual(after, before, 'nothing of theirs written or deleted');
  assert.equal(await other.read(never), theirs);
});

function services(n: number): FileService[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `cp-svc-${i}`,
    namespace: 'shop',
    ports: [{ number: 20880, name: 'tcp-dubbo', protocol: 'TCP' }],
    instances: [{ address: `10.77.${Math.floor(i / 250)}.${(i % 250) + 1}`, weight: 1, labels: { app: `cp-svc-${i}` } }],
  }));
}

test('the CLI keeps its checkpoint in a ConfigMap: after kill -9, a registry back with 10 % is served whole from it', { skip }, async () => {
  const N = 200;
  const dir = await mkdtemp(join(tmpdir(), 'mb-cp-cli-'));
  const file = join(dir, 'services.yaml');
  const all = services(N);
  await writeServices(file, all);
  const [admin, xds] = (await peers!.freePorts(2)) as [number, number];
  const config = join(dir, 'meshbridge.yaml');
  await writeFile(
    config,
    `registries:
  - {name: files, kind: file, namespace: cp-cli, file: {path: services.yaml, pollIntervalMs: 300}}
sinks:
  xds: {address: 127.0.0.1:${xds}}
checkpoint:
  configMap: {namespace: cp-cli, name: mb-checkpoint, kubeconfig: ${api!.kubeconfigPath}}
  intervalSeconds: 1
admin: {address: 127.0.0.1:${admin}}
log: {level: warn}
`,
  );
  let mb: MeshbridgeProcess | undefined = await startMeshbridge({ config, adminPort: admin });
  let c = new AdsClient({ port: xds });
  const SE = 'networking.istio.io/v1/ServiceEntry';
  const count = (cl: AdsClient): number[] => cl.responsesFor(SE).map((r) => r.resources.filter((x) => !x.name.endsWith('.shared.meshbridge.internal')).length);
  try {
    c.subscribe([SE]);
    const until = async (cond: () => boolean | Promise<boolean>, what: string): Promise<void> => {
      const end = Date.now() + 30_000;
      while (!(await cond())) {
        if (Date.now() > end) throw new Error(`timed out: ${what}\n${mb?.stderr() ?? ''}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await until(() => count(c).at(-1) === N, 'initial state');
    await until(async () => metricSum(await mb!.metrics(), 'meshbridge_checkpoint_writes_total') >= 1, 'a checkpoint written');
    const head = (await configMaps('cp-cli')).find((m) => m.metadata.name === 'mb-checkpoint');
    assert.equal(head?.data?.['format'], CONFIGMAP_FORMAT);
    await mb.kill();
    c.close();
    await writeServices(file, all.slice(0, N / 10));
    mb = await startMeshbridge({ config, adminPort: admin });
    c = new AdsClient({ port: xds });
    c.subscribe([SE]);
    await until(() => c.responsesFor(SE).length > 0, 'answered after the restart');
    await new Promise((r) => setTimeout(r, 2000)); // the registry's partial view has been judged
    assert.equal(Math.min(...count(c)), N, 'nothing removed at the ADS client');
    assert.equal(metricSum(await mb.metrics(), 'meshbridge_protect_held_services'), N - N / 10);
    assert.equal(metricSum(await mb.metrics(), 'meshbridge_checkpoint_errors_total'), 0);
  } finally {
    c.close();
    await mb?.stop();
  }
});
