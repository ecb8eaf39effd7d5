/**
 * The Kubernetes route end to end with the real CLI: a file registry (edited atomically by the
 * test) -> `meshbridge run` (sinks.kubernetes) -> a real kube-apiserver with the pinned release's
 * CRDs -> a real istiod in Kubernetes mode, checked at istiod's /debug/registryz and
 * /debug/endpointz. Also: a restart writes nothing (and one after an edit made while stopped
 * prunes and writes only the difference), two leader-elected replicas write once and hand over
 * after kill -9 (and promptly after SIGTERM, which releases the lease), and an unowned
 * ServiceEntry that claims a host is left alone.
 *
 * Latencies are reported (t.diagnostic), never asserted tightly: deadlines are generous.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadPeers, requirePeers, type KubeApi, type Etcd, type Istiod, type PeersModule } from '../../test-support/peers.js';
import { eventually, kube, listIstio, startKubeCluster, type ListedObject } from '../../test-support/kube.js';
import { metricSum, startMeshbridge, tempDir, writeRunConfig, writeServices, type FileService, type MeshbridgeProcess } from '../../test-support/meshbridge.js';
import { STEPS, expectedView, hostOf, istiodView, summary, type HostsView } from '../../test-support/istiod-view.js';

const skip = await requirePeers('etcd', 'kube-apiserver', 'istio-crds', 'istiod');
const DEADLINE = 60_000;
let peers: PeersModule;
let etcd: Etcd | undefined;
let api: KubeApi | undefined;
let istiod: Istiod | undefined;
const procs: MeshbridgeProcess[] = [];

before(async () => {
  if (skip !== undefined) return;
  peers = await loadPeers();
  ({ etcd, api } = await startKubeCluster());
  istiod = await peers.startIstiod({ mode: 'kubernetes', kubeconfig: api.kubeconfigPath, api });
});

after(async () => {
  for (const p of procs) await p.kill().catch(() => undefined);
  await istiod?.stop();
  await api?.stop();
  await etcd?.stop();
});

interface Setup {
  readonly dir: string;
  readonly config: string;
  readonly services: string;
}

/** A temp dir with services.yaml and a config; admin address and identity come from the env. */
async function setup(registry: string, namespace: string, services: readonly FileService[], kubernetesExtra = ''): Promise<Setup> {
  await peers.ensureNamespace(api!, namespace);
  const dir = await tempDir();
  const servicesPath = join(dir, 'services.yaml');
  await writeServices(servicesPath, services);
  const config = await writeRunConfig(dir, {
    registries: `  - {name: ${registry}, kind: file, file: {path: services.yaml, pollIntervalMs: 1000}, namespace: ${namespace}}`,
    sinks: `  kubernetes:
    kubeconfig: ${api!.kubeconfigPath}
    qps: 100
    burst: 200
${kubernetesExtra}`,
    admin: `"127.0.0.1:\${ENV:MB_ADMIN_PORT}"`,
  });
  return { dir, config, services: servicesPath };
}

async function run(s: Setup, env: Record<string, string> = {}): Promise<MeshbridgeProcess> {
  const [port] = await peers.freePorts(1);
  const p = await startMeshbridge({ config: s.config, adminPort: port!, env: { MB_ADMIN_PORT: String(port), ...env } });
  procs.push(p);
  return p;
}

async function writes(p: MeshbridgeProcess, op: 'apply' | 'delete', result = 'ok'): Promise<number> {
  return metricSum(await p.metrics(), 'meshbridge_kube_writes_total', { op, result });
}

async function leaderGauge(p: MeshbridgeProcess): Promise<number> {
  return metricSum(await p.metrics(), 'meshbridge_kube_leader');
}

/**
 * Names of the per-service ServiceEntries, sorted: the shared entries of the listener-address plan
 * (docs/mapping.md#listener-addresses; test/istiod/dataplane-routing-* prove them) left out.
 */
function serviceNames(list: readonly ListedObject[]): string[] {
  return list.map((o) => o.metadata.name).filter((n) => !n.endsWith('.shared.meshbridge.internal')).sort();
}

