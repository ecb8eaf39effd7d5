/**
 * The Helm chart (deploy/helm/meshbridge) rendered by a real helm (test-support/peers/peers.d/helm.sh):
 * it lints; its ConfigMap holds a config Meshbridge's own parser accepts with exactly the
 * environment the Deployment gives the pod; probes, ports, Service, security context, leader
 * election and the checksum roll are wired as documented; its RBAC rules are deploy/rbac.yaml's.
 * Locally a missing helm skips this file; with CI=true it fails.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/index.js';
import { MeshbridgeError } from '../../src/errors/index.js';
import {
  CHART_DIR,
  asDeployment,
  asService,
  cleanupHelm,
  dataOf,
  findObject,
  helm,
  renderChart,
  renderChartRaw,
  requireHelm,
  rulesOf,
  writeValues,
  type Deployment,
  type K8sObject,
  type PolicyRule,
} from '../../test-support/helm.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const skip = requireHelm();
after(cleanupHelm);

/** A config with the Kubernetes sink, a secret by env, and two target namespaces. */
const kubeValues = {
  config: {
    registries: [
      {
        name: 'eureka',
        kind: 'eureka',
        eureka: { serviceUrls: ['http://eureka.example.svc:8761/eureka/'], auth: { username: 'meshbridge', password: '${ENV:EUREKA_PASSWORD}' } },
        namespace: 'mesh-a',
        namespaceMap: { other: 'mesh-b' },
      },
    ],
    sinks: { kubernetes: { qps: 50 } },
  },
  env: [{ name: 'EUREKA_PASSWORD', valueFrom: { secretKeyRef: { name: 'meshbridge-secrets', key: 'eureka-password' } } }],
};

function deploymentOf(objects: readonly K8sObject[]): Deployment {
  return asDeployment(findObject(objects, 'Deployment'));
}

function container(d: Deployment): Deployment['spec']['template']['spec']['containers'][number] {
  assert.equal(d.spec.template.spec.containers.length, 1);
  return d.spec.template.spec.containers[0]!;
}

/** What the kubelet puts in a downward-API env var of a pod of this Deployment. */
function downwardApi(d: Deployment, fieldPath: string): string {
  if (fieldPath === 'metadata.name') return `${d.metadata.name}-7c9d8b6f5d-x2x7q`;
  if (fieldPath === 'metadata.namespace') return d.metadata.namespace ?? assert.fail('Deployment without namespace');
  return assert.fail(`unexpected downward API field ${fieldPath}`);
}

/**
 * The environment the pod gets, as Meshbridge would see it: literal values, a stand-in for each
 * valueFrom (downward API, Secret). envFrom sources cannot be known here: `extra` adds them.
 */
function podEnv(d: Deployment, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container(d).env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef !== undefined) env[e.name] = downwardApi(d, e.valueFrom.fieldRef.fieldPath);
    else if (e.valueFrom?.secretKeyRef !== undefined) env[e.name] = `secret:${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`;
    else assert.fail(`env ${e.name} has neither value nor a known valueFrom`);
  }
  return { ...env, ...extra };
}

/** The ConfigMap's meshbridge.yaml, parsed by Meshbridge's own parser with the pod's env. */
function configOf(objects: readonly K8sObject[], extraEnv: Record<string, string> = {}): Config {
  const cm = findObject(objects, 'ConfigMap');
  const text = dataOf(cm)['meshbridge.yaml'];
  assert.ok(text !== undefined, 'ConfigMap has meshbridge.yaml');
  return parseConfig(text, { sourcePath: '/etc/meshbridge/meshbridge.yaml', env: podEnv(deploymentOf(objects), extraEnv) });
}

const portOf = (address: string): number => Number(/:(\d+)$/.exec(address)?.[1]);

