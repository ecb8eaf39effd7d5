/**
 * Form switches without a gap (issue 10 case 8) against a real kube-apiserver with Istio's CRDs:
 * registry -> Pipeline (real convert, hysteresis) -> KubernetesSink. The inline limit is lowered to
 * 40 through ConversionOptions.maxInlineEndpoints (production keeps the CRD's 4,096) so a service
 * grows "past the limit" with 42 endpoints. Every ServiceEntry/WorkloadEntry change in the
 * namespace is recorded through watches and replayed in etcd revision order: the ServiceEntry
 * must never be selector-only while fewer WorkloadEntries exist than it needs.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { requirePeers, type KubeApi } from '../../test-support/peers.js';
import { eventually, kube, listIstio, startKubeCluster, type KubeCluster } from '../../test-support/kube.js';
import { KubeClient, type RequestArgs, type WatchEvent } from '../../src/sinks/kubernetes/kube-client.js';
import { KubernetesSink } from '../../src/sinks/kubernetes/sink.js';
import { SnapshotStore } from '../../src/snapshot/index.js';
import { Metrics, silentLogger } from '../../src/observability/index.js';
import { Pipeline } from '../../src/core/pipeline.js';
import { convert, hostFor, defaultConversionOptions } from '../../src/convert/index.js';
import { FakeRegistry, svc } from '../../src/registry/testing/fake-registry.js';

const NS = 'form-switch';
const NS_FAIL = 'form-switch-fail';
const LIMIT = 40;
const skip = await requirePeers('etcd', 'kube-apiserver', 'istio-crds');
let cluster: KubeCluster | undefined;
let api: KubeApi | undefined;

before(async () => {
  if (skip !== undefined) return;
  cluster = await startKubeCluster({ namespaces: [NS, NS_FAIL] });
  api = cluster.api;
});

after(async () => {
  await cluster?.stop();
});

interface Seen {
  readonly type: WatchEvent['type'];
  readonly kind: 'ServiceEntry' | 'WorkloadEntry';
  readonly name: string;
  readonly rv: bigint;
  /** ServiceEntry: selector-only (WorkloadEntry form). */
  readonly selector: boolean;
  readonly inlineEndpoints: number;
}

/**
 * Records every change of both kinds in NS from now on: each kind is listed for its own
 * resourceVersion, then watched from it; a watch that ends early (a busy API server answers
 * "too large resource version" while its watch cache catches up) is re-opened from the last
 * revision seen, so no event is missed.
 */