/** Polls istiod until it shows exactly what `services` says; resolves with the latency in ms. */
async function converge(registry: string, namespace: string, services: readonly FileService[], since: number, what: string): Promise<number> {
  const want = expectedView(services, registry);
  let last: unknown;
  await eventually(async () => {
    last = await istiodView(istiod!, registry, namespace);
    return JSON.stringify(last) === JSON.stringify(want) ? true : undefined;
  }, DEADLINE, `istiod shows "${what}"`).catch((e: unknown) => {
    throw new Error(`${e instanceof Error ? e.message : String(e)}\nwant ${JSON.stringify(want)}\ngot  ${JSON.stringify(last)}`);
  });
  return Date.now() - since;
}

/** ServiceEntries in `namespace` once two reads 1 s apart agree (istiod writes status too). */
async function settled(namespace: string): Promise<ListedObject[]> {
  let prev = JSON.stringify(await listIstio(api!, 'serviceentries', namespace));
  return eventually(async () => {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await listIstio(api!, 'serviceentries', namespace);
    const text = JSON.stringify(now);
    const same = text === prev;
    prev = text;
    return same ? now : undefined;
  }, DEADLINE, `ServiceEntries in ${namespace} settle`);
}

interface ManagedField {
  manager?: string;
  time?: string;
}

function meshbridgeWrite(o: ListedObject): string {
  const mf = (o.metadata as { managedFields?: ManagedField[] }).managedFields ?? [];
  return JSON.stringify(mf.filter((f) => f.manager === 'meshbridge'));
}

test('add, change (address, weight, label, port) and delete reach istiod; a restart writes nothing', { skip }, async (t) => {
  const NS = 'mb-e2e-k8s';
  const REG = 'files';
  const s = await setup(REG, NS, STEPS[0]!.services);
  let t0 = Date.now();
  const mb = await run(s);
  const latencies: number[] = [];
  const first = await converge(REG, NS, STEPS[0]!.services, t0, STEPS[0]!.what);
  t.diagnostic(`kubernetes route: start -> istiod shows "${STEPS[0]!.what}": ${first} ms (includes process start)`);
  assert.deepEqual(peers.nonLoopbackSockets(mb.pid), [], 'meshbridge sockets off loopback');

  for (const step of STEPS.slice(1)) {
    t0 = Date.now();
    await writeServices(s.services, step.services);
    const ms = await converge(REG, NS, step.services, t0, step.what);
    latencies.push(ms);
    t.diagnostic(`kubernetes route: file edit "${step.what}" -> istiod registryz/endpointz: ${ms} ms`);
    // The API server holds exactly the desired ServiceEntries: nothing orphaned or doubled.
    const names = serviceNames(await listIstio(api!, 'serviceentries', NS));
    assert.deepEqual(names, step.services.map((x) => hostOf(x, REG)).sort(), `after "${step.what}"`);
  }
  t.diagnostic(`kubernetes route file edit -> istiod: ${summary(latencies)}`);
  assert.equal(await writes(mb, 'apply', 'error'), 0);
  assert.equal(await writes(mb, 'delete', 'error'), 0);

  // Restart: SIGTERM, same config again. The second process finds everything up to date.
  const last = STEPS[STEPS.length - 1]!.services;
  const before = await settled(NS);
  assert.equal(await mb.stop(), 0, mb.stderr().slice(-2000));
  const again = await run(s);
  await eventually(async () => {
    const d = (await again.debug('kubernetes')) as { cachesSynced?: boolean; lastReconcile?: string };
    return d.cachesSynced === true && d.lastReconcile !== undefined ? true : undefined;
  }, DEADLINE, 'the second process reconciled once');
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(await writes(again, 'apply'), 0, 'no apply after a restart with unchanged content');
  assert.equal(await writes(again, 'delete'), 0, 'no delete after a restart with unchanged content');
  const after = await listIstio(api!, 'serviceentries', NS);
  assert.deepEqual(
    after.map((o) => [o.metadata.name, o.metadata.resourceVersion, o.metadata.generation, meshbridgeWrite(o)]),
    before.map((o) => [o.metadata.name, o.metadata.resourceVersion, o.metadata.generation, meshbridgeWrite(o)]),
    'same objects, same resourceVersions and generations, meshbridge managedFields untouched',
  );
  await converge(REG, NS, last, Date.now(), 'unchanged after restart');

  // The second process does its job: one more change is one apply.
  const changed: FileService[] = last.map((x) => (x.name === 'inventory' ? { ...x, instances: [{ ...x.instances[0]!, weight: 3 }] } : x));
  t0 = Date.now();
  await writeServices(s.services, changed);
  const ms = await converge(REG, NS, changed, t0, 'a change after the restart');
  t.diagnostic(`kubernetes route: change after restart -> istiod: ${ms} ms`);
  assert.equal(await writes(again, 'apply'), 1);
  assert.equal(await again.stop(), 0);

  // Edited while no Meshbridge runs: one service replaced by another. The next process deletes
  // the stale one (nothing orphaned) and writes only the new one.
  const whileDown: FileService[] = [
    ...changed.filter((x) => x.name !== 'inventory'),
    { name: 'shipping', namespace: 'shop', ports: [{ number: 8443, name: 'https', protocol: 'HTTPS' }], instances: [{ address: '10.6.0.1', weight: 2, labels: { app: 'shipping' } }] },
  ];
  await writeServices(s.services, whileDown);
  t0 = Date.now();
  const third = await run(s);
  t.diagnostic(`kubernetes route: edit made while stopped -> istiod after restart: ${await converge(REG, NS, whileDown, t0, 'the edit made while stopped')} ms (includes process start)`);
  assert.deepEqual(serviceNames(await listIstio(api!, 'serviceentries', NS)), whileDown.map((x) => hostOf(x, REG)).sort());
  assert.equal(await writes(third, 'apply'), 1, 'only the new service is written');
  assert.equal(await writes(third, 'delete'), 1, 'the removed service is pruned');
  assert.equal(await third.stop(), 0);
});

