/**
 * Sharded MCP (ADR 0016) against ADS clients posing as istiod, one stream per shard as istiod
 * keeps one per configSources entry: the shards partition the snapshot, every shard answers
 * every type, a service's ServiceEntry and WorkloadEntries share a shard, and an isolated change
 * is pushed by one shard only, with 1/N of the bytes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdsClient, sleep } from '../../test-support/xds/adsc.js';
import { resource, serviceEntry } from '../../test-support/xds/fixtures.js';
import { Metrics, silentLogger } from '../../src/observability/index.js';
import { SnapshotStore, type IstioResource } from '../../src/snapshot/index.js';
import { ShardedXdsServer, shardGaps, shardOf } from '../../src/sinks/xds/index.js';

const SE = 'networking.istio.io/v1/ServiceEntry';
const WE = 'networking.istio.io/v1/WorkloadEntry';
const OTHER = 'networking.istio.io/v1/DestinationRule';

function weFor(ns: string, se: string, i: number): IstioResource {
  return resource('WorkloadEntry', ns, `${se}-ep${i}`, { address: `10.9.0.${i + 1}`, labels: { 'meshbridge.io/service-entry': se } }, { 'app.kubernetes.io/managed-by': 'meshbridge', 'meshbridge.io/service-entry': se });
}

function world(n: number, changed = -1): IstioResource[] {
  const out: IstioResource[] = [];
  for (let i = 0; i < n; i++) {
    out.push(serviceEntry(`ns${i % 7}`, `svc-${i}`, [`10.${(i >> 8) & 255}.${i & 255}.1`, i === changed ? '10.255.255.254' : '10.254.0.1']));
    if (i % 10 === 0) for (let e = 0; e < 3; e++) out.push(weFor(`ns${i % 7}`, `svc-${i}`, e));
  }
  return out;
}

async function metric(m: Metrics, name: string): Promise<number> {
  const text = await m.registry.getSingleMetricAsString(name);
  return text
    .split('\n')
    .filter((l) => !l.startsWith('#') && l.trim() !== '')
    .reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
}

test('shardOf: stable, a WorkloadEntry goes where its ServiceEntry goes, names spread over the shards', () => {
  const counts = new Array<number>(8).fill(0);
  for (let i = 0; i < 8000; i++) {
    const se = serviceEntry('shop', `svc-${i}`, ['10.0.0.1']);
    const s = shardOf(se, 8);
    assert.equal(shardOf(se, 8), s);
    assert.equal(shardOf(weFor('shop', `svc-${i}`, 1), 8), s, 'with its ServiceEntry');
    counts[s] = (counts[s] ?? 0) + 1;
  }
  for (const c of counts) assert.ok(c > 800 && c < 1200, `even spread: ${counts.join(' ')}`);
  assert.equal(shardOf(serviceEntry('a', 'b', []), 1), 0);
});

test('N shards partition the snapshot: every shard answers every type, the union is the whole; an isolated change is pushed by one shard only', async () => {
  const N = 4;
  const store = new SnapshotStore();
  const all = world(400);
  store.publish(all);
  const metrics = new Metrics();
  const server = new ShardedXdsServer({ address: '127.0.0.1:0', store, metrics, logger: silentLogger(), ready: () => true, readyPollMs: 10, shutdownGraceMs: 500, shards: N });
  const abort = new AbortController();
  await server.start(abort.signal);
  const ports = server.ports();
  assert.equal(new Set(ports).size, N, `one port per shard: ${ports.join(',')}`);
  assert.ok(server.canServe());
  const clients = ports.map((port) => new AdsClient({ port }));
  try {
    for (const c of clients) c.subscribe([SE, WE, OTHER]);
    const first = await Promise.all(clients.map(async (c) => ({ se: await c.forType(SE, 0, 10_000), we: await c.forType(WE, 0, 10_000), other: await c.forType(OTHER, 0, 10_000) })));
    const seNames = first.flatMap((f) => f.se.resources.map((r) => r.name));
    assert.equal(seNames.length, 400, 'each ServiceEntry in exactly one shard');
    assert.equal(new Set(seNames).size, 400);
    assert.equal(first.flatMap((f) => f.we.resources).length, 120);
    for (const f of first) {
      assert.equal(f.other.resources.length, 0, 'a type Meshbridge does not publish: an empty answer from every shard');
      assert.ok(f.se.resources.length > 40, `a real share per shard: ${f.se.resources.length}`);
      // WorkloadEntries sit with their ServiceEntry.
      const here = new Set(f.se.resources.map((r) => r.name.split('/').at(-1)));
      for (const w of f.we.resources) assert.ok(here.has(w.name.split('/').at(-1)!.replace(/-ep\d+$/, '')), `${w.name} with its ServiceEntry`);
    }
    await sleep(100); // ACKs reach the server
    const bytesBefore = await metric(metrics, 'meshbridge_xds_push_bytes_total');
    const counts = clients.map((c) => c.responsesFor(SE).length);
    store.publish(world(400, 123));
    const owner = shardOf(serviceEntry('ns4', 'svc-123', []), N);
    await clients[owner]!.forType(SE, counts[owner], 5000);
    await sleep(200);
    clients.forEach((c, i) => assert.equal(c.responsesFor(SE).length, counts[i]! + (i === owner ? 1 : 0), `shard ${i}: pushed only by the owner (${owner})`));
    const pushed = (await metric(metrics, 'meshbridge_xds_push_bytes_total')) - bytesBefore;
    // bytesBefore: every shard's first full answer (the whole state once).
    assert.ok(pushed < bytesBefore / 2, `an isolated change re-sends one shard: ${pushed} of ${bytesBefore} bytes`);
    const debug = server.debugState();
    assert.equal(debug.shards, N);
    assert.equal(debug.servers.reduce((s, x) => s + x.resources, 0), all.length);
  } finally {
    for (const c of clients) c.close();
    abort.abort();
    await server.stopped();
  }
  assert.equal(server.canServe(), false);
});

test('an istiod that lists only some shards is found and reported (MB_XDS_SHARD_MISSING, meshbridge_xds_shard_gaps) on the second check', async () => {
  assert.deepEqual([...shardGaps([['a', 'b'], ['a'], ['a', 'b']])], [['b', [1]]]);
  assert.equal(shardGaps([['a'], ['a']]).size, 0);
  const store = new SnapshotStore();
  store.publish(world(20));
  const metrics = new Metrics();
  const lines: string[] = [];
  const logger = silentLogger();
  logger.error = ((obj: unknown, msg?: string) => void lines.push(`${JSON.stringify(obj)} ${msg ?? ''}`));
  const server = new ShardedXdsServer({ address: '127.0.0.1:0', store, metrics, logger, ready: () => true, readyPollMs: 10, shutdownGraceMs: 500, shards: 3 });
  const abort = new AbortController();
  await server.start(abort.signal);
  const [p0, p1, p2] = server.ports() as [number, number, number];
  const full = [p0, p1, p2].map((port) => new AdsClient({ port, nodeId: 'istiod-full' }));
  const partial = [p0, p2].map((port) => new AdsClient({ port, nodeId: 'istiod-partial' }));
  try {
    for (const c of [...full, ...partial]) {
      c.subscribe([SE]);
      await c.forType(SE, 0, 5000);
    }
    server.checkGaps();
    assert.equal(await metric(metrics, 'meshbridge_xds_shard_gaps'), 0, 'one check is not enough (a reconnect in progress)');
    server.checkGaps();
    assert.equal(await metric(metrics, 'meshbridge_xds_shard_gaps'), 1);
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /MB_XDS_SHARD_MISSING/);
    assert.match(lines[0] ?? '', new RegExp(`istiod-partial streams from 2 of 3 MCP shards.*ports ${p1}`));
    server.checkGaps();
    assert.equal(lines.length, 1, 'reported once');
    partial.push(new AdsClient({ port: p1, nodeId: 'istiod-partial' }));
    partial.at(-1)?.subscribe([SE]);
    await partial.at(-1)?.forType(SE, 0, 5000);
    server.checkGaps();
    assert.equal(await metric(metrics, 'meshbridge_xds_shard_gaps'), 0, 'fixed');
  } finally {
    for (const c of [...full, ...partial]) c.close();
    abort.abort();
    await server.stopped();
  }
});

test('many shards on one start signal: no MaxListenersExceededWarning (a plain-text line that breaks JSON logs)', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.name);
  process.on('warning', onWarning);
  const store = new SnapshotStore();
  store.publish(world(10));
  const server = new ShardedXdsServer({ address: '127.0.0.1:0', store, metrics: new Metrics(), logger: silentLogger(), ready: () => true, shutdownGraceMs: 200, shards: 16 });
  const abort = new AbortController();
  try {
    await server.start(abort.signal);
    assert.equal(server.ports().length, 16);
  } finally {
    abort.abort();
    await server.stopped();
    await sleep(50);
    process.off('warning', onWarning);
  }
  assert.deepEqual(warnings.filter((w) => w === 'MaxListenersExceededWarning'), []);
});