function rbacYamlRules(): { cluster: PolicyRule[]; lease: PolicyRule[]; checkpoint: PolicyRule[] } {
  const docs = parseAllDocuments(readFileSync(join(REPO, 'deploy', 'rbac.yaml'), 'utf8')).map((d) => d.toJS() as K8sObject);
  return {
    cluster: rulesOf(findObject(docs, 'ClusterRole')),
    lease: rulesOf(findObject(docs, 'Role', 'meshbridge-leader-election')),
    checkpoint: rulesOf(findObject(docs, 'Role', 'meshbridge-checkpoint')),
  };
}

test('Chart.yaml: appVersion is package.json version; helm lint --strict passes for every value set', { skip }, async () => {
  const chart = parse(await readFile(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { apiVersion: string; name: string; appVersion: string; version: string };
  const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
  assert.equal(chart.apiVersion, 'v2');
  assert.equal(chart.name, 'meshbridge');
  assert.equal(chart.appVersion, pkg.version);
  for (const values of [{}, kubeValues, { ...kubeValues, rbac: { namespaced: true } }, { serviceMonitor: { enabled: true } }, { prometheusRule: { enabled: true }, grafanaDashboard: { enabled: true } }]) {
    const r = await helm(['lint', '--strict', CHART_DIR, '--namespace', 'meshbridge', '--values', await writeValues(values)]);
    assert.equal(r.code, 0, `helm lint ${JSON.stringify(values)}:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  }
});

test('defaults: a placeholder config Meshbridge accepts, MCP only, 2 replicas, RBAC for the checkpoint ConfigMaps only, no ServiceMonitor', { skip }, async () => {
  const objects = await renderChart({});
  assert.deepEqual(objects.map((o) => o.kind).sort(), ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'ServiceAccount']);
  assert.deepEqual(rulesOf(findObject(objects, 'Role')), rbacYamlRules().checkpoint, 'configmaps in the release namespace, nothing else');
  for (const o of objects) assert.equal(o.metadata.namespace, 'meshbridge', `${o.kind} in the release namespace`);
  const config = configOf(objects);
  assert.equal(config.registries.length, 1);
  assert.equal(config.registries[0]!.kind, 'file');
  assert.equal(config.sinks.xds?.address, '0.0.0.0:15050');
  assert.equal(config.sinks.kubernetes, undefined);
  assert.equal(config.admin?.address, '0.0.0.0:15080');
  assert.equal(dataOf(findObject(objects, 'ConfigMap'))['services.yaml']?.includes('services: []'), true);
  const d = deploymentOf(objects);
  assert.equal(d.spec.replicas, 2);
  assert.equal(d.spec.template.spec.automountServiceAccountToken, true, 'the checkpoint ConfigMaps need the token');
  const noCheckpoint = deploymentOf(await renderChart({ checkpoint: { enabled: false } }));
  assert.equal(noCheckpoint.spec.template.spec.automountServiceAccountToken, false, 'MCP only without a checkpoint: no API server token in the pod');
  assert.equal(container(d).image, 'meshbridge:0.1.0');
  assert.deepEqual(container(d).args, ['run', '--config', '/etc/meshbridge/meshbridge.yaml']);
  assert.deepEqual(container(d).volumeMounts?.find((m) => m.name === 'config'), { name: 'config', mountPath: '/etc/meshbridge', readOnly: true });
  assert.equal(d.spec.template.spec.volumes?.find((v) => v.name === 'config')?.configMap?.name, findObject(objects, 'ConfigMap').metadata.name);
});

test('the rendered default config passes `meshbridge check` (the built CLI, the ConfigMap files as mounted)', { skip }, async () => {
  const objects = await renderChart({});
  const dir = await mkdtemp(join(tmpdir(), 'meshbridge-chart-cm-'));
  try {
    for (const [name, content] of Object.entries(dataOf(findObject(objects, 'ConfigMap')))) await writeFile(join(dir, name), content);
    const r = spawnSync(process.execPath, [join(REPO, 'dist', 'src', 'main.js'), 'check', '--config', join(dir, 'meshbridge.yaml')], {
      encoding: 'utf8',
      env: { ...process.env, ...podEnv(deploymentOf(objects)) },
      timeout: 60000,
    });
    assert.equal(r.status, 0, `meshbridge check: ${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /check passed/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('probes: /readyz and /healthz on the admin port the config listens on; Service ports grpc-xds and http-admin', { skip }, async () => {
  for (const ports of [{}, { ports: { xds: 16050, admin: 19080 } }]) {
    const objects = await renderChart({ ...kubeValues, config: { ...kubeValues.config, sinks: { xds: {}, kubernetes: {} } }, ...ports });
    const config = configOf(objects);
    const c = container(deploymentOf(objects));
    const named = new Map((c.ports ?? []).map((p) => [p.name, p.containerPort]));
    const adminPort = portOf(config.admin!.address);
    const xdsPort = portOf(config.sinks.xds!.address);
    assert.equal(named.get('http-admin'), adminPort);
    assert.equal(named.get('grpc-xds'), xdsPort);
    assert.deepEqual(c.readinessProbe?.httpGet, { path: '/readyz', port: 'http-admin' });
    assert.deepEqual(c.livenessProbe?.httpGet, { path: '/healthz', port: 'http-admin' });
    const svc = asService(findObject(objects, 'Service'));
    assert.deepEqual(svc.spec.selector, deploymentOf(objects).spec.selector.matchLabels);
    const byName = new Map(svc.spec.ports.map((p) => [p.name, p]));
    assert.deepEqual(byName.get('grpc-xds'), { name: 'grpc-xds', port: xdsPort, targetPort: 'grpc-xds', protocol: 'TCP', appProtocol: 'grpc' });
    assert.equal(byName.get('http-admin')?.port, adminPort);
    assert.equal(byName.get('http-admin')?.targetPort, 'http-admin');
  }
  const defaults = await renderChart({});
  assert.deepEqual(asService(findObject(defaults, 'Service')).spec.ports.map((p) => [p.name, p.port]), [['grpc-xds', 15050], ['http-admin', 15080]]);
});

test('security: non-root, read-only root filesystem, no capabilities, seccomp RuntimeDefault, resources set', { skip }, async () => {
  for (const values of [{}, kubeValues]) {
    const d = deploymentOf(await renderChart(values));
    const pod = d.spec.template.spec.securityContext;
    assert.equal(pod?.runAsNonRoot, true);
    assert.ok((pod?.runAsUser ?? 0) > 0);
    assert.equal(pod?.seccompProfile?.type, 'RuntimeDefault');
    const c = container(d);
    assert.equal(c.securityContext?.runAsNonRoot, true);
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext?.capabilities, { drop: ['ALL'] });
    assert.equal(c.securityContext?.seccompProfile?.type, 'RuntimeDefault');
    assert.ok(c.resources?.requests?.['cpu'] !== undefined && c.resources.requests['memory'] !== undefined, 'requests');
    assert.ok(c.resources?.limits?.['memory'] !== undefined, 'memory limit');
    assert.ok(c.volumeMounts?.some((m) => m.mountPath === '/tmp'), 'a writable /tmp on the read-only root');
  }
});

test('Kubernetes sink: leader election on with POD_NAME (downward API) as identity, Lease in the release namespace; secrets from env', { skip }, async () => {
  const objects = await renderChart(kubeValues, { namespace: 'platform' });
  const d = deploymentOf(objects);
  const env = container(d).env ?? [];
  assert.deepEqual(env.find((e) => e.name === 'POD_NAME')?.valueFrom, { fieldRef: { fieldPath: 'metadata.name' } });
  assert.deepEqual(env.find((e) => e.name === 'POD_NAMESPACE')?.valueFrom, { fieldRef: { fieldPath: 'metadata.namespace' } });
  assert.deepEqual(env.find((e) => e.name === 'EUREKA_PASSWORD')?.valueFrom, { secretKeyRef: { name: 'meshbridge-secrets', key: 'eureka-password' } });
  assert.equal(d.spec.replicas, 2);
  assert.equal(d.spec.template.spec.automountServiceAccountToken, true, 'the sink needs its token');

  const config = configOf(objects);
  const le = config.sinks.kubernetes?.leaderElection;
  assert.ok(le !== undefined, 'leader election enabled');
  assert.equal(le.identity, 'mb-meshbridge-7c9d8b6f5d-x2x7q', 'the pod name');
  assert.equal(le.namespace, 'platform', 'the release namespace, where the chart puts the Lease Role');
  assert.equal(le.name, 'mb-meshbridge');
  assert.equal(config.sinks.kubernetes?.qps, 50, 'the user keys are kept');
  assert.equal(config.instance, 'mb', 'instance: the release name');
  assert.equal(configOf(await renderChart(kubeValues, { release: 'staging' })).instance, 'staging');
  assert.equal(config.sinks.xds, undefined);
  const eureka = config.registries[0] as unknown as { eureka: { auth: { password: string } } };
  assert.equal(eureka.eureka.auth.password, 'secret:meshbridge-secrets/eureka-password');

  // The env is what makes the config valid: without it Meshbridge refuses to start.
  const cmText = dataOf(findObject(objects, 'ConfigMap'))['meshbridge.yaml']!;
  assert.throws(() => parseConfig(cmText, { env: {} }), (e: unknown) => e instanceof MeshbridgeError && e.code === 'MB_CONFIG_ENV_MISSING' && /EUREKA_PASSWORD/.test(e.message) && /POD_NAME/.test(e.message));

  // Keys the user sets win over the chart's.
  const own = await renderChart({ ...kubeValues, config: { ...kubeValues.config, sinks: { kubernetes: { leaderElection: { name: 'my-lease', leaseDurationSeconds: 30 } } } } });
  const ownLe = configOf(own).sinks.kubernetes?.leaderElection;
  assert.equal(ownLe?.name, 'my-lease');
  assert.equal(ownLe?.leaseDurationSeconds, 30);
  assert.equal(ownLe?.identity, 'mb-meshbridge-7c9d8b6f5d-x2x7q');

  // Two writers without election are refused at render time; one replica may run without it.
  const refused = await renderChartRaw({ ...kubeValues, leaderElection: { enabled: false } });
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /needs leader election/);
  const single = await renderChart({ ...kubeValues, replicaCount: 1, leaderElection: { enabled: false } });
  assert.equal(configOf(single).sinks.kubernetes?.leaderElection, undefined);
  assert.equal(single.some((o) => o.kind === 'PodDisruptionBudget'), false, 'no PDB for one replica');
});

test('RBAC rules equal deploy/rbac.yaml: ClusterRole (default) or one Role per target namespace (rbac.namespaced), Lease Role in the release namespace', { skip }, async () => {
  const shipped = rbacYamlRules();
  const ns = 'platform';

  const cluster = await renderChart(kubeValues, { namespace: ns });
  const cr = findObject(cluster, 'ClusterRole');
  assert.deepEqual(rulesOf(cr), shipped.cluster);
  const crb = findObject(cluster, 'ClusterRoleBinding') as K8sObject & { roleRef: unknown; subjects: unknown };
  assert.deepEqual(crb.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: cr.metadata.name });
  const sa = findObject(cluster, 'ServiceAccount');
  assert.deepEqual(crb.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: ns }]);
  assert.equal(deploymentOf(cluster).spec.template.spec.serviceAccountName, sa.metadata.name);
  const lease = findObject(cluster, 'Role', 'mb-meshbridge-leader-election', ns);
  assert.deepEqual(rulesOf(lease), shipped.lease);
  const leaseBinding = findObject(cluster, 'RoleBinding', 'mb-meshbridge-leader-election', ns) as K8sObject & { roleRef: { name: string }; subjects: unknown };
  assert.equal(leaseBinding.roleRef.name, lease.metadata.name);
  assert.deepEqual(leaseBinding.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: ns }]);
  assert.deepEqual(cluster.filter((o) => o.kind === 'Role').map((o) => o.metadata.name).sort(), ['mb-meshbridge-checkpoint', 'mb-meshbridge-leader-election']);
  assert.deepEqual(rulesOf(findObject(cluster, 'Role', 'mb-meshbridge-checkpoint', ns)), shipped.checkpoint);

  const namespaced = await renderChart({ ...kubeValues, rbac: { namespaced: true } }, { namespace: ns });
  assert.equal(namespaced.some((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding'), false, 'no cluster-scoped objects');
  const writers = namespaced.filter((o) => o.kind === 'Role' && o.metadata.name === 'mb-meshbridge');
  assert.deepEqual(writers.map((o) => o.metadata.namespace).sort(), ['mesh-a', 'mesh-b'], 'the registry namespace and its namespaceMap target');
  for (const r of writers) {
    assert.deepEqual(rulesOf(r), shipped.cluster);
    const b = findObject(namespaced, 'RoleBinding', 'mb-meshbridge', r.metadata.namespace) as K8sObject & { roleRef: unknown; subjects: unknown };
    assert.deepEqual(b.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'mb-meshbridge' });
    assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: ns }]);
  }
  assert.deepEqual(rulesOf(findObject(namespaced, 'Role', 'mb-meshbridge-leader-election', ns)), shipped.lease);

  // A zookeeper registry's Sidecars go to their own namespaces: those get the Role too.
  const zk = { name: 'zk', kind: 'zookeeper', zookeeper: { servers: 'zk:2181' }, namespace: 'mesh-a', sidecars: { namespace: 'apps', namespaces: { web: 'web-ns' } } };
  const withSidecars = await renderChart({ ...kubeValues, config: { ...kubeValues.config, registries: [...kubeValues.config.registries, zk] }, rbac: { namespaced: true } }, { namespace: ns });
  assert.deepEqual(
    withSidecars.filter((o) => o.kind === 'Role' && o.metadata.name === 'mb-meshbridge').map((o) => o.metadata.namespace).sort(),
    ['apps', 'mesh-a', 'mesh-b', 'web-ns'],
    'the Sidecar namespaces are target namespaces',
  );

  const listed = await renderChart({ ...kubeValues, rbac: { namespaced: true, namespaces: ['team-x'] } });
  assert.deepEqual(listed.filter((o) => o.kind === 'RoleBinding' && o.metadata.name === 'mb-meshbridge').map((o) => o.metadata.namespace), ['team-x']);

  const none = await renderChart({ ...kubeValues, rbac: { create: false } });
  assert.equal(none.some((o) => o.kind.includes('Role')), false);
});