test('two replicas with leader election: one writes; after kill -9 the other takes over and writes a later change once', { skip }, async (t) => {
  const NS = 'mb-e2e-leader';
  const REG = 'lead';
  const LEASE_S = 3;
  const RETRY_S = 1;
  const services: FileService[] = [
    { name: 'alpha', namespace: 'shop', ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }], instances: [{ address: '10.3.0.1', weight: 1, labels: { app: 'alpha' } }] },
    { name: 'beta', namespace: 'shop', ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }], instances: [{ address: '10.3.0.2', weight: 1, labels: { app: 'beta' } }] },
  ];
  const s = await setup(
    REG,
    NS,
    services,
    `    leaderElection: {enabled: true, namespace: ${NS}, name: meshbridge-e2e, leaseDurationSeconds: ${LEASE_S}, renewDeadlineSeconds: 2, retryPeriodSeconds: ${RETRY_S}, identity: "\${ENV:POD_NAME}"}`,
  );
  const t0 = Date.now();
  const [a, b] = await Promise.all([run(s, { POD_NAME: 'replica-a' }), run(s, { POD_NAME: 'replica-b' })]);
  const byName = new Map([['replica-a', a], ['replica-b', b]]);
  const ms = await converge(REG, NS, services, t0, 'initial services');
  t.diagnostic(`leader election: two replicas start -> istiod shows the services: ${ms} ms`);

  const lease = async (): Promise<string> =>
    (await kube<{ spec?: { holderIdentity?: string } }>(api!, 'GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/meshbridge-e2e`)).body.spec?.holderIdentity ?? '';
  const holder = await eventually(async () => {
    const h = await lease();
    return byName.has(h) ? h : undefined;
  }, DEADLINE, 'a lease holder');
  const leader = byName.get(holder)!;
  const standby = holder === 'replica-a' ? b : a;
  await new Promise((r) => setTimeout(r, 2 * RETRY_S * 1000));
  assert.equal(await leaderGauge(leader), 1, 'meshbridge_kube_leader of the holder');
  assert.equal(await leaderGauge(standby), 0, 'meshbridge_kube_leader of the standby');
  assert.equal(await writes(leader, 'apply'), services.length, 'the leader applied each ServiceEntry once');
  assert.equal(await writes(standby, 'apply'), 0, 'the standby wrote nothing');
  const before = await settled(NS);

  // kill -9 the leader: no lease release. Then change one service.
  const tKill = Date.now();
  await leader.kill();
  const changed: FileService[] = [{ ...services[0]!, instances: [{ ...services[0]!.instances[0]!, address: '10.3.0.11' }] }, services[1]!];
  await writeServices(s.services, changed);
  await eventually(async () => ((await leaderGauge(standby)) === 1 ? true : undefined), DEADLINE, 'the standby takes over');
  const takeover = Date.now() - tKill;
  const converged = await converge(REG, NS, changed, tKill, 'the change made after the kill');
  t.diagnostic(`leader election: kill -9 -> standby leads after ${takeover} ms (lease ${LEASE_S} s, retry ${RETRY_S} s); change visible in istiod after ${converged} ms`);
  assert.ok(takeover < (LEASE_S + RETRY_S) * 1000 + 10_000, `takeover within the lease duration plus slack (${takeover} ms)`);
  assert.equal(await lease(), holder === 'replica-a' ? 'replica-b' : 'replica-a');

  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(await writes(standby, 'apply'), 1, 'the new leader wrote the change exactly once');
  assert.equal(await writes(standby, 'delete'), 0);
  const after = await listIstio(api!, 'serviceentries', NS);
  assert.deepEqual(serviceNames(after), services.map((x) => hostOf(x, REG)).sort(), 'nothing lost or doubled');
  const gen = (list: ListedObject[], name: string): number | undefined => list.find((o) => o.metadata.name === name)?.metadata.generation;
  const alpha = hostOf(services[0]!, REG);
  const beta = hostOf(services[1]!, REG);
  assert.equal(gen(after, alpha), (gen(before, alpha) ?? 0) + 1, 'the changed ServiceEntry: one new generation');
  assert.equal(gen(after, beta), gen(before, beta), 'the unchanged one: not rewritten');
  assert.equal(
    after.find((o) => o.metadata.name === beta)?.metadata.resourceVersion,
    before.find((o) => o.metadata.name === beta)?.metadata.resourceVersion,
  );
  assert.equal(await standby.stop(), 0);
});

