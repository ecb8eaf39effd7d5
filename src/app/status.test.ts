import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { ErrorCode, MeshbridgeError } from '../errors/index.js';
import { Metrics, silentLogger } from '../observability/index.js';
import { FakeRegistry, svc } from '../registry/testing/fake-registry.js';
import { HoldReason, type GuardState } from '../core/protect.js';
import type { KubernetesSinkDebug } from '../sinks/kubernetes/sink.js';
import type { XdsDebugState } from '../sinks/xds/index.js';
import { resource, serviceEntry, snapshotOf, workloadEntry } from '../sinks/render/fixtures.js';
import { SnapshotStore } from '../snapshot/index.js';
import { defaultConversionOptions } from '../convert/options.js';
import { ProblemLog } from './context.js';
import { buildStatus, MAX_LISTED, shortType, type StatusSources } from './status.js';
import { hostResolver, listServices, objectsForHost, MAX_LIMIT } from './status-services.js';

function kube(clashes: number): KubernetesSinkDebug {
  return {
    leader: true,
    cachesSynced: true,
    lastReconcile: '2026-01-01T00:00:00.000Z',
    lastSnapshotVersion: 'v1',
    clashes: Array.from({ length: clashes }, (_, i) => ({ host: `h${i}.mesh`, resource: `ServiceEntry/ns/h${i}`, claimedBy: 'ServiceEntry/ns/theirs' })),
    held: [],
    writes: { apply: 3, delete: 1, failed: 0 },
    lastWriteTime: 1000,
    pending: { writes: 2, oldestAgeMs: 1500 },
  };
}

function xds(): XdsDebugState {
  return {
    address: '127.0.0.1:0',
    port: 15010,
    serving: true,
    shuttingDown: false,
    snapshotVersion: 'v1',
    snapshotSequence: 1,
    cache: { entries: 0, encodes: 0, hits: 0, failures: 0 },
    clients: [
      {
        id: 1,
        nodeId: 'istiod-1',
        cluster: undefined,
        userAgent: undefined,
        peer: '127.0.0.1:5555',
        connectedAt: '2026-01-01T00:00:00.000Z',
        types: [
          { typeUrl: 'networking.istio.io/v1/ServiceEntry', sentVersion: 'a', sentNonce: '1', sentAt: undefined, reply: 'acked', ackedVersion: 'a', nacks: 0, lastNack: undefined },
          { typeUrl: 'networking.istio.io/v1/WorkloadEntry', sentVersion: 'b', sentNonce: '2', sentAt: undefined, reply: 'nacked', ackedVersion: undefined, nacks: 2, lastNack: 'bad' },
        ],
      },
    ],
  };
}

function sources(over: Partial<StatusSources> & Pick<StatusSources, 'registries'>): StatusSources {
  return {
    store: new SnapshotStore(),
    pipeline: { guardState: () => [] },
    problems: new ProblemLog(silentLogger(), new Metrics()),
    readiness: () => ({ ready: true, reasons: [] }),
    xds: undefined,
    kubernetes: undefined,
    render: undefined,
    now: () => 42,
    ...over,
  };
}

test('buildStatus: one state word per registry, worst first, with counts, times, error and listing progress', async () => {
  const ok = new FakeRegistry('ok', [svc('ok', 'a', ['10.0.0.1', '10.0.0.2'])]);
  const stale = new FakeRegistry('stale', [svc('stale', 'b', ['10.0.0.3'])]);
  const held = new FakeRegistry('held', [svc('held', 'c', ['10.0.0.4'])]);
  const syncing = new FakeRegistry('syncing');
  const down = new FakeRegistry('down');
  const ac = new AbortController();
  for (const r of [ok, stale, held, syncing, down]) await r.start(ac.signal);
  stale.disconnect();
  down.disconnect();
  const guard: GuardState[] = [
    { registry: 'held', baselineServices: 10, baselineEndpoints: 10, windowPeakServices: 10, windowPeakEndpoints: 10, hold: { since: '2026-01-01T00:00:00.000Z', reasons: [HoldReason.SERVICES], heldServices: 9, heldEndpoints: 9, releaseAt: undefined, backSince: undefined } },
  ];
  const s = buildStatus(sources({ registries: [ok, stale, held, syncing, down], pipeline: { guardState: () => guard } }));
  assert.deepEqual(
    s.registries.map((r) => [r.name, r.state]),
    [
      ['ok', 'ok'],
      ['stale', 'stale'],
      ['held', 'held'],
      ['syncing', 'syncing'],
      ['down', 'unreachable'],
    ],
  );
  const first = s.registries[0]!;
  assert.equal(first.services, 1);
  assert.equal(first.endpoints, 2);
  assert.equal(typeof first.lastChangeTime, 'number');
  assert.equal(first.lastError, undefined);
  assert.equal(s.registries[1]!.lastError?.code, ErrorCode.REGISTRY_UNREACHABLE);
  assert.equal(s.registries[2]!.held?.services, 9);
  assert.equal(s.generatedAt, 42);
  assert.equal(s.snapshot, undefined);
  assert.deepEqual(s.sinks, {});
});