async function record(client: KubeClient, signal: AbortSignal): Promise<Seen[]> {
  const seen: Seen[] = [];
  for (const [kind, plural] of [['ServiceEntry', 'serviceentries'], ['WorkloadEntry', 'workloadentries']] as const) {
    const path = `/apis/networking.istio.io/v1/namespaces/${NS}/${plural}`;
    let rv = (await client.request<{ metadata: { resourceVersion: string } }>({ method: 'GET', path })).metadata.resourceVersion;
    void (async () => {
      while (!signal.aborted) {
        await client
          .watch(path, { resourceVersion: rv, timeoutSeconds: 600 }, (e) => {
            if (e.type === 'BOOKMARK' || e.type === 'ERROR') return;
            const o = e.object as { metadata: { name: string; resourceVersion: string }; spec: { workloadSelector?: unknown; endpoints?: unknown[] } };
            rv = o.metadata.resourceVersion;
            seen.push({ type: e.type, kind, name: o.metadata.name, rv: BigInt(o.metadata.resourceVersion), selector: o.spec.workloadSelector !== undefined, inlineEndpoints: o.spec.endpoints?.length ?? 0 });
          }, signal)
          .catch(() => undefined);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
  }
  return seen;
}

/** Replays `events` in revision order from an empty namespace; calls `check` after each. */
function replay(events: readonly Seen[], check: (state: { se: Seen | undefined; wes: number; event: Seen }) => void): void {
  let se: Seen | undefined;
  const wes = new Set<string>();
  for (const e of [...events].sort((a, b) => (a.rv < b.rv ? -1 : a.rv > b.rv ? 1 : 0))) {
    if (e.kind === 'ServiceEntry') se = e.type === 'DELETED' ? undefined : e;
    else if (e.type === 'DELETED') wes.delete(e.name);
    else wes.add(e.name);
    check({ se, wes: wes.size, event: e });
  }
}

function addresses(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `10.7.${i >> 8}.${(i & 255) + 1}`);
}

test('a service growing past the inline limit and back: WorkloadEntries before the selector, endpoints inline before the WorkloadEntries go; no flapping around the limit', { skip }, async () => {
  const ac = new AbortController();
  const watcher = new KubeClient({ kubeconfig: api!.kubeconfigPath, qps: 100, burst: 100 });
  await watcher.init();
  const events = await record(watcher, ac.signal);

  const reg = new FakeRegistry('reg', [svc('reg', 'big', addresses(LIMIT))]);
  const store = new SnapshotStore();
  const metrics = new Metrics();
  const options = { ...defaultConversionOptions, namespace: NS, hostTemplate: '{name}.mesh', maxInlineEndpoints: LIMIT };
  const pipeline = new Pipeline({
    registries: [reg],
    conversion: new Map([['reg', options]]),
    protectPercent: new Map([['reg', 100]]),
    conflictPolicy: 'merge',
    debounce: { quietPeriodMs: 1, maxDelayMs: 5 },
    store,
    metrics,
    logger: silentLogger(),
    hostFor,
    convert,
  });
  // Low qps and small concurrency: the WorkloadEntries take many seconds to trickle in, so a
  // ServiceEntry written too early would be seen selector-only with few of them.
  const client = new KubeClient({ kubeconfig: api!.kubeconfigPath, qps: 15, burst: 5 });
  const sink = new KubernetesSink({ client, store, logger: silentLogger(), metrics, instance: 'prod', registries: ['reg'], namespaces: [NS], maxDeletePercent: 50, concurrency: 2, leaderElection: undefined });
  await sink.start(ac.signal);
  await pipeline.start(ac.signal);
  /** Marks: the store's revision at the end of each step (a list's collection resourceVersion). */
  const marks: bigint[] = [];
  const revision = async (): Promise<bigint> =>
    BigInt((await watcher.request<{ metadata: { resourceVersion: string } }>({ method: 'GET', path: `/apis/networking.istio.io/v1/namespaces/${NS}/workloadentries` })).metadata.resourceVersion);
  const step = async (n: number): Promise<void> => {
    reg.put(svc('reg', 'big', addresses(n)));
    await pipeline.flushNow();
    await eventually(() => (sink.cachesSynced() ? true : undefined), 10000, 'caches synced');
    await new Promise((r) => setTimeout(r, 300));
    await sink.idle();
    marks.push(await revision());
  };

  await step(LIMIT); // inline, 40 endpoints
  let se = (await listIstio(api!, 'serviceentries', NS))[0];
  assert.equal((se?.spec['endpoints'] as unknown[]).length, LIMIT);

  // A foreign object holds the name of one of the WorkloadEntries-to-be: the switch must wait.
  const pending = convert({ host: 'big.mesh', primary: svc('reg', 'big', addresses(LIMIT + 2)), ports: svc('reg', 'big', []).ports, endpoints: svc('reg', 'big', addresses(LIMIT + 2)).endpoints, origins: ['reg'] }, options).resources;
  const blocked = pending.find((r) => r.kind === 'WorkloadEntry');
  assert.ok(blocked !== undefined);
  const foreign = await kube(api!, 'POST', `/apis/networking.istio.io/v1/namespaces/${NS}/workloadentries`, { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry', metadata: { name: blocked.name, namespace: NS, labels: { team: 'x' } }, spec: { address: '192.0.2.1' } });
  assert.equal(foreign.status, 201);
  await new Promise((r) => setTimeout(r, 1000)); // the sink's watch sees it before the next snapshot
  await step(LIMIT + 2);
  se = (await listIstio(api!, 'serviceentries', NS))[0];
  assert.equal(se?.spec['workloadSelector'], undefined, 'one WorkloadEntry cannot be written: the ServiceEntry keeps its inline form');
  assert.equal((se?.spec['endpoints'] as unknown[]).length, LIMIT, 'with its old endpoints');
  assert.equal((await listIstio(api!, 'workloadentries', NS)).length, LIMIT + 2, 'the other 41 WorkloadEntries (+ the foreign one) are written');

  // The name is free again: the last WorkloadEntry is written, then the ServiceEntry switches.
  assert.equal((await kube(api!, 'DELETE', `/apis/networking.istio.io/v1/namespaces/${NS}/workloadentries/${blocked.name}`)).status, 200);
  await eventually(async () => {
    await sink.idle();
    const s = (await listIstio(api!, 'serviceentries', NS))[0];
    return s?.spec['workloadSelector'] !== undefined ? s : undefined;
  }, 20000, 'ServiceEntry in WorkloadEntry form');
  await sink.idle();
  marks[marks.length - 1] = await revision();
  assert.equal((await listIstio(api!, 'workloadentries', NS)).length, LIMIT + 2);

  // Hovering at the limit: 40 endpoints keep the WorkloadEntry form (hysteresis), no ServiceEntry write.
  const seRvBefore = (await listIstio(api!, 'serviceentries', NS))[0]?.metadata.resourceVersion;
  await step(LIMIT);
  assert.equal((await listIstio(api!, 'serviceentries', NS))[0]?.metadata.resourceVersion, seRvBefore, 'no form flap at the limit');
  assert.equal((await listIstio(api!, 'workloadentries', NS)).length, LIMIT);

  // Down to 30 (<= 90% of the limit): inline again; its WorkloadEntries (100% of the registry's)
  // are deleted after it, not held by the guard.
  await step(30);
  se = (await listIstio(api!, 'serviceentries', NS))[0];
  assert.equal((se?.spec['endpoints'] as unknown[]).length, 30);
  await eventually(async () => ((await listIstio(api!, 'workloadentries', NS)).length === 0 ? true : undefined), 15000, 'WorkloadEntries pruned');
  assert.deepEqual(sink.debugState().held, []);
  // Let the watches deliver the last events: every WorkloadEntry written and deleted is seen.
  await eventually(() => (events.filter((e) => e.kind === 'WorkloadEntry' && e.type === 'DELETED').length >= LIMIT ? true : undefined), 15000, 'the WorkloadEntry deletions recorded');

  // The recorded history, in revision order.
  let switched = false;
  let weDeletesWhileSelector = 0;
  replay(events, ({ se: s, wes, event }) => {
    if (s?.selector === true && event.kind === 'ServiceEntry' && !switched) {
      switched = true;
      assert.equal(wes, LIMIT + 2, `the ServiceEntry went selector-only with ${wes} of ${LIMIT + 2} WorkloadEntries`);
    }
    if (s !== undefined && s.selector) {
      // Never fewer WorkloadEntries than the smaller endpoint count of the step in progress.
      assert.ok(wes >= LIMIT, `selector-only ServiceEntry with ${wes} WorkloadEntries at revision ${event.rv}`);
      if (event.kind === 'WorkloadEntry' && event.type === 'DELETED' && event.rv > (marks[marks.length - 2] ?? 0n)) weDeletesWhileSelector++;
    }
    if (s === undefined) assert.ok(event.kind !== 'ServiceEntry' || event.type !== 'DELETED', 'the ServiceEntry is never deleted');
  });
  assert.ok(switched, 'the switch was recorded');
  assert.equal(weDeletesWhileSelector, 0, 'on the way back no WorkloadEntry went while the ServiceEntry still selected them');
  const seEvents = events.filter((e) => e.kind === 'ServiceEntry');
  assert.deepEqual(seEvents.map((e) => [e.type, e.selector]), [['ADDED', false], ['MODIFIED', true], ['MODIFIED', false]], 'three ServiceEntry writes: create, switch, switch back');
  ac.abort();
});

/** A KubeClient whose server-side applies of names in `failing` are refused (a fault injector). */
class FailingApplies extends KubeClient {
  readonly failing = new Set<string>();
  refused = 0;
  override async request<T = unknown>(args: RequestArgs): Promise<T> {
    if (args.method === 'PATCH' && [...this.failing].some((n) => args.path.endsWith(`/${n}`))) {
      this.refused++;
      throw new Error('injected: apply refused');
    }
    return super.request<T>(args);
  }
}

test('a WorkloadEntry write that fails keeps the ServiceEntry inline for that pass; the switch follows once it succeeds', { skip }, async () => {
  const ac = new AbortController();
  const options = { ...defaultConversionOptions, namespace: NS_FAIL, hostTemplate: '{name}.mesh', maxInlineEndpoints: LIMIT };
  const reg = new FakeRegistry('reg', [svc('reg', 'big', addresses(LIMIT))]);
  const store = new SnapshotStore();
  const metrics = new Metrics();
  const pipeline = new Pipeline({
    registries: [reg], conversion: new Map([['reg', options]]), protectPercent: new Map([['reg', 100]]), conflictPolicy: 'merge',
    debounce: { quietPeriodMs: 1, maxDelayMs: 5 }, store, metrics, logger: silentLogger(), hostFor, convert,
  });
  const client = new FailingApplies({ kubeconfig: api!.kubeconfigPath, qps: 100, burst: 100 });
  const sink = new KubernetesSink({ client, store, logger: silentLogger(), metrics, instance: 'prod', registries: ['reg'], namespaces: [NS_FAIL], maxDeletePercent: 50, concurrency: 4, leaderElection: undefined });
  await sink.start(ac.signal);
  await pipeline.start(ac.signal);
  await eventually(() => (sink.cachesSynced() ? true : undefined), 10000, 'caches synced');
  await sink.idle();
  assert.equal((await listIstio(api!, 'serviceentries', NS_FAIL)).length, 1);

  const grown = svc('reg', 'big', addresses(LIMIT + 2));
  const wes = convert({ host: 'big.mesh', primary: grown, ports: grown.ports, endpoints: grown.endpoints, origins: ['reg'] }, options).resources.filter((r) => r.kind === 'WorkloadEntry');
  client.failing.add(wes[7]!.name);
  reg.put(grown);
  await pipeline.flushNow();
  await new Promise((r) => setTimeout(r, 300));
  await sink.idle();
  assert.ok(client.refused > 0, 'the fault was hit');
  let se = (await listIstio(api!, 'serviceentries', NS_FAIL))[0];
  assert.equal(se?.spec['workloadSelector'], undefined, 'still inline');
  assert.equal((se?.spec['endpoints'] as unknown[]).length, LIMIT, 'with its old endpoints');
  assert.equal((await listIstio(api!, 'workloadentries', NS_FAIL)).length, LIMIT + 1, 'the other WorkloadEntries are in');

  client.failing.clear(); // the sink retries by itself after a failed write
  se = await eventually(async () => {
    const s = (await listIstio(api!, 'serviceentries', NS_FAIL))[0];
    return s?.spec['workloadSelector'] !== undefined ? s : undefined;
  }, 20000, 'ServiceEntry in WorkloadEntry form after the retry');
  assert.equal((await listIstio(api!, 'workloadentries', NS_FAIL)).length, LIMIT + 2);
  ac.abort();
});