test('SIGTERM of the leader releases the lease: the standby takes over well before the lease expires', { skip }, async (t) => {
  const NS = 'mb-e2e-release';
  const REG = 'rel';
  const LEASE_S = 20;
  const services: FileService[] = [
    { name: 'gamma', namespace: 'shop', ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }], instances: [{ address: '10.5.0.1', weight: 1, labels: { app: 'gamma' } }] },
  ];
  const s = await setup(
    REG,
    NS,
    services,
    `    leaderElection: {enabled: true, namespace: ${NS}, name: meshbridge-e2e, leaseDurationSeconds: ${LEASE_S}, renewDeadlineSeconds: 10, retryPeriodSeconds: 1, identity: "\${ENV:POD_NAME}"}`,
  );
  const a = await run(s, { POD_NAME: 'replica-a' });
  await eventually(async () => ((await leaderGauge(a)) === 1 ? true : undefined), DEADLINE, 'replica-a leads');
  const b = await run(s, { POD_NAME: 'replica-b' });
  await converge(REG, NS, services, Date.now(), 'initial services');
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(await leaderGauge(b), 0);
  const tStop = Date.now();
  assert.equal(await a.stop(), 0, a.stderr().slice(-2000));
  await eventually(async () => ((await leaderGauge(b)) === 1 ? true : undefined), DEADLINE, 'replica-b takes over');
  const takeover = Date.now() - tStop;
  t.diagnostic(`leader election: SIGTERM of the leader -> standby leads after ${takeover} ms (lease ${LEASE_S} s)`);
  assert.ok(takeover < LEASE_S * 1000, `the released lease is taken before it would expire (${takeover} ms)`);
  assert.match(a.stderr(), /released lease/);
  assert.equal(await writes(b, 'apply'), 0, 'nothing to write: the objects are up to date');
  assert.equal(await b.stop(), 0);
});