test('publish.kubernetesServices: the chart role adds the rules of deploy/rbac-kubernetes-services.yaml (cluster-wide and namespaced), only then', { skip }, async () => {
  const shipped = rbacYamlRules();
  const extra = parseAllDocuments(readFileSync(join(REPO, 'deploy', 'rbac-kubernetes-services.yaml'), 'utf8')).map((d) => d.toJS() as K8sObject);
  const serviceRules = rulesOf(findObject(extra, 'ClusterRole', 'meshbridge-kubernetes-services'));
  assert.deepEqual(serviceRules.map((r) => r.resources).flat().sort(), ['endpointslices', 'services']);
  const registry = kubeValues.config.registries[0]!;
  const withServices = { ...kubeValues, config: { ...kubeValues.config, registries: [{ ...registry, publish: { kubernetesServices: true } }] } };
  const cluster = await renderChart(withServices);
  assert.deepEqual(rulesOf(findObject(cluster, 'ClusterRole')), [...shipped.cluster, ...serviceRules]);
  const namespaced = await renderChart({ ...withServices, rbac: { namespaced: true } });
  for (const r of namespaced.filter((o) => o.kind === 'Role' && o.metadata.name === 'mb-meshbridge')) assert.deepEqual(rulesOf(r), [...shipped.cluster, ...serviceRules]);
  const off = await renderChart({ ...kubeValues, config: { ...kubeValues.config, registries: [{ ...registry, publish: { kubernetesServices: false } }] } });
  assert.deepEqual(rulesOf(findObject(off, 'ClusterRole')), shipped.cluster, 'no Service rights without the opt-in');
  // The config the chart renders is one Meshbridge accepts, with the opt-in.
  assert.equal(configOf(cluster).registries[0]?.publish.kubernetesServices, true);
});

