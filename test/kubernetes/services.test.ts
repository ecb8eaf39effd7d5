/**
 * The Kubernetes Services sink (issue 14, ADR 0020) against a real kube-apiserver: registry
 * services converted with `publish.kubernetesServices` become a selector-less Service and
 * EndpointSlices of the right shape; an unchanged snapshot writes nothing (resourceVersions
 * stay); an endpoint change rewrites only its slice; a removed service takes its Service and
 * slices with it; a Service of the same name Meshbridge does not own is never touched, its
 * slices are not written either, and the clash is reported.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { requirePeers, type KubeApi } from '../../test-support/peers.js';
import { eventually, kube, startKubeCluster, type KubeCluster } from '../../test-support/kube.js';
import { KubeClient } from '../../src/sinks/kubernetes/kube-client.js';
import { KubernetesSink } from '../../src/sinks/kubernetes/sink.js';
import { SnapshotStore, type IstioResource } from '../../src/snapshot/index.js';
import { Metrics, createLogger, silentLogger } from '../../src/observability/index.js';
import { convert, type ConversionOptions } from '../../src/convert/index.js';
import { Health, type Endpoint, type Service } from '../../src/model/index.js';
import { baseOptions, ep, inputOf, port, service } from '../../src/convert/testing/fixtures.js';

const NS = 'mb-services';
const skip = await requirePeers('etcd', 'kube-apiserver', 'istio-crds');
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

const options: ConversionOptions = { ...baseOptions, namespace: NS, publish: { serviceEntries: true, kubernetesServices: true } };

interface Listed {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion: string };
  spec?: Record<string, unknown>;
  addressType?: string;
  endpoints?: Array<{ addresses: string[]; conditions?: Record<string, boolean>; zone?: string }>;
  ports?: Array<{ name: string; port: number; appProtocol?: string }>;
}

async function list(path: string): Promise<Listed[]> {
  const r = await kube<{ items: Listed[] }>(api!, 'GET', path);
  assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
  return r.body.items.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
}
const services = (): Promise<Listed[]> => list(`/api/v1/namespaces/${NS}/services`);
const slices = (): Promise<Listed[]> => list(`/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`);

function resources(svcs: readonly Service[]): IstioResource[] {
  return svcs.flatMap((s) => convert(inputOf(s, `${s.name.toLowerCase()}.demo.local`), options).resources);
}

function shop(endpoints: readonly Endpoint[]): Service {
  return service('Shop.Cart', [port(8080, 'api', 'HTTP'), port(9090, 'rpc', 'GRPC')], endpoints);
}

function makeSink(store: SnapshotStore): { sink: KubernetesSink; client: KubeClient } {
  const client = new KubeClient({ kubeconfig: api!.kubeconfigPath, qps: 100, burst: 200 });
  const sink = new KubernetesSink({
    client,
    store,
    logger: process.env['MB_TEST_LOG'] === '1' ? createLogger({ level: 'warn' }) : silentLogger(),
    metrics: new Metrics(),
    instance: 'meshbridge',
    registries: ['demo'],
    namespaces: [NS],
    maxDeletePercent: 100,
    concurrency: 4,
    leaderElection: undefined,
    kubernetesServices: true,
  });
  return { sink, client };
}

function writes(client: KubeClient): number {
  return (client.counts.get('PATCH') ?? 0) + (client.counts.get('DELETE') ?? 0) + (client.counts.get('PUT') ?? 0) + (client.counts.get('POST') ?? 0);
}

async function settle(sink: KubernetesSink): Promise<void> {
  await eventually(() => (sink.cachesSynced() ? true : undefined), 10000, 'caches synced');
  await new Promise((r) => setTimeout(r, 300));
  await sink.idle();
}

const eps = [
  ep('10.1.0.1', { locality: { region: 'eu', zone: 'eu-1a' } }),
  ep('10.1.0.2'),
  ep('10.1.0.3', { health: Health.UNHEALTHY }),
  ep('fd00::1'),
];

test('Service and EndpointSlices are created with the shape istiod reads; a no-op writes nothing; a change rewrites one slice; removal deletes them', { skip }, async () => {
  const store = new SnapshotStore();
  const ac = new AbortController();
  const { sink, client } = makeSink(store);
  await sink.start(ac.signal);
  store.publish(resources([shop(eps)]));
  await settle(sink);

  const svc = (await services()).find((s) => s.metadata.name === 'shop-cart');
  assert.ok(svc, 'Service shop-cart created');
  assert.equal(svc.metadata.labels?.['app.kubernetes.io/managed-by'], 'meshbridge');
  assert.equal(svc.metadata.labels?.['meshbridge.io/instance'], 'meshbridge');
  assert.equal(svc.spec?.['selector'], undefined, 'selector-less');
  assert.equal(svc.spec?.['type'], 'ClusterIP');
  assert.match(String(svc.spec?.['clusterIP']), /^\d+\.\d+\.\d+\.\d+$/, 'the API server allocated a cluster IP');
  assert.deepEqual(
    (svc.spec?.['ports'] as Array<Record<string, unknown>>).map((p) => [p['name'], p['port'], p['protocol'], p['appProtocol'], p['targetPort']]),
    [
      ['http-api', 8080, 'TCP', 'http', 8080],
      ['grpc-rpc', 9090, 'TCP', 'grpc', 9090],
    ],
  );
  const sl = await slices();
  assert.deepEqual(sl.map((s) => [s.metadata.name, s.addressType]), [
    ['shop-cart-ipv4-0', 'IPv4'],
    ['shop-cart-ipv6-0', 'IPv6'],
  ]);
  for (const s of sl) {
    assert.equal(s.metadata.labels?.['kubernetes.io/service-name'], 'shop-cart');
    assert.equal(s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'], 'controller.meshbridge.io');
    assert.deepEqual(s.ports?.map((p) => [p.name, p.port, p.appProtocol]), [
      ['http-api', 8080, 'http'],
      ['grpc-rpc', 9090, 'grpc'],
    ]);
  }
  const v4 = sl[0]?.endpoints ?? [];
  assert.deepEqual(v4.map((e) => e.addresses[0]), ['10.1.0.1', '10.1.0.2'], 'the unhealthy endpoint is left out');
  assert.equal(v4[0]?.zone, 'eu-1a');
  assert.deepEqual(v4[0]?.conditions, { ready: true, serving: true, terminating: false });
  assert.deepEqual(sl[1]?.endpoints?.map((e) => e.addresses[0]), ['fd00::1']);

  // The same content again, and a second process with it: nothing is written, nothing moves.
  const versions = async (): Promise<string[]> => [...(await services()), ...(await slices())].map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`);
  const before = await versions();
  const w0 = writes(client);
  store.publish(resources([shop([...eps].reverse())]));
  await settle(sink);
  assert.equal(writes(client), w0, 'an equal snapshot writes nothing');
  const store2 = new SnapshotStore();
  const ac2 = new AbortController();
  const second = makeSink(store2);
  await second.sink.start(ac2.signal);
  store2.publish(resources([shop(eps)]));
  await settle(second.sink);
  assert.equal(writes(second.client), 0, 'a restart with unchanged content writes nothing');
  ac2.abort();
  assert.deepEqual(await versions(), before, 'resourceVersions unchanged');

  // One endpoint changes: the IPv4 slice is written (and the ServiceEntry), nothing else.
  const w1 = writes(client);
  store.publish(resources([shop([...eps.slice(0, 1), ep('10.1.0.9'), ...eps.slice(2)])]));
  await settle(sink);
  assert.equal(writes(client) - w1, 2, 'the ServiceEntry and one slice patched');
  const after = await versions();
  const at = (list: string[], name: string): string | undefined => list.find((v) => v.startsWith(`${name}@`));
  assert.equal(at(after, 'shop-cart'), at(before, 'shop-cart'), 'Service untouched');
  assert.equal(at(after, 'shop-cart-ipv6-0'), at(before, 'shop-cart-ipv6-0'), 'IPv6 slice untouched');
  assert.notEqual(at(after, 'shop-cart-ipv4-0'), at(before, 'shop-cart-ipv4-0'));
  assert.deepEqual((await slices())[0]?.endpoints?.map((e) => e.addresses[0]), ['10.1.0.1', '10.1.0.9']);

  // The service leaves the registry: its Service and slices go (and its ServiceEntry).
  store.publish([]);
  await settle(sink);
  assert.deepEqual((await services()).map((s) => s.metadata.name), []);
  assert.deepEqual((await slices()).map((s) => s.metadata.name), []);
  ac.abort();
});

test('a Service of the same name that Meshbridge does not own is never touched; our slices are not written; the clash is reported', { skip }, async () => {
  const foreign = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'billing', namespace: NS, labels: { team: 'payments' } },
    spec: { ports: [{ name: 'http', port: 80 }], selector: { app: 'billing' } },
  };
  const created = await kube<{ metadata: { resourceVersion: string } }>(api!, 'POST', `/api/v1/namespaces/${NS}/services`, foreign);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const store = new SnapshotStore();
  const ac = new AbortController();
  const { sink } = makeSink(store);
  await sink.start(ac.signal);
  store.publish(resources([service('billing', [port(8080, 'http', 'HTTP')], [ep('10.2.0.1')]), service('orders', [port(8080, 'http', 'HTTP')], [ep('10.2.0.2')])]));
  await settle(sink);
  const svcs = await services();
  assert.equal(svcs.find((s) => s.metadata.name === 'billing')?.metadata.resourceVersion, created.body.metadata.resourceVersion, 'foreign Service untouched');
  assert.ok(svcs.find((s) => s.metadata.name === 'orders'), 'the other service is written');
  assert.deepEqual((await slices()).map((s) => s.metadata.name), ['orders-ipv4-0'], 'no slices for the foreign Service');
  assert.deepEqual(
    sink.debugState().clashes.map((c) => [c.resource, c.claimedBy]),
    [[`Service/${NS}/billing`, `Service/${NS}/billing`]],
  );
  // Pruning ours leaves it alone.
  store.publish([]);
  await settle(sink);
  assert.deepEqual((await services()).map((s) => s.metadata.name), ['billing']);
  ac.abort();
});
