/**
 * deploy/rbac.yaml is enough for the Kubernetes sink, and no more than it needs.
 *
 * A real kube-apiserver in RBAC mode with Istio's CRDs; deploy/rbac.yaml applied as it ships; the
 * sink runs with a real token of the ServiceAccount it binds (TokenRequest API), so the API server
 * authenticates it as system:serviceaccount:meshbridge:meshbridge and RBAC decides every call.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadPeers, requirePeers, type KubeApi, type PeersModule } from '../../test-support/peers.js';
import { eventually, kube, listIstio, startKubeCluster, type KubeCluster } from '../../test-support/kube.js';
import { KubeClient } from '../../src/sinks/kubernetes/kube-client.js';
import { KubernetesSink, type KubernetesSinkOptions } from '../../src/sinks/kubernetes/sink.js';
import { SnapshotStore, resourceKey, ContentHashAnnotation, type IstioResource } from '../../src/snapshot/index.js';
import { Metrics, silentLogger } from '../../src/observability/index.js';
import { hashOf } from '../../src/util/hash.js';
import { ConfigMapCheckpointStore } from '../../src/checkpoint/index.js';

const NS = 'mb-rbac';
const OTHER = 'mb-rbac-other';
const SA_NS = 'meshbridge';
const SA_USER = `system:serviceaccount:${SA_NS}:meshbridge`;
const RBAC_YAML = new URL('../../../deploy/rbac.yaml', import.meta.url);

const skip = await requirePeers('etcd', 'kube-apiserver', 'istio-crds');
let peers: PeersModule;
let cluster: KubeCluster | undefined;
let api: KubeApi | undefined;
let saToken = '';
let saKubeconfig = '';

before(async () => {
  if (skip !== undefined) return;
  peers = await loadPeers();
  cluster = await startKubeCluster({ authorization: 'RBAC', namespaces: [NS, OTHER, SA_NS] });
  api = cluster.api;
  await peers.applyManifest(api, await readFile(RBAC_YAML, 'utf8'));
  saToken = await peers.serviceAccountToken(api, SA_NS, 'meshbridge');
  saKubeconfig = await peers.writeKubeconfig(api, { token: saToken, file: join(api.dir, 'meshbridge-sa.kubeconfig'), user: 'meshbridge' });
  // RBAC reads bindings through informers: wait until the new ClusterRoleBinding counts.
  await eventually(async () => ((await asSa('GET', `/apis/networking.istio.io/v1/namespaces/${NS}/serviceentries`)).status === 200 ? true : undefined), 15000, 'deploy/rbac.yaml in force');
});

after(async () => {
  await cluster?.stop();
});

function asSa(method: string, path: string, body?: unknown, contentType?: string): Promise<{ status: number; body: unknown; text: string }> {
  return peers.kubeRequest(api!, method, path, body, { token: saToken, ...(contentType !== undefined ? { contentType } : {}) });
}

const labels = { 'app.kubernetes.io/managed-by': 'meshbridge', 'meshbridge.io/registry': 'files' };

function se(name: string, namespace: string, addresses: string[]): IstioResource {
  const spec = {
    hosts: [`${name}.${namespace}.example.mesh`],
    ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }],
    resolution: 'STATIC',
    location: 'MESH_INTERNAL',
    endpoints: addresses.map((address) => ({ address })),
  };
  const version = hashOf({ name, labels, spec });
  return { kind: 'ServiceEntry', namespace, name, key: resourceKey('ServiceEntry', namespace, name), labels, annotations: { [ContentHashAnnotation]: version }, spec, version };
}

function selectorSe(name: string, namespace: string): IstioResource {
  const spec = {
    hosts: [`${name}.${namespace}.example.mesh`],
    ports: [{ number: 9090, name: 'grpc', protocol: 'GRPC' }],
    resolution: 'STATIC',
    location: 'MESH_INTERNAL',
    workloadSelector: { labels: { app: name } },
  };
  const version = hashOf({ name, labels, spec });
  return { kind: 'ServiceEntry', namespace, name, key: resourceKey('ServiceEntry', namespace, name), labels, annotations: { [ContentHashAnnotation]: version }, spec, version };
}

function we(name: string, namespace: string, app: string, address: string): IstioResource {
  const spec = { address, labels: { app } };
  const version = hashOf({ name, labels, spec });
  return { kind: 'WorkloadEntry', namespace, name, key: resourceKey('WorkloadEntry', namespace, name), labels, annotations: { [ContentHashAnnotation]: version }, spec, version };
}

function makeSink(store: SnapshotStore, extra: Partial<KubernetesSinkOptions> = {}): { sink: KubernetesSink; client: KubeClient } {
  const client = new KubeClient({ kubeconfig: saKubeconfig, qps: 100, burst: 200, maxAttempts: 2 });
  const sink = new KubernetesSink({
    client,
    store,
    logger: silentLogger(),
    metrics: new Metrics(),
    instance: 'meshbridge',
    registries: ['files'],
    namespaces: [NS],
    maxDeletePercent: 50,
    concurrency: 4,
    leaderElection: { namespace: SA_NS, name: 'meshbridge-rbac', identity: 'rbac-test', leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 },
    ...extra,
  });
  return { sink, client };
}

async function settle(sink: KubernetesSink): Promise<void> {
  await eventually(() => (sink.cachesSynced() ? true : undefined), 10000, 'caches synced');
  await new Promise((r) => setTimeout(r, 300));
  await sink.idle();
}

test('the token is the ServiceAccount that deploy/rbac.yaml binds', { skip }, async () => {
  const r = await asSa('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
  assert.equal(r.status, 201, r.text);
  const info = (r.body as { status: { userInfo: { username: string; groups: string[] } } }).status.userInfo;
  assert.equal(info.username, SA_USER);
  assert.ok(info.groups.includes(`system:serviceaccounts:${SA_NS}`));
  assert.ok(!info.groups.includes('system:masters'));
});

test('with exactly deploy/rbac.yaml the sink elects a leader, applies, updates and prunes', { skip }, async () => {
  const store = new SnapshotStore();
  const ac = new AbortController();
  const { sink } = makeSink(store);
  await sink.start(ac.signal);
  await eventually(() => (sink.isLeader() ? true : undefined), 10000, 'leadership on the Lease in meshbridge');
  store.publish([se('a', NS, ['10.0.0.1']), se('b', NS, ['10.0.0.2']), se('c', NS, ['10.0.0.3']), selectorSe('w', NS), we('w-1', NS, 'w', '10.0.1.1')]);
  await settle(sink);
  assert.deepEqual((await listIstio(api!, 'serviceentries', NS)).map((i) => i.metadata.name).sort(), ['a', 'b', 'c', 'w']);
  assert.deepEqual((await listIstio(api!, 'workloadentries', NS)).map((i) => i.metadata.name), ['w-1']);

  store.publish([se('a', NS, ['10.0.0.11']), se('b', NS, ['10.0.0.2']), se('c', NS, ['10.0.0.3']), selectorSe('w', NS)]);
  await settle(sink);
  const items = await listIstio(api!, 'serviceentries', NS);
  assert.deepEqual(items.find((i) => i.metadata.name === 'a')?.spec['endpoints'], [{ address: '10.0.0.11' }]);
  assert.deepEqual(await listIstio(api!, 'workloadentries', NS), [], 'the WorkloadEntry was pruned');
  const st = sink.debugState();
  assert.equal(st.writes.failed, 0, 'no write was refused');
  assert.equal(st.writes.apply, 6);
  assert.equal(st.writes.delete, 1);

  ac.abort();
  // Releasing the lease (an update) is allowed too.
  const lease = await eventually(async () => {
    const r = await kube<{ spec: { holderIdentity?: string } }>(api!, 'GET', `/apis/coordination.k8s.io/v1/namespaces/${SA_NS}/leases/meshbridge-rbac`);
    return r.status === 200 && (r.body.spec.holderIdentity ?? '') === '' ? r.body : undefined;
  }, 10000, 'lease released');
  assert.ok(lease);
});

test('everything else is refused (403)', { skip }, async () => {
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: NS }, data: { a: 'b' } };
  const vs = {
    apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'x', namespace: NS },
    spec: { hosts: ['a.mb-rbac.example.mesh'], http: [{ route: [{ destination: { host: 'a.mb-rbac.example.mesh' } }] }] },
  };
  const seBody = { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'a', namespace: NS, labels }, spec: se('a', NS, ['10.0.0.99']).spec };
  const lease = (ns: string) => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'meshbridge-rbac-x', namespace: ns }, spec: { holderIdentity: 'x' } });
  const refused: Array<[string, string, string, unknown?, string?]> = [
    ['create a ConfigMap', 'POST', `/api/v1/namespaces/${NS}/configmaps`, cm],
    ['server-side apply a ConfigMap', 'PATCH', `/api/v1/namespaces/${NS}/configmaps/x?fieldManager=meshbridge`, cm, 'application/apply-patch+yaml'],
    ['read Secrets', 'GET', `/api/v1/namespaces/${SA_NS}/secrets`],
    ['list Pods', 'GET', `/api/v1/namespaces/${NS}/pods`],
    ['create a VirtualService', 'POST', `/apis/networking.istio.io/v1/namespaces/${NS}/virtualservices`, vs],
    ['list DestinationRules', 'GET', `/apis/networking.istio.io/v1/namespaces/${NS}/destinationrules`],
    ['replace (PUT) a ServiceEntry: only apply-patch is granted', 'PUT', `/apis/networking.istio.io/v1/namespaces/${NS}/serviceentries/a`, seBody],
    ['deletecollection of ServiceEntries', 'DELETE', `/apis/networking.istio.io/v1/namespaces/${NS}/serviceentries`],
    ['change the ServiceEntry CRD', 'DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/serviceentries.networking.istio.io'],
    ['delete a namespace', 'DELETE', `/api/v1/namespaces/${NS}`],
    ['create a Lease outside its namespace', 'POST', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`, lease(NS)],
    ['delete its Lease', 'DELETE', `/apis/coordination.k8s.io/v1/namespaces/${SA_NS}/leases/meshbridge-rbac`],
    ['list Leases', 'GET', `/apis/coordination.k8s.io/v1/namespaces/${SA_NS}/leases`],
    ['grant itself more (RoleBinding)', 'POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'x', namespace: NS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'meshbridge', namespace: SA_NS }],
    }],
  ];
  const wrong: string[] = [];
  for (const [what, method, path, body, contentType] of refused) {
    const r = await asSa(method, path, body, contentType);
    if (r.status !== 403) wrong.push(`${what}: ${method} ${path} -> ${r.status} ${r.text.slice(0, 200)}`);
  }
  assert.deepEqual(wrong, [], 'each of these must be Forbidden');
  // The ConfigMap really was not written.
  assert.equal((await kube(api!, 'GET', `/api/v1/namespaces/${NS}/configmaps/x`)).status, 404);
});

test('bound per namespace (RoleBinding instead of the ClusterRoleBinding), writes stay in that namespace', { skip }, async () => {
  // The variant deploy/rbac.yaml describes: the same ClusterRole, bound only in NS.
  assert.equal((await kube(api!, 'DELETE', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/meshbridge')).status, 200);
  await peers.applyManifest(api!, [{
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'meshbridge', namespace: NS },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'meshbridge' },
    subjects: [{ kind: 'ServiceAccount', name: 'meshbridge', namespace: SA_NS }],
  }]);
  // An owned-looking object in OTHER, written by an admin: the sink must not be able to delete it.
  const foreignPath = `/apis/networking.istio.io/v1/namespaces/${OTHER}/serviceentries/stale`;
  const created = await kube(api!, 'POST', `/apis/networking.istio.io/v1/namespaces/${OTHER}/serviceentries`, {
    apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'stale', namespace: OTHER, labels }, spec: se('stale', OTHER, ['10.0.0.7']).spec,
  });
  assert.equal(created.status, 201);
  await eventually(async () => ((await asSa('GET', `/apis/networking.istio.io/v1/namespaces/${OTHER}/serviceentries`)).status === 403 ? true : undefined), 15000, 'ClusterRoleBinding removal in force');

  const otherSe = se('x', OTHER, ['10.0.0.8']);
  const refused: Array<[string, number]> = [
    ['GET cluster-wide list', (await asSa('GET', '/apis/networking.istio.io/v1/serviceentries')).status],
    ['GET list in OTHER', (await asSa('GET', `/apis/networking.istio.io/v1/namespaces/${OTHER}/serviceentries`)).status],
    ['DELETE in OTHER', (await asSa('DELETE', foreignPath)).status],
    ['apply in OTHER', (await asSa('PATCH', `/apis/networking.istio.io/v1/namespaces/${OTHER}/serviceentries/x?fieldManager=meshbridge`, {
      apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'x', namespace: OTHER, labels }, spec: otherSe.spec,
    }, 'application/apply-patch+yaml')).status],
  ];
  assert.deepEqual(refused.filter(([, s]) => s !== 403), [], 'refused outside its RoleBinding');
  assert.equal((await kube(api!, 'GET', foreignPath)).status, 200, 'the object in OTHER is still there');

  // Confined to NS the sink still does its job (apply and prune there).
  {
    const store = new SnapshotStore();
    const ac = new AbortController();
    // cleanupClusterWide asks for a cluster-wide list the RoleBinding does not grant: the sink
    // goes on with the targeted namespace.
    const { sink } = makeSink(store, { cleanupClusterWide: true });
    await sink.start(ac.signal);
    await eventually(() => (sink.isLeader() ? true : undefined), 10000, 'leadership');
    store.publish([se('a', NS, ['10.0.0.11']), se('b', NS, ['10.0.0.2']), se('c', NS, ['10.0.0.3']), se('d', NS, ['10.0.0.4'])]);
    await settle(sink);
    store.publish([se('a', NS, ['10.0.0.11']), se('b', NS, ['10.0.0.2']), se('d', NS, ['10.0.0.4'])]);
    await settle(sink);
    assert.deepEqual((await listIstio(api!, 'serviceentries', NS)).map((i) => i.metadata.name).sort(), ['a', 'b', 'd']);
    assert.equal(sink.debugState().writes.failed, 0);
    ac.abort();
  }

  // Told to manage a namespace it has no Role in, the sink never syncs that scope, so it writes
  // and prunes nothing anywhere (no publishing on a partial view), and never touches OTHER.
  {
    const store = new SnapshotStore();
    const ac = new AbortController();
    const { sink, client } = makeSink(store, { namespaces: [NS, OTHER], leaderElection: undefined });
    await sink.start(ac.signal);
    store.publish([se('a', NS, ['10.0.0.12']), otherSe]);
    await new Promise((r) => setTimeout(r, 2500));
    await sink.idle();
    assert.equal(sink.cachesSynced(), false);
    const writes = ['PATCH', 'PUT', 'POST', 'DELETE'].reduce((n, m) => n + (client.counts.get(m) ?? 0), 0);
    assert.equal(writes, 0, 'no writes while a watched namespace is forbidden');
    ac.abort();
    const a = (await listIstio(api!, 'serviceentries', NS)).find((i) => i.metadata.name === 'a');
    assert.deepEqual(a?.spec['endpoints'], [{ address: '10.0.0.11' }]);
    assert.deepEqual((await listIstio(api!, 'serviceentries', OTHER)).map((i) => i.metadata.name), ['stale']);
  }
});

test('the checkpoint Role is enough for ConfigMap checkpoints in Meshbridge\'s namespace (inline and in parts), and grants nothing elsewhere', { skip }, async () => {
  const never = new AbortController().signal;
  const at = (namespace: string): ConfigMapCheckpointStore =>
    new ConfigMapCheckpointStore({ client: new KubeClient({ kubeconfig: saKubeconfig, qps: 50, burst: 50, maxAttempts: 1 }), namespace, name: 'mb-checkpoint', instance: 'rbac', partBytes: 2048 });
  const own = at(SA_NS);
  await eventually(async () => ((await asSa('GET', `/api/v1/namespaces/${SA_NS}/configmaps`)).status === 200 ? true : undefined), 15000, 'the checkpoint Role in force');
  const text = JSON.stringify({ n: Array.from({ length: 3000 }, (_, i) => (i * 2654435761) % 4294967296) });
  await own.write('{"small":true}', never);
  assert.equal(await own.read(never), '{"small":true}');
  await own.write(text, never);
  await own.write(text, never);
  assert.equal(await own.read(never), text, 'parts written, read back, the previous generation deleted');
  await assert.rejects(at(NS).write('{}', never), /403/);
  assert.equal((await asSa('GET', `/api/v1/namespaces/${SA_NS}/secrets`)).status, 403, 'no Secrets');
});