test('a changed config rolls the pods (checksum annotation); other values do not change it', { skip }, async () => {
  const checksum = (objects: readonly K8sObject[]): string | undefined => deploymentOf(objects).spec.template.metadata.annotations?.['checksum/config'];
  const base = checksum(await renderChart(kubeValues));
  assert.match(base ?? '', /^[0-9a-f]{64}$/);
  assert.equal(checksum(await renderChart({ ...kubeValues, replicaCount: 3 })), base);
  assert.notEqual(checksum(await renderChart({ ...kubeValues, config: { ...kubeValues.config, log: { level: 'debug' } } })), base);
  assert.notEqual(checksum(await renderChart({ ...kubeValues, files: { 'ca.pem': 'x' } })), base, 'an extra file is part of the ConfigMap');
  // reloadInPlace: no checksum, so a config change reaches the running pods' volume and is reloaded.
  assert.equal(checksum(await renderChart({ ...kubeValues, reloadInPlace: true })), undefined);
});

test('config as a YAML string works like the map; extra files are mounted beside it', { skip }, async () => {
  const text = [
    'registries:',
    '  - {name: legacy, kind: file, file: {path: legacy.yaml}, namespace: legacy}',
    'sinks: {xds: {keepalive: {maxConnectionAgeMs: 1800000}}}',
    'debounce: {quietPeriodMs: 200, maxDelayMs: 2000}',
  ].join('\n');
  const objects = await renderChart({ config: text, files: { 'legacy.yaml': 'services: []\n' } });
  const config = configOf(objects);
  assert.equal(config.registries[0]!.name, 'legacy');
  assert.equal(config.sinks.xds?.address, '0.0.0.0:15050');
  assert.equal(config.sinks.xds?.keepalive.maxConnectionAgeMs, 1800000);
  assert.equal(config.debounce.maxDelayMs, 2000);
  const data = dataOf(findObject(objects, 'ConfigMap'));
  assert.equal(data['legacy.yaml'], 'services: []\n');
  assert.equal(data['services.yaml'], undefined, 'no placeholder file with a real config');

  const bad = await renderChartRaw({ config: { sinks: { xds: {} } } });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /config\.registries/);
});

