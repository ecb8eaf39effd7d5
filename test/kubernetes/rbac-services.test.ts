/**
 * deploy/rbac-kubernetes-services.yaml is what the Kubernetes Services sink needs beside
 * deploy/rbac.yaml (ADR 0020), against a real kube-apiserver in RBAC mode: with deploy/rbac.yaml
 * alone the ServiceAccount may not read Services or EndpointSlices (so the sink's caches never
 * sync and it writes nothing); with both files it writes a Service and its slices; Pods and
 * Secrets stay refused.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadPeers, requirePeers, type KubeApi, type PeersModule } from '../../test-support/peers.js';
import { eventually, startKubeCluster, type KubeCluster } from '../../test-support/kube.js';
import { KubeClient } from '../../src/sinks/kubernetes/kube-client.js';
import { KubernetesSink } from '../../src/sinks/kubernetes/sink.js';
import { SnapshotStore } from '../../src/snapshot/index.js';
import { Metrics, silentLogger } from '../../src/observability/index.js';
import { convert } from '../../src/convert/index.js';
import { baseOptions, ep, inputOf, port, service } from '../../src/convert/testing/fixtures.js';

const NS = 'mb-rbac-services';
const SA_NS = 'meshbridge';
const RBAC_YAML = new URL('../../../deploy/rbac.yaml', import.meta.url);
const SERVICES_YAML = new URL('../../../deploy/rbac-kubernetes-services.yaml', import.meta.url);

const skip = await requirePeers('etcd', 'kube-apiserver', 'istio-crds');
let peers: PeersModule;
let cluster: KubeCluster | undefined;
let api: KubeApi | undefined;
let saToken = '';
let saKubeconfig = '';

before(async () => {
  if (skip !== undefined) return;
  peers = await loadPeers();
  cluster = await startKubeCluster({ authorization: 'RBAC', namespaces: [NS, SA_NS] });
  api = cluster.api;
  await peers.applyManifest(api, await readFile(RBAC_YAML, 'utf8'));
  saToken = await peers.serviceAccountToken(api, SA_NS, 'meshbridge');
  saKubeconfig = await peers.writeKubeconfig(api, { token: saToken, file: join(api.dir, 'meshbridge-sa.kubeconfig'), user: 'meshbridge' });
  await eventually(async () => ((await asSa('GET', `/apis/networking.istio.io/v1/namespaces/${NS}/serviceentries`)).status === 200 ? true : undefined), 15000, 'deploy/rbac.yaml in force');
});

after(async () => {
  await cluster?.stop();
});

function asSa(method: string, path: string): Promise<{ status: number; body: unknown; text: string }> {
  return peers.kubeRequest(api!, method, path, undefined, { token: saToken });
}

function makeSink(store: SnapshotStore): { sink: KubernetesSink; client: KubeClient } {
  const client = new KubeClient({ kubeconfig: saKubeconfig, qps: 100, burst: 200, maxAttempts: 2 });
  const sink = new KubernetesSink({
    client,
    store,
    logger: silentLogger(),
    metrics: new Metrics(),
    instance: 'meshbridge',
    registries: ['demo'],
    namespaces: [NS],
    maxDeletePercent: 50,
    concurrency: 4,
    leaderElection: undefined,
    kubernetesServices: true,
  });
  return { sink, client };
}

const resources = convert(inputOf(service('cart', [port(8080, 'api', 'HTTP')], [ep('10.0.0.1'), ep('fd00::2')]), 'cart.demo.local'), {
  ...baseOptions,
  namespace: NS,
  publish: { serviceEntries: true, kubernetesServices: true },
}).resources;

test('deploy/rbac.yaml alone grants no Services: the sink writes nothing; with rbac-kubernetes-services.yaml it writes the Service and its slices', { skip }, async () => {
  assert.equal((await asSa('GET', `/api/v1/namespaces/${NS}/services`)).status, 403);
  assert.equal((await asSa('GET', `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`)).status, 403);
  const store = new SnapshotStore();
  const ac = new AbortController();
  const first = makeSink(store);
  await first.sink.start(ac.signal);
  store.publish(resources);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(first.sink.cachesSynced(), false, 'it cannot list Services, so it does not plan');
  assert.equal(first.client.counts.get('PATCH') ?? 0, 0, 'nothing written without the rights');
  ac.abort();

  await peers.applyManifest(api!, await readFile(SERVICES_YAML, 'utf8'));
  await eventually(async () => ((await asSa('GET', `/api/v1/namespaces/${NS}/services`)).status === 200 ? true : undefined), 15000, 'rbac-kubernetes-services.yaml in force');
  const ac2 = new AbortController();
  const second = makeSink(store);
  await second.sink.start(ac2.signal);
  await eventually(() => (second.sink.cachesSynced() ? true : undefined), 15000, 'caches synced');
  await new Promise((r) => setTimeout(r, 300));
  await second.sink.idle();
  assert.deepEqual(second.sink.debugState().writes, { apply: 4, delete: 0, failed: 0 }, 'ServiceEntry, Service, two slices');
  assert.equal((await asSa('GET', `/api/v1/namespaces/${NS}/services/cart`)).status, 200);
  const slices = (await asSa('GET', `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`)).body as { items: Array<{ metadata: { name: string } }> };
  assert.deepEqual(slices.items.map((s) => s.metadata.name).sort(), ['cart-ipv4-0', 'cart-ipv6-0']);
  for (const path of [`/api/v1/namespaces/${NS}/pods`, `/api/v1/namespaces/${SA_NS}/secrets`, `/api/v1/namespaces/${NS}/endpoints`]) {
    assert.equal((await asSa('GET', path)).status, 403, `${path} stays refused`);
  }
  ac2.abort();
});
