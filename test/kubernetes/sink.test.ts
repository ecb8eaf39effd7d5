import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { requirePeers, type KubeApi } from '../../test-support/peers.js';
import { ensureNamespace, eventually, kube, listIstio, startKubeCluster, type KubeCluster } from '../../test-support/kube.js';
import { KubeClient } from '../../src/sinks/kubernetes/kube-client.js';
import { KubernetesSink, type KubernetesSinkOptions } from '../../src/sinks/kubernetes/sink.js';
import { ObjectCache } from '../../src/sinks/kubernetes/object-cache.js';
import { SnapshotStore, resourceKey, ContentHashAnnotation, type IstioResource } from '../../src/snapshot/index.js';
import { Metrics, silentLogger } from '../../src/observability/index.js';
import { hashOf } from '../../src/util/hash.js';

const NS = 'mb-sink';
const NS_STATUS = 'mb-sink-status';
const NS_BACKLOG = 'mb-sink-backlog';
const NS_DELTA = 'mb-sink-delta';
const skip = await requirePeers('etcd', 'kube-apiserver', 'istio-crds');
let cluster: KubeCluster | undefined;
let api: KubeApi | undefined;

before(async () => {
  if (skip !== undefined) return;
  cluster = await startKubeCluster({ namespaces: [NS, NS_STATUS, NS_BACKLOG, NS_DELTA, 'meshbridge'] });
  api = cluster.api;
});

after(async () => {
  await cluster?.stop();
});

function se(name: string, addresses: string[], registry = 'files', ns = NS): IstioResource {
  const labels = { 'app.kubernetes.io/managed-by': 'meshbridge', 'meshbridge.io/registry': registry };
  const spec = {
    hosts: [`${name}.example.mesh`],
    ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }],
    resolution: 'STATIC',
    location: 'MESH_INTERNAL',
    endpoints: addresses.map((address) => ({ address })),
  };
  const version = hashOf({ name, labels, spec });
  return { kind: 'ServiceEntry', namespace: ns, name, key: resourceKey('ServiceEntry', ns, name), labels, annotations: { [ContentHashAnnotation]: version }, spec, version };
}

function makeSink(
  store: SnapshotStore,
  extra: Partial<KubernetesSinkOptions> = {},
  rate: { qps: number; burst: number } = { qps: 100, burst: 200 },
): { sink: KubernetesSink; client: KubeClient; metrics: Metrics } {
  const client = new KubeClient({ kubeconfig: api!.kubeconfigPath, ...rate });
  const metrics = new Metrics();
  const sink = new KubernetesSink({
    client,
    store,
    logger: silentLogger(),
    metrics,
    instance: 'meshbridge',
    registries: ['files'],
    namespaces: [NS],
    maxDeletePercent: 50,
    concurrency: 4,
    leaderElection: undefined,
    ...extra,
  });
  return { sink, client, metrics };
}

function writes(client: KubeClient): number {
  return (client.counts.get('PATCH') ?? 0) + (client.counts.get('DELETE') ?? 0) + (client.counts.get('PUT') ?? 0) + (client.counts.get('POST') ?? 0);
}

async function settle(sink: KubernetesSink): Promise<void> {
  await eventually(() => (sink.cachesSynced() ? true : undefined), 10000, 'caches synced');
  await new Promise((r) => setTimeout(r, 300));
  await sink.idle();
}