test('ServiceMonitor: off by default; on, it scrapes /metrics on http-admin; PDB follows replicas', { skip }, async () => {
  assert.equal((await renderChart({})).some((o) => o.kind === 'ServiceMonitor'), false);
  const objects = await renderChart({ serviceMonitor: { enabled: true, labels: { release: 'prom' } } });
  const sm = findObject(objects, 'ServiceMonitor') as K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] } };
  assert.equal(sm.apiVersion, 'monitoring.coreos.com/v1');
  assert.equal(sm.metadata.labels?.['release'], 'prom');
  assert.deepEqual(sm.spec.endpoints.map((e) => [e.port, e.path]), [['http-admin', '/metrics']]);
  assert.deepEqual(sm.spec.selector.matchLabels, asService(findObject(objects, 'Service')).spec.selector);
  const pdb = findObject(objects, 'PodDisruptionBudget') as K8sObject & { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } };
  assert.equal(pdb.spec.minAvailable, 1);
  assert.deepEqual(pdb.spec.selector.matchLabels, deploymentOf(objects).spec.selector.matchLabels);
});

test('checkpoint: ConfigMaps in the release namespace by default (Role there), a file on a state volume with store: file; a config that sets one keeps it; off removes it', { skip }, async () => {
  const on = await renderChart({}, { namespace: 'platform' });
  const config = configOf(on);
  assert.deepEqual(config.checkpoint?.configMap, { name: 'mb-meshbridge-checkpoint', namespace: 'platform', kubeconfig: undefined, context: undefined });
  assert.equal(config.checkpoint?.intervalSeconds, 30);
  assert.equal(container(deploymentOf(on)).volumeMounts?.find((m) => m.name === 'state'), undefined, 'no state volume');
  assert.equal(findObject(on, 'Role', 'mb-meshbridge-checkpoint', 'platform').metadata.namespace, 'platform');
  const file = await renderChart({ checkpoint: { store: 'file' } });
  assert.equal(configOf(file).checkpoint?.path, '/var/lib/meshbridge/checkpoint.json');
  const d = deploymentOf(file);
  assert.deepEqual(container(d).volumeMounts?.find((m) => m.name === 'state'), { name: 'state', mountPath: '/var/lib/meshbridge' });
  assert.ok(d.spec.template.spec.volumes?.some((v) => v.name === 'state'), 'the state volume exists');
  assert.equal(file.some((o) => o.kind === 'Role'), false, 'a file needs no RBAC');
  const own = await renderChart({ ...kubeValues, config: { ...kubeValues.config, checkpoint: { path: '/data/cp.json' } } });
  assert.equal(configOf(own).checkpoint?.path, '/data/cp.json');
  assert.equal(own.some((o) => o.kind === 'Role' && o.metadata.name.endsWith('-checkpoint')), false);
  const ownCm = await renderChart({ ...kubeValues, config: { ...kubeValues.config, checkpoint: { configMap: { namespace: 'state' } } } });
  assert.equal(findObject(ownCm, 'Role', 'mb-meshbridge-checkpoint', 'state').metadata.namespace, 'state', 'the Role follows the config');
  const off = await renderChart({ checkpoint: { enabled: false } });
  assert.equal(configOf(off).checkpoint, undefined);
  assert.equal(off.some((o) => o.kind === 'Role'), false);
  await assert.rejects(renderChart({ checkpoint: { store: 'disk' } }), /checkpoint.store must be configMap or file/);
});

