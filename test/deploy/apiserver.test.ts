/**
 * The API server accepts what the chart renders: every object of several value sets is
 * server-side applied with dryRun=All and strict field validation (an unknown or misspelt field is
 * refused) to the real test kube-apiserver (RBAC mode), which runs admission and validation in
 * full. Then the namespaced value set is applied for real and the chart's RBAC is checked with a
 * real token of the chart's ServiceAccount: it may do the sink's job in the target namespaces and
 * the Lease in the release namespace, nothing elsewhere. `helm install --dry-run=server` against
 * the same API server prints the NOTES. No ServiceMonitor CRD is installed: it stays off here.
 * Locally a missing helm or API server skips the file; with CI=true it fails.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPeers, requirePeers, type Etcd, type KubeApi, type PeersModule } from '../../test-support/peers.js';
import { eventually, kube, startKubeCluster } from '../../test-support/kube.js';
import {
  CHART_DIR,
  cleanupHelm,
  helm,
  renderChart,
  requireHelm,
  serverSideApply,
  writeValues,
  type K8sObject,
} from '../../test-support/helm.js';

const RELEASE_NS = 'mb-helm';
const TARGETS = ['mb-helm-a', 'mb-helm-b'];
const ELSEWHERE = 'mb-helm-elsewhere';

const skip = requireHelm() ?? (await requirePeers('etcd', 'kube-apiserver'));
let peers: PeersModule;
let etcd: Etcd | undefined;
let api: KubeApi | undefined;

const kubeConfig = {
  registries: [
    { name: 'files', kind: 'file', file: { path: 'services.yaml' }, namespace: TARGETS[0], namespaceMap: { second: TARGETS[1] } },
  ],
  sinks: { kubernetes: {}, xds: {} },
};
const valueSets: Record<string, unknown> = {
  defaults: {},
  'kubernetes sink, ClusterRole': {
    config: kubeConfig,
    files: { 'services.yaml': 'services: []\n' },
    env: [{ name: 'SOME_TOKEN', valueFrom: { secretKeyRef: { name: 'meshbridge-secrets', key: 'token', optional: true } } }],
    envFrom: [{ secretRef: { name: 'meshbridge-extra', optional: true } }],
  },
  'kubernetes sink, namespaced Roles': { config: kubeConfig, files: { 'services.yaml': 'services: []\n' }, rbac: { namespaced: true } },
  // The PrometheusRule needs the operator's CRDs, which this API server lacks; the dashboard ConfigMap is core.
  'grafana dashboard ConfigMap': { grafanaDashboard: { enabled: true } },
  'one replica, custom ports, pinned digest': {
    replicaCount: 1,
    ports: { xds: 16050, admin: 19080 },
    image: { repository: 'registry.example/meshbridge', digest: `sha256:${'a'.repeat(64)}` },
    extraVolumes: [{ name: 'tls', secret: { secretName: 'meshbridge-tls', optional: true } }],
    extraVolumeMounts: [{ name: 'tls', mountPath: '/etc/meshbridge-tls', readOnly: true }],
  },
};

before(async () => {
  if (skip !== undefined) return;
  peers = await loadPeers();
  ({ etcd, api } = await startKubeCluster({ authorization: 'RBAC', crds: false, namespaces: [RELEASE_NS, ...TARGETS, ELSEWHERE] }));
});

after(async () => {
  await api?.stop();
  await etcd?.stop();
  await cleanupHelm();
});

function describe(r: { object: K8sObject; status: number; body: unknown }): string {
  return `${r.object.kind} ${r.object.metadata.namespace ?? ''}/${r.object.metadata.name}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 600)}`;
}

test('every value set: the API server accepts each rendered object (server-side apply, dryRun=All, strict fields)', { skip }, async () => {
  for (const [name, values] of Object.entries(valueSets)) {
    const objects = await renderChart(values, { namespace: RELEASE_NS });
    assert.ok(objects.some((o) => o.kind === 'Deployment'), name);
    assert.equal(objects.some((o) => o.kind === 'ServiceMonitor'), false, 'no ServiceMonitor CRD here');
    for (const o of objects) {
      const r = await serverSideApply(api!, o, { dryRun: true });
      assert.ok(r.status === 200 || r.status === 201, `${name}: ${describe(r)}`);
      const back = r.body as K8sObject;
      assert.equal(back.kind, o.kind);
      assert.equal(back.metadata.name, o.metadata.name);
    }
    // dryRun stored nothing.
    const d = objects.find((o) => o.kind === 'Deployment')!;
    assert.equal((await kube(api!, 'GET', `/apis/apps/v1/namespaces/${RELEASE_NS}/deployments/${d.metadata.name}`)).status, 404, `${name}: nothing stored`);
  }
});

test('the dry run does validate: a misspelt field and a bad value are refused', { skip }, async () => {
  const objects = await renderChart({}, { namespace: RELEASE_NS });
  const d = objects.find((o) => o.kind === 'Deployment')!;
  const typo = structuredClone(d) as K8sObject & { spec: Record<string, unknown> };
  typo.spec['replica'] = 2;
  const r1 = await serverSideApply(api!, typo, { dryRun: true });
  // Server-side apply refuses it while building the typed patch (HTTP 500 in this release).
  assert.ok(r1.status >= 400, describe(r1));
  assert.match(JSON.stringify(r1.body), /spec\.replica: field not declared in schema|unknown field/);
  const bad = structuredClone(d) as K8sObject & { spec: { template: { spec: { containers: { readinessProbe: { httpGet: { port: string } } }[] } } } };
  bad.spec.template.spec.containers[0]!.readinessProbe.httpGet.port = 'no-such-port-name-longer-than-fifteen';
  const r2 = await serverSideApply(api!, bad, { dryRun: true });
  assert.equal(r2.status, 422, describe(r2));
});

test('applied for real, the namespaced RBAC lets the ServiceAccount do the sink\'s job in the target namespaces only', { skip }, async () => {
  const objects = await renderChart(valueSets['kubernetes sink, namespaced Roles'], { namespace: RELEASE_NS });
  for (const o of objects) {
    const r = await serverSideApply(api!, o, { dryRun: false });
    assert.ok(r.status === 200 || r.status === 201, describe(r));
  }
  const sa = objects.find((o) => o.kind === 'ServiceAccount')!;
  const token = await peers.serviceAccountToken(api!, RELEASE_NS, sa.metadata.name);
  const asSa = async (method: string, path: string): Promise<number> => (await kube(api!, method, path, undefined, 'application/json', token)).status;

  // RBAC reads bindings through informers: wait until the new RoleBindings count.
  await eventually(async () => ((await asSa('GET', `/apis/networking.istio.io/v1/namespaces/${TARGETS[0]}/serviceentries`)) !== 403 ? true : undefined), 15000, 'chart RBAC in force');
  const access = async (verb: string, group: string, resource: string, namespace: string): Promise<boolean> => {
    const r = await kube<{ status: { allowed: boolean } }>(api!, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { verb, group, resource, namespace } },
    }, 'application/json', token);
    assert.equal(r.status, 201);
    return r.body.status.allowed;
  };
  for (const ns of TARGETS) {
    for (const verb of ['get', 'list', 'watch', 'create', 'patch', 'delete']) {
      assert.equal(await access(verb, 'networking.istio.io', 'serviceentries', ns), true, `${verb} serviceentries in ${ns}`);
      assert.equal(await access(verb, 'networking.istio.io', 'workloadentries', ns), true, `${verb} workloadentries in ${ns}`);
      assert.equal(await access(verb, 'networking.istio.io', 'sidecars', ns), true, `${verb} sidecars in ${ns}`);
    }
    assert.equal(await access('get', 'networking.istio.io', 'destinationrules', ns), false, 'no other Istio kinds');
    assert.equal(await access('update', 'networking.istio.io', 'serviceentries', ns), false, 'no PUT');
    assert.equal(await access('get', '', 'secrets', ns), false);
  }
  for (const verb of ['get', 'create', 'update']) assert.equal(await access(verb, 'coordination.k8s.io', 'leases', RELEASE_NS), true, `${verb} leases in the release namespace`);
  assert.equal(await access('delete', 'coordination.k8s.io', 'leases', RELEASE_NS), false);
  for (const ns of [ELSEWHERE, 'default']) {
    assert.equal(await access('list', 'networking.istio.io', 'serviceentries', ns), false, `nothing in ${ns}`);
    assert.equal(await access('get', 'coordination.k8s.io', 'leases', ns), false, `no Lease in ${ns}`);
  }
  assert.equal(await access('list', 'networking.istio.io', 'serviceentries', ''), false, 'no cluster-wide list');
  // The checkpoint ConfigMaps (checkpoint.store: configMap, the default) in the release namespace
  // only; its own config ConfigMap is mounted, never read through the API.
  for (const verb of ['get', 'list', 'create', 'update', 'delete']) assert.equal(await access(verb, '', 'configmaps', RELEASE_NS), true, `${verb} configmaps in the release namespace (checkpoint)`);
  assert.equal(await access('patch', '', 'configmaps', RELEASE_NS), false, 'no patch');
  for (const ns of [...TARGETS, ELSEWHERE]) assert.equal(await access('get', '', 'configmaps', ns), false, `no configmaps in ${ns}`);
  // And a real call: the Lease API in the release namespace answers (404: none yet), elsewhere 403.
  assert.equal(await asSa('GET', `/apis/coordination.k8s.io/v1/namespaces/${RELEASE_NS}/leases/mb-meshbridge`), 404);
  assert.equal(await asSa('GET', `/apis/coordination.k8s.io/v1/namespaces/${ELSEWHERE}/leases/mb-meshbridge`), 403);
});

test('helm install --dry-run=server against the API server: accepted, NOTES tell how to point istiod at it', { skip }, async () => {
  const kubeconfig = api!.kubeconfigPath;
  const r = await helm(['install', 'bridge', CHART_DIR, '--namespace', RELEASE_NS, '--dry-run=server', '--kubeconfig', kubeconfig, '--values', await writeValues({ config: { ...kubeConfig, sinks: { xds: {} } }, files: { 'services.yaml': 'services: []\n' } })], { timeoutMs: 120000 });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const notes = r.stdout.slice(r.stdout.indexOf('NOTES:'));
  assert.ok(notes.startsWith('NOTES:'), r.stdout);
  assert.match(notes, new RegExp(`- address: xds://bridge-meshbridge\\.${RELEASE_NS}\\.svc:15050`));
  assert.match(notes, /- address: k8s:\/\//);
  assert.match(notes, /readyz/);
});