test('applies, updates, prunes; writes only what changed; a restart writes nothing', { skip }, async () => {
  const store = new SnapshotStore();
  const ac = new AbortController();
  const { sink, client } = makeSink(store);
  await sink.start(ac.signal);
  store.publish([se('a', ['10.0.0.1']), se('b', ['10.0.0.2']), se('c', ['10.0.0.3']), se('d', ['10.0.0.4'])]);
  await settle(sink);
  let items = await listIstio(api!, 'serviceentries', NS);
  assert.deepEqual(items.map((i) => i.metadata.name).sort(), ['a', 'b', 'c', 'd']);
  assert.equal(client.counts.get('PATCH'), 4);
  for (const i of items) assert.ok(i.metadata.annotations?.[ContentHashAnnotation]);

  // Change one endpoint: exactly one write.
  store.publish([se('a', ['10.0.0.1']), se('b', ['10.0.0.22']), se('c', ['10.0.0.3']), se('d', ['10.0.0.4'])]);
  await settle(sink);
  assert.equal(client.counts.get('PATCH'), 5);
  items = await listIstio(api!, 'serviceentries', NS);
  assert.deepEqual(items.find((i) => i.metadata.name === 'b')?.spec['endpoints'], [{ address: '10.0.0.22' }]);

  // Delete one: one DELETE.
  store.publish([se('a', ['10.0.0.1']), se('b', ['10.0.0.22']), se('c', ['10.0.0.3'])]);
  await settle(sink);
  assert.equal(client.counts.get('DELETE'), 1);
  items = await listIstio(api!, 'serviceentries', NS);
  assert.deepEqual(items.map((i) => i.metadata.name).sort(), ['a', 'b', 'c']);
  ac.abort();

  // A new process with the same content writes nothing.
  const store2 = new SnapshotStore();
  const ac2 = new AbortController();
  const second = makeSink(store2);
  await second.sink.start(ac2.signal);
  store2.publish([se('a', ['10.0.0.1']), se('b', ['10.0.0.22']), se('c', ['10.0.0.3'])]);
  await settle(second.sink);
  assert.equal(writes(second.client), 0, 'restart must not rewrite unchanged objects');
  ac2.abort();
});

test('never touches unowned objects; a clashing host is skipped and reported', { skip }, async () => {
  const foreign = {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name: 'hand-made', namespace: NS, labels: { team: 'payments' } },
    spec: { hosts: ['clash.example.mesh'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'STATIC', endpoints: [{ address: '10.1.1.1' }] },
  };
  const created = await kube<{ metadata: { resourceVersion: string } }>(api!, 'POST', `/apis/networking.istio.io/v1/namespaces/${NS}/serviceentries`, foreign);
  assert.equal(created.status, 201);
  const store = new SnapshotStore();
  const ac = new AbortController();
  const { sink } = makeSink(store);
  await sink.start(ac.signal);
  store.publish([se('a', ['10.0.0.1']), se('b', ['10.0.0.22']), se('c', ['10.0.0.3']), se('clash', ['10.0.0.9'])]);
  await settle(sink);
  const items = await listIstio(api!, 'serviceentries', NS);
  const hand = items.find((i) => i.metadata.name === 'hand-made');
  assert.equal(hand?.metadata.resourceVersion, created.body.metadata.resourceVersion, 'unowned object untouched');
  assert.equal(items.find((i) => i.metadata.name === 'clash'), undefined, 'clashing host not written');
  assert.deepEqual(sink.debugState().clashes.map((c) => c.claimedBy), [`ServiceEntry/${NS}/hand-made`]);
  // Pruning our objects leaves the foreign one alone.
  store.publish([se('a', ['10.0.0.1']), se('b', ['10.0.0.22'])]);
  await settle(sink);
  const after = await listIstio(api!, 'serviceentries', NS);
  assert.deepEqual(after.map((i) => i.metadata.name).sort(), ['a', 'b', 'hand-made']);
  ac.abort();
});

test('a mass deletion beyond the protect threshold is refused', { skip }, async () => {
  const store = new SnapshotStore();
  const ac = new AbortController();
  const { sink, client } = makeSink(store);
  await sink.start(ac.signal);
  store.publish([]);
  await settle(sink);
  assert.equal(client.counts.get('DELETE') ?? 0, 0);
  assert.deepEqual(sink.debugState().held, [{ registry: 'files', kind: 'ServiceEntry', wouldDelete: 2, owned: 2 }]);
  const items = await listIstio(api!, 'serviceentries', NS);
  assert.deepEqual(items.map((i) => i.metadata.name).sort(), ['a', 'b', 'hand-made']);
  ac.abort();
});