test('buildStatus: a registry that reports listing progress shows it until synced', () => {
  class Listing extends FakeRegistry {
    listed = 0;
    protected override listingProgress(): { listed: number; unit: 'keys' } {
      return { listed: this.listed, unit: 'keys' };
    }
  }
  const r = new Listing('big');
  r.listed = 1200;
  assert.deepEqual(buildStatus(sources({ registries: [r] })).registries[0]?.progress, { listed: 1200, unit: 'keys' });
  r.set([svc('big', 'a', ['10.0.0.1'])]);
  assert.equal(buildStatus(sources({ registries: [r] })).registries[0]?.progress, undefined);
  assert.equal(r.status().progress, undefined);
});

test('buildStatus: sinks (kubernetes clashes cut, xDS ACKs and NACKs per type), problems by code, snapshot counts', () => {
  const problems = new ProblemLog(silentLogger(), new Metrics());
  for (let i = 0; i < 3; i++) problems.report('zk', new MeshbridgeError(ErrorCode.NAME_INVALID, `bad name ${i}`));
  problems.report('nacos', new MeshbridgeError(ErrorCode.NAME_INVALID, 'bad name'));
  problems.report('zk', new MeshbridgeError(ErrorCode.ENTRY_INVALID, 'bad entry'));
  const store = new SnapshotStore();
  store.publish([serviceEntry('ns', 'a'), serviceEntry('ns', 'b'), workloadEntry('ns', 'w')]);
  const s = buildStatus(sources({ registries: [], problems, store, kubernetes: { debugState: () => kube(MAX_LISTED + 5) }, xds: { debugState: xds } }));
  assert.deepEqual(s.snapshot?.resources, { ServiceEntry: 2, WorkloadEntry: 1, Sidecar: 0, Service: 0, EndpointSlice: 0 });
  assert.equal(s.sinks.kubernetes?.clashes, MAX_LISTED + 5);
  assert.equal(s.sinks.kubernetes?.clashList.length, MAX_LISTED);
  assert.equal(s.sinks.kubernetes?.pendingWrites, 2);
  assert.equal(s.sinks.kubernetes?.lastWriteTime, 1000);
  const types = s.sinks.xds?.servers[0]?.clients[0]?.types;
  assert.deepEqual(types?.map((t) => [t.type, t.acked, t.nacks]), [
    ['ServiceEntry', 'a', 0],
    ['WorkloadEntry', undefined, 2],
  ]);
  assert.deepEqual(
    s.problems.map((p) => [p.code, p.count, p.registries, p.last.message]),
    [
      [ErrorCode.NAME_INVALID, 4, ['nacos', 'zk'], 'bad name'],
      [ErrorCode.ENTRY_INVALID, 1, ['zk'], 'bad entry'],
    ],
  );
  assert.equal(shortType('type.googleapis.com/istio.networking.v1alpha3.ServiceEntry'), 'istio.networking.v1alpha3.ServiceEntry');
});

