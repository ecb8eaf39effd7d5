/**
 * The Kubernetes route end to end, checked the way a person checks it: Meshbridge's sink writes
 * ServiceEntries and WorkloadEntries to a real kube-apiserver (with the pinned Istio release's
 * CRDs) and a real istiod reading that API server lists them in /debug/registryz and
 * /debug/configz. Every peer keeps to loopback.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPeers, requirePeers, type KubeApi, type Etcd, type Istiod, type PeersModule } from '../../test-support/peers.js';
import { eventually, startKubeCluster } from '../../test-support/kube.js';
import { KubeClient } from '../../src/sinks/kubernetes/kube-client.js';
import { KubernetesSink } from '../../src/sinks/kubernetes/sink.js';
import { SnapshotStore, resourceKey, ContentHashAnnotation, type IstioResource } from '../../src/snapshot/index.js';
import { Metrics, silentLogger } from '../../src/observability/index.js';
import { hashOf } from '../../src/util/hash.js';

const NS = 'mb-istiod';
const skip = await requirePeers('etcd', 'kube-apiserver', 'istio-crds', 'istiod');
let peers: PeersModule;
let etcd: Etcd | undefined;
let api: KubeApi | undefined;
let istiod: Istiod | undefined;

before(async () => {
  if (skip !== undefined) return;
  peers = await loadPeers();
  ({ etcd, api } = await startKubeCluster({ namespaces: [NS] }));
  istiod = await peers.startIstiod({ mode: 'kubernetes', kubeconfig: api.kubeconfigPath, api });
});

after(async () => {
  await istiod?.stop();
  await api?.stop();
  await etcd?.stop();
});

const labels = { 'app.kubernetes.io/managed-by': 'meshbridge', 'meshbridge.io/registry': 'files' };

function resource(kind: IstioResource['kind'], name: string, spec: Record<string, unknown>): IstioResource {
  const version = hashOf({ kind, name, labels, spec });
  return { kind, namespace: NS, name, key: resourceKey(kind, NS, name), labels, annotations: { [ContentHashAnnotation]: version }, spec, version };
}

const orders = resource('ServiceEntry', 'orders', {
  hosts: ['orders.demo.meshbridge.test'],
  ports: [{ number: 20880, name: 'tcp-dubbo', protocol: 'TCP' }],
  resolution: 'STATIC',
  location: 'MESH_INTERNAL',
  endpoints: [{ address: '10.10.0.1', labels: { version: 'v1' } }, { address: '10.10.0.2', labels: { version: 'v2' } }],
});
const payments = resource('ServiceEntry', 'payments', {
  hosts: ['payments.demo.meshbridge.test'],
  ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }],
  resolution: 'STATIC',
  location: 'MESH_INTERNAL',
  workloadSelector: { labels: { app: 'payments' } },
});
const payments1 = resource('WorkloadEntry', 'payments-1', { address: '10.10.1.1', labels: { app: 'payments' } });

interface RegistryzService {
  hostname?: string;
}
interface ConfigzEntry {
  kind?: string;
  name?: string;
  namespace?: string;
  metadata?: { name?: string; namespace?: string };
}

async function hostnames(): Promise<string[]> {
  const r = (await istiod!.debug('registryz')) as RegistryzService[];
  return r.map((s) => s.hostname ?? '').filter((h) => h.endsWith('.meshbridge.test')).sort();
}

type Endpointz = Record<string, Record<string, { Shards?: Record<string, Array<{ Addresses?: string[] }>> }>>;

/** host -> sorted endpoint addresses, from /debug/endpointz (the EDS view istiod pushes). */
async function endpoints(): Promise<Record<string, string[]>> {
  const e = (await istiod!.debug('endpointz')) as Endpointz;
  const out: Record<string, string[]> = {};
  for (const [host, byNs] of Object.entries(e)) {
    if (!host.endsWith('.meshbridge.test')) continue;
    const shards = Object.values(byNs[NS]?.Shards ?? {}).flat();
    out[host] = shards.flatMap((s) => s.Addresses ?? []).sort();
  }
  return out;
}

async function configNames(): Promise<string[]> {
  const c = (await istiod!.debug('configz')) as ConfigzEntry[];
  return c
    .filter((e) => (e.metadata?.namespace ?? e.namespace) === NS)
    .map((e) => `${e.kind ?? '?'}/${e.metadata?.name ?? e.name ?? '?'}`)
    .sort();
}

test('istiod lists what the sink writes and forgets what it prunes', { skip }, async () => {
  const store = new SnapshotStore();
  const ac = new AbortController();
  const sink = new KubernetesSink({
    instance: 'meshbridge',
    client: new KubeClient({ kubeconfig: api!.kubeconfigPath, qps: 100, burst: 200 }),
    store,
    logger: silentLogger(),
    metrics: new Metrics(),
    registries: ['files'],
    namespaces: [NS],
    maxDeletePercent: 100,
    concurrency: 4,
    leaderElection: undefined,
  });
  await sink.start(ac.signal);
  try {
    store.publish([orders, payments, payments1]);
    await eventually(async () => {
      const h = await hostnames();
      return h.length === 2 ? h : undefined;
    }, 30000, 'registryz lists both hosts');
    assert.deepEqual(await hostnames(), ['orders.demo.meshbridge.test', 'payments.demo.meshbridge.test']);
    const names = await eventually(async () => {
      const n = await configNames();
      return n.length === 3 ? n : undefined;
    }, 30000, 'configz holds the three objects');
    assert.deepEqual(names, ['ServiceEntry/orders', 'ServiceEntry/payments', 'WorkloadEntry/payments-1']);
    // Inline endpoints and the WorkloadEntry the selector picks both reach EDS.
    const eds = await eventually(async () => {
      const e = await endpoints();
      return Object.keys(e).length === 2 ? e : undefined;
    }, 30000, 'endpointz has both hosts');
    assert.deepEqual(eds, {
      'orders.demo.meshbridge.test': ['10.10.0.1', '10.10.0.2'],
      'payments.demo.meshbridge.test': ['10.10.1.1'],
    });

    store.publish([payments, payments1]);
    await eventually(async () => {
      const h = await hostnames();
      return h.length === 1 ? h : undefined;
    }, 30000, 'registryz drops the pruned host');
    assert.deepEqual(await hostnames(), ['payments.demo.meshbridge.test']);
  } finally {
    ac.abort();
  }
});

test('etcd, kube-apiserver and istiod bind and dial loopback only', { skip }, () => {
  for (const [name, pid] of [['etcd', etcd!.pid], ['kube-apiserver', api!.pid], ['istiod', istiod!.pid]] as const) {
    const all = peers.peerSockets(pid);
    assert.ok(all.some((s) => s.state === 'LISTEN'), `${name} listens somewhere`);
    assert.deepEqual(peers.nonLoopbackSockets(pid), [], `${name} sockets off loopback`);
  }
});