test('leader election: only the leader writes; the standby takes over after the leader stops', { skip }, async () => {
  const election = { namespace: 'meshbridge', name: 'meshbridge-test', leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 };
  const storeA = new SnapshotStore();
  const storeB = new SnapshotStore();
  const acA = new AbortController();
  const acB = new AbortController();
  const a = makeSink(storeA, { leaderElection: { ...election, identity: 'replica-a' } });
  await a.sink.start(acA.signal);
  await eventually(() => (a.sink.isLeader() ? true : undefined), 10000, 'replica a leads');
  const b = makeSink(storeB, { leaderElection: { ...election, identity: 'replica-b' } });
  await b.sink.start(acB.signal);
  const content = [se('a', ['10.0.0.1']), se('b', ['10.0.0.22']), se('e', ['10.0.0.5'])];
  storeA.publish(content);
  storeB.publish(content);
  await settle(a.sink);
  await settle(b.sink);
  assert.equal(b.sink.isLeader(), false);
  assert.equal(b.client.counts.get('PATCH') ?? 0, 0, 'standby never writes');
  assert.equal(a.client.counts.get('PATCH'), 1, 'leader writes only the new object e');

  // Stop the leader (it releases the lease); the standby takes over and writes the next change.
  const stoppedAt = Date.now();
  acA.abort();
  await eventually(() => (b.sink.isLeader() ? true : undefined), 10000, 'replica b leads');
  assert.ok(Date.now() - stoppedAt < election.leaseDurationMs + 1000);
  storeB.publish([se('a', ['10.0.0.1']), se('b', ['10.0.0.22']), se('e', ['10.0.0.55'])]);
  await settle(b.sink);
  assert.equal(b.client.counts.get('PATCH'), 1);
  const items = await listIstio(api!, 'serviceentries', NS);
  assert.deepEqual(items.find((i) => i.metadata.name === 'e')?.spec['endpoints'], [{ address: '10.0.0.55' }]);
  acB.abort();
});