test('sharded MCP: sinks.xds.shards N opens N consecutive container and Service ports; the config keeps the count', { skip }, async () => {
  const values = { config: { registries: [{ name: 'files', kind: 'file', file: { path: '/etc/meshbridge/services.yaml' }, namespace: 'mesh' }], sinks: { xds: { shards: 3 } } } };
  const objects = await renderChart(values);
  assert.equal(configOf(objects).sinks.xds?.shards, 3);
  const ports = container(deploymentOf(objects)).ports ?? [];
  assert.deepEqual(ports.filter((p) => p.name.startsWith('grpc-xds')).map((p) => [p.name, p.containerPort]), [['grpc-xds', 15050], ['grpc-xds-1', 15051], ['grpc-xds-2', 15052]]);
  const svc = findObject(objects, 'Service') as K8sObject & { spec: { ports: Array<{ name: string; port: number; targetPort: string }> } };
  assert.deepEqual(svc.spec.ports.filter((p) => p.name.startsWith('grpc-xds')).map((p) => [p.port, p.targetPort]), [[15050, 'grpc-xds'], [15051, 'grpc-xds-1'], [15052, 'grpc-xds-2']]);
  const one = container(deploymentOf(await renderChart({}))).ports ?? [];
  assert.deepEqual(one.filter((p) => p.name.startsWith('grpc-xds')).map((p) => p.name), ['grpc-xds'], 'unsharded: one port');
});