test('listServices: search by host, name or registry; registry filter; paging; bad numbers are 400s', async () => {
  const zk = new FakeRegistry('zk', [svc('zk', 'Orders', ['10.0.0.1']), svc('zk', '<img src=x onerror=alert(1)>', ['10.0.0.2']), svc('zk', 'pay', [])]);
  const file = new FakeRegistry('file', [svc('file', 'orders-v2', ['10.0.1.1', '10.0.1.2'])]);
  const ac = new AbortController();
  await zk.start(ac.signal);
  await file.start(ac.signal);
  const hostOf = hostResolver(new Map([['zk', defaultConversionOptions], ['file', defaultConversionOptions]]), (s) => {
    if (s.name.includes('<')) throw new MeshbridgeError(ErrorCode.NAME_INVALID, 'no');
    return `${s.name.toLowerCase()}.${s.registry}.mesh`;
  });
  const q = (x: string): URLSearchParams => new URLSearchParams(x);
  const all = listServices([zk, file], hostOf, q(''));
  assert.equal(all.total, 4);
  assert.deepEqual(all.services.map((s) => s.host), ['orders-v2.file.mesh', 'orders.zk.mesh', 'pay.zk.mesh', undefined], 'by host, no host last');
  assert.equal(all.services[3]?.name, '<img src=x onerror=alert(1)>', 'the raw name, as data');
  assert.deepEqual(all.services[0]?.ports, ['http:8080/HTTP']);
  assert.equal(all.services[0]?.endpoints, 2);
  assert.deepEqual(listServices([zk, file], hostOf, q('q=ORDERS')).services.map((s) => s.name), ['orders-v2', 'Orders']);
  assert.deepEqual(listServices([zk, file], hostOf, q('q=orders&registry=zk')).services.map((s) => s.name), ['Orders']);
  const page = listServices([zk, file], hostOf, q('limit=2&offset=1'));
  assert.deepEqual([page.matched, page.services.length, page.services[0]?.name], [4, 2, 'Orders']);
  assert.equal(listServices([zk, file], hostOf, q(`limit=${MAX_LIMIT * 10}`)).limit, MAX_LIMIT);
  for (const bad of ['limit=0', 'limit=abc', 'offset=-1']) {
    assert.throws(() => listServices([zk, file], hostOf, q(bad)), (e: unknown) => e instanceof MeshbridgeError && e.code === ErrorCode.ADMIN_BAD_REQUEST, bad);
  }
});

test('hostResolver: memoised per service object, undefined for a registry without conversion options', () => {
  let calls = 0;
  const hostOf = hostResolver(new Map([['zk', defaultConversionOptions]]), (s) => {
    calls++;
    return `${s.name}.mesh`;
  });
  const s = svc('zk', 'a', []);
  assert.equal(hostOf(s), 'a.mesh');
  assert.equal(hostOf(s), 'a.mesh');
  assert.equal(calls, 1);
  assert.equal(hostOf(svc('other', 'a', [])), undefined);
});

test('objectsForHost: the ServiceEntries listing the host and the WorkloadEntries they select, as YAML', () => {
  const sel = { 'meshbridge.io/service-entry': 'pay' };
  const se = resource('ServiceEntry', 'ns', 'pay', { hosts: ['pay.mesh'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], workloadSelector: { labels: sel } });
  const we1 = resource('WorkloadEntry', 'ns', 'pay-1', { address: '10.0.0.1', labels: sel }, sel);
  const weOther = resource('WorkloadEntry', 'other', 'pay-2', { address: '10.0.0.2', labels: sel }, sel);
  const snap = snapshotOf([se, we1, weOther, serviceEntry('ns', 'unrelated')]);
  const o = objectsForHost(snap, new URLSearchParams('host=pay.mesh'));
  assert.deepEqual(o.resources, ['ServiceEntry/ns/pay', 'WorkloadEntry/ns/pay-1']);
  const docs = parseAllDocuments(o.yaml).map((d) => d.toJS() as { kind: string; metadata: { name: string } });
  assert.deepEqual(docs.map((d) => `${d.kind}/${d.metadata.name}`), ['ServiceEntry/pay', 'WorkloadEntry/pay-1']);
  assert.deepEqual(objectsForHost(snap, new URLSearchParams('host=nope.mesh')), { host: 'nope.mesh', published: true, resources: [], truncated: false, yaml: '' });
  assert.equal(objectsForHost(undefined, new URLSearchParams('host=pay.mesh')).published, false);
  assert.throws(() => objectsForHost(snap, new URLSearchParams('')), (e: unknown) => e instanceof MeshbridgeError && e.code === ErrorCode.ADMIN_BAD_REQUEST);
});