test('status written by istiod (auto-allocated addresses) causes no write back, nor a new plan', { skip }, async () => {
  const store = new SnapshotStore();
  const ac = new AbortController();
  const { sink, client, metrics } = makeSink(store, { namespaces: [NS_STATUS] });
  await sink.start(ac.signal);
  store.publish([se('st-a', ['10.0.3.1'], 'files', NS_STATUS), se('st-b', ['10.0.3.2'], 'files', NS_STATUS)]);
  await settle(sink);
  const before = writes(client);
  assert.equal(before, 2);
  // The watch echoes of our own two writes arrive too; wait for them before counting passes.
  await new Promise((r) => setTimeout(r, 500));
  await sink.idle();
  const reconciles = async (): Promise<number> => (await metrics.kubeReconciles.get()).values.reduce((n, v) => n + v.value, 0);
  const passes = await reconciles();
  // What istiod's IP autoallocate controller writes: the status subresource only.
  for (const [name, value] of [['st-a', '240.240.0.1'], ['st-b', '240.240.0.2']] as const) {
    const res = await kube(
      api!,
      'PATCH',
      `/apis/networking.istio.io/v1/namespaces/${NS_STATUS}/serviceentries/${name}/status`,
      { status: { addresses: [{ host: `${name}.example.mesh`, value }] } },
      'application/merge-patch+json',
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }
  // The watch delivers both status changes; they change nothing a plan reads.
  await eventually(async () => {
    const items = await listIstio(api!, 'serviceentries', NS_STATUS);
    const withStatus = items.filter((i) => ['st-a', 'st-b'].includes(i.metadata.name) && (i as { status?: { addresses?: unknown[] } }).status?.addresses?.length === 1);
    return withStatus.length === 2 ? true : undefined;
  }, 10000, 'status visible');
  await new Promise((r) => setTimeout(r, 500));
  await sink.idle();
  assert.equal(writes(client), before, 'a status-only change must not be written back');
  assert.equal(await reconciles(), passes, 'status writes (and the echoes of our own writes) start no plan: at 10,000 entries each costs ~25 ms');
  // A change someone else makes to what a plan reads still starts one (and is written back).
  const res = await kube(api!, 'PATCH', `/apis/networking.istio.io/v1/namespaces/${NS_STATUS}/serviceentries/st-a`, { spec: { resolution: 'DNS' } }, 'application/merge-patch+json');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  await eventually(async () => ((await reconciles()) > passes && writes(client) > before ? true : undefined), 10000, 'a spec edit by hand is planned and reverted');
  ac.abort();
});

test('after a pass that left nothing to do, a change is planned from the snapshot delta; removals and cluster edits plan in full', { skip }, async () => {
  const store = new SnapshotStore();
  const ac = new AbortController();
  const { sink, client, metrics } = makeSink(store, { namespaces: [NS_DELTA] });
  const passes = async (): Promise<{ full: number; changes: number }> => {
    const v = (await metrics.kubeReconciles.get()).values;
    return { full: v.find((x) => x.labels.plan === 'full')?.value ?? 0, changes: v.find((x) => x.labels.plan === 'changes')?.value ?? 0 };
  };
  const spec = async (name: string): Promise<string> => JSON.stringify((await listIstio(api!, 'serviceentries', NS_DELTA)).find((i) => i.metadata.name === name)?.['spec']);
  await sink.start(ac.signal);
  const all = Array.from({ length: 5 }, (_, i) => se(`d${i}`, [`10.0.5.${i + 1}`], 'files', NS_DELTA));
  store.publish(all);
  await settle(sink);
  await new Promise((r) => setTimeout(r, 300)); // the echoes of the five writes
  await sink.idle();
  const p0 = await passes();
  // One endpoint changes: one pass over that one resource, one write.
  const w0 = writes(client);
  all[2] = se('d2', ['10.0.5.99'], 'files', NS_DELTA);
  store.publish(all);
  await eventually(async () => ((await spec('d2')).includes('10.0.5.99') ? true : undefined), 10000, 'the change written');
  await sink.idle();
  const p1 = await passes();
  assert.equal(p1.changes - p0.changes, 1, 'planned from the delta');
  assert.equal(p1.full, p0.full, 'no full pass');
  assert.equal(writes(client) - w0, 1);
  // A new entry too (an upsert).
  all.push(se('d5', ['10.0.5.6'], 'files', NS_DELTA));
  store.publish(all);
  await eventually(async () => ((await spec('d5')).includes('10.0.5.6') ? true : undefined), 10000, 'the new entry written');
  await sink.idle();
  const p2 = await passes();
  assert.equal(p2.changes - p1.changes, 1);
  assert.equal(p2.full, p1.full);
  // A removal goes through the deletion guard's full pass.
  store.publish(all.filter((r) => r.name !== 'd0'));
  await eventually(async () => ((await listIstio(api!, 'serviceentries', NS_DELTA)).some((i) => i.metadata.name === 'd0') ? undefined : true), 10000, 'd0 deleted');
  await sink.idle();
  const p3 = await passes();
  assert.ok(p3.full > p2.full, 'a removal plans in full');
  // Someone edits an entry by hand: the cluster changed, the next plan is full and reverts it.
  await new Promise((r) => setTimeout(r, 300));
  await sink.idle();
  const p4 = await passes();
  const res = await kube(api!, 'PATCH', `/apis/networking.istio.io/v1/namespaces/${NS_DELTA}/serviceentries/d1`, { spec: { endpoints: [{ address: '10.9.9.9' }] } }, 'application/merge-patch+json');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  await eventually(async () => ((await spec('d1')).includes('10.0.5.2') ? true : undefined), 10000, 'the hand edit reverted');
  await sink.idle();
  const p5 = await passes();
  assert.ok(p5.full > p4.full, 'a cluster edit plans in full');
  assert.equal(p5.changes, p4.changes);
  ac.abort();
});

test('under a write backlog each object is owed one write with its newest content (latest wins)', { skip }, async () => {
  const store = new SnapshotStore();
  const ac = new AbortController();
  // ~10 writes per second: 30 objects take ~3 s, while three versions of all of them arrive.
  const { sink, client, metrics } = makeSink(store, { namespaces: [NS_BACKLOG], concurrency: 2, minPassMs: 200 }, { qps: 10, burst: 1 });
  await sink.start(ac.signal);
  await eventually(() => (sink.cachesSynced() ? true : undefined), 10000, 'caches synced');
  const names = Array.from({ length: 30 }, (_, i) => `bk-${i}`);
  const version = (v: number): IstioResource[] => names.map((n, i) => se(n, [`10.0.${v}.${i + 1}`], 'files', NS_BACKLOG));
  const patchesBefore = client.counts.get('PATCH') ?? 0;
  let peakOwed = 0;
  const sampler = setInterval(() => {
    void metrics.kubePendingWrites.get().then((g) => (peakOwed = Math.max(peakOwed, g.values[0]?.value ?? 0)));
  }, 50);
  store.publish(version(1));
  await new Promise((r) => setTimeout(r, 500));
  store.publish(version(2));
  await new Promise((r) => setTimeout(r, 500));
  store.publish(version(3));
  await eventually(async () => {
    const items = await listIstio(api!, 'serviceentries', NS_BACKLOG);
    const done = items.filter((i) => names.includes(i.metadata.name) && JSON.stringify(i.spec['endpoints']).includes('"10.0.3.'));
    return done.length === names.length ? true : undefined;
  }, 30000, 'every object at its newest version');
  await sink.idle();
  clearInterval(sampler);
  const patches = (client.counts.get('PATCH') ?? 0) - patchesBefore;
  // One pass per snapshot writing every object would take 90 writes; a pass finished before the
  // next plan (the old behaviour) 60. Latest wins: each object once, plus those written before v3.
  assert.ok(patches < 55, `${patches} writes for 30 objects in 3 versions`);
  assert.ok(peakOwed <= names.length, `at most one owed write per object (peak ${peakOwed})`);
  const preempted = (await metrics.kubePassesPreempted.get()).values[0]?.value ?? 0;
  assert.ok(preempted >= 1, 'a newer snapshot pre-empted a pass');
  const items = await listIstio(api!, 'serviceentries', NS_BACKLOG);
  for (const n of names) {
    const item = items.find((i) => i.metadata.name === n);
    assert.deepEqual(item?.spec['endpoints'], [{ address: `10.0.3.${names.indexOf(n) + 1}` }], n);
  }
  ac.abort();
});

test('the object cache lists in pages (continue tokens) and then follows the watch from that list', { skip }, async () => {
  const ns = 'mb-sink-pages';
  await ensureNamespace(api!, ns);
  for (let i = 0; i < 7; i++) {
    const r = se(`pg-${i}`, [`10.0.9.${i + 1}`], 'files', ns);
    const res = await kube(api!, 'POST', `/apis/networking.istio.io/v1/namespaces/${ns}/serviceentries`, { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: r.name, namespace: ns, labels: r.labels }, spec: r.spec });
    assert.equal(res.status, 201);
  }
  const client = new KubeClient({ kubeconfig: api!.kubeconfigPath, qps: 100, burst: 200 });
  await client.init();
  const cache = new ObjectCache({ client, kind: 'ServiceEntry', plural: 'serviceentries', namespaces: [ns], logger: silentLogger(), listPage: 3, onChange: () => undefined });
  const ac = new AbortController();
  cache.start(ac.signal);
  await eventually(() => (cache.hasSynced() ? true : undefined), 10000, 'cache synced');
  assert.deepEqual([...cache.objects().values()].map((o) => o.name).sort(), ['pg-0', 'pg-1', 'pg-2', 'pg-3', 'pg-4', 'pg-5', 'pg-6']);
  assert.ok((client.counts.get('GET') ?? 0) >= 3, 'three pages of at most 3');
  await kube(api!, 'DELETE', `/apis/networking.istio.io/v1/namespaces/${ns}/serviceentries/pg-3`);
  await eventually(() => (cache.objects().size === 6 ? true : undefined), 10000, 'the watch from the list resourceVersion sees the delete');
  ac.abort();
});