test('an unowned ServiceEntry claiming a registry host is left untouched and reported; other services sync', { skip }, async (t) => {
  const NS = 'mb-e2e-clash';
  const REG = 'clash';
  const orders: FileService = { name: 'orders', namespace: 'shop', ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }], instances: [{ address: '10.4.0.1', weight: 1, labels: { app: 'orders' } }] };
  const payments: FileService = { name: 'payments', namespace: 'shop', ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }], instances: [{ address: '10.4.0.2', weight: 1, labels: { app: 'payments' } }] };
  await peers.ensureNamespace(api!, NS);
  const legacy = {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name: 'legacy-orders', namespace: NS, labels: { team: 'legacy' } },
    spec: {
      hosts: [hostOf(orders, REG)],
      ports: [{ number: 80, name: 'http', protocol: 'HTTP' }],
      resolution: 'STATIC',
      location: 'MESH_INTERNAL',
      endpoints: [{ address: '10.9.9.9', labels: { owner: 'legacy' } }],
    },
  };
  const created = await kube(api!, 'POST', `/apis/networking.istio.io/v1/namespaces/${NS}/serviceentries`, legacy);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const legacyBefore = (await settled(NS)).find((o) => o.metadata.name === 'legacy-orders')!;

  const s = await setup(REG, NS, [orders, payments]);
  const mb = await run(s);
  // istiod: payments from Meshbridge, the orders host still from the legacy object.
  const legacyView = { ports: ['http:80/HTTP'], endpoints: ['10.9.9.9:80 w=0 owner=legacy'] };
  const want = (p: FileService): HostsView => ({ [hostOf(orders, REG)]: legacyView, ...expectedView([p], REG) }); // orders < payments: sorted
  await eventually(async () => (JSON.stringify(await istiodView(istiod!, REG, NS)) === JSON.stringify(want(payments)) ? true : undefined), DEADLINE, 'istiod: legacy orders + meshbridge payments');

  await eventually(async () => (metricSum(await mb.metrics(), 'meshbridge_kube_host_clashes') === 1 ? true : undefined), DEADLINE, 'meshbridge_kube_host_clashes 1');
  const dbg = (await mb.debug('kubernetes')) as { clashes: Array<{ host: string; resource: string; claimedBy: string }> };
  assert.deepEqual(dbg.clashes, [
    { host: hostOf(orders, REG), resource: `ServiceEntry/${NS}/${hostOf(orders, REG)}`, claimedBy: `ServiceEntry/${NS}/legacy-orders` },
  ]);
  assert.match(mb.stderr(), /MB_HOST_CONFLICT/);

  // Other services keep syncing; the clashing one stays unwritten.
  const payments2: FileService = { ...payments, instances: [...payments.instances, { address: '10.4.0.3', weight: 1, labels: { app: 'payments' } }] };
  const orders2: FileService = { ...orders, instances: [{ address: '10.4.0.9', weight: 1, labels: { app: 'orders' } }] };
  const t0 = Date.now();
  await writeServices(s.services, [orders2, payments2]);
  await eventually(async () => (JSON.stringify(await istiodView(istiod!, REG, NS)) === JSON.stringify(want(payments2)) ? true : undefined), DEADLINE, 'payments change reaches istiod');
  t.diagnostic(`clash: a change to a non-clashing service -> istiod: ${Date.now() - t0} ms`);
  await new Promise((r) => setTimeout(r, 2000));

  const list = await listIstio(api!, 'serviceentries', NS);
  assert.deepEqual(serviceNames(list), ['legacy-orders', hostOf(payments, REG)]);
  const legacyAfter = list.find((o) => o.metadata.name === 'legacy-orders')!;
  assert.equal(JSON.stringify(legacyAfter.spec), JSON.stringify(legacyBefore.spec), 'legacy spec byte for byte');
  assert.equal(legacyAfter.metadata.resourceVersion, legacyBefore.metadata.resourceVersion, 'legacy resourceVersion');
  assert.deepEqual(legacyAfter.metadata.labels, { team: 'legacy' });
  assert.equal(meshbridgeWrite(legacyAfter), '[]', 'meshbridge never became a field manager of the legacy object');
  // payments twice, and the entry for its second HTTP address (one address per HTTP entry); orders never.
  assert.equal(await writes(mb, 'apply'), 3, 'payments twice + its second address entry, orders never');
  assert.ok(!list.some((o) => o.metadata.name === hostOf(orders, REG)), 'orders never written');
  assert.equal(await writes(mb, 'delete'), 0);
  assert.equal(await mb.stop(), 0);
});

test('the peers bind and dial loopback only', { skip }, () => {
  for (const [name, pid] of [['etcd', etcd!.pid], ['kube-apiserver', api!.pid], ['istiod', istiod!.pid]] as const) {
    assert.deepEqual(peers.nonLoopbackSockets(pid), [], `${name} sockets off loopback`);
  }
});
