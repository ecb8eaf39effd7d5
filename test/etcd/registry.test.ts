/**
 * The etcd adapter against a real etcd (the version test-support/peers/build-peers.sh builds), on
 * 127.0.0.1 free ports: initial sync, puts and deletes, malformed values, an etcd restart with
 * writes while the watch is down, compaction while disconnected, idle behaviour, TLS and auth.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MeshbridgeError } from '../../src/errors/index.js';
import { adapterCommon, kindSettings } from '../../src/registry/testing/adapter-options.js';
import { EtcdRegistry, type EtcdRegistryOptions } from '../../src/registry/etcd/index.js';
import type { RegistryEvent } from '../../src/registry/types.js';
import { loadPeers, requirePeers } from '../../test-support/peers.js';
import { EtcdPeer } from '../../test-support/etcd.js';
import { CutProxy } from '../../test-support/cut-proxy.js';

const skip = await requirePeers('etcd');

/** Records everything a registry emits and reports. */
class Recorder {
  readonly events: RegistryEvent[] = [];
  readonly problems: MeshbridgeError[] = [];
  codes(): string[] {
    return this.problems.map((p) => `${p.code} ${p.path ?? ''}`);
  }
  changes(): string[] {
    return this.events.flatMap((e) => (e.type === 'upsert' || e.type === 'delete' ? [`${e.type} ${e.service.name}`] : []));
  }
}

const PREFIX = '/mb/services/';
const inst = (address: string, port = 8080, extra: Record<string, unknown> = {}) => ({ address, ports: { http: port }, ...extra });

function setup(t: { after(fn: () => void): void }, peer: EtcdPeer, opts: Partial<EtcdRegistryOptions> = {}) {
  const rec = new Recorder();
  const ac = new AbortController();
  const reg = new EtcdRegistry({
    ...kindSettings('etcd', { endpoints: [peer.endpoint], prefix: PREFIX, requestTimeoutMs: 2000 }),
    ...adapterCommon('etcd1', (p) => rec.problems.push(p)),
    backoff: { initialMs: 100, maxMs: 500 },
    ...opts,
  });
  reg.onEvent((e) => rec.events.push(e));
  t.after(() => ac.abort());
  adaptersOf.get(peer)?.push(ac);
  return { rec, ac, reg };
}

/** The adapters of each peer: stopped before the peer, so etcd's graceful stop need not wait for them. */
const adaptersOf = new WeakMap<EtcdPeer, AbortController[]>();

async function startPeer(t: { after(fn: () => Promise<void>): void }, o: { tls?: boolean } = {}): Promise<EtcdPeer> {
  const peer = await EtcdPeer.start(o);
  adaptersOf.set(peer, []);
  t.after(async () => {
    for (const ac of adaptersOf.get(peer) ?? []) ac.abort();
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline && (await holdsConnection(peer))) await new Promise((r) => setTimeout(r, 20));
    await peer.stop();
  });
  return peer;
}

async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; last: ${String(cond)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Service name -> sorted "instanceId@address:port" list. */
function state(reg: EtcdRegistry): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const s of [...reg.services().values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    out[`${s.namespace !== undefined ? `${s.namespace}/` : ''}${s.name}`] = s.endpoints
      .map((e) => `${e.instanceId ?? ''}@${e.address}:${Object.values(e.ports).join(',')}`)
      .sort();
  }
  return out;
}

const sortKeys = (r: Record<string, string[]>) => Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)));
const same = (reg: EtcdRegistry, want: Record<string, string[]>) => {
  const f = () => JSON.stringify(state(reg)) === JSON.stringify(sortKeys(want));
  f.toString = () => JSON.stringify(state(reg));
  return f;
};

test('etcd: initial sync, then puts and deletes propagate; last instance gone removes the service', { skip }, async (t) => {
  const peer = await startPeer(t);
  await peer.put(`${PREFIX}reviews/r1`, inst('10.0.0.1', 9080, { labels: { version: 'v1' }, weight: 3, locality: 'eu/eu-1', healthy: true }));
  await peer.put(`${PREFIX}reviews/r2`, inst('10.0.0.2', 9080));
  await peer.put(`${PREFIX}ratings/a`, { address: '10.0.1.1', ports: { grpc: { number: 9090, protocol: 'GRPC' } } });
  await peer.put('/mb/other/outside', 'not ours'); // outside the prefix: never read
  const { rec, ac, reg } = setup(t, peer);
  assert.equal(rec.events.length, 0, 'the constructor does no I/O');
  await reg.start(ac.signal);
  assert.equal(reg.hasSynced(), true);
  assert.deepEqual(state(reg), { ratings: ['a@10.0.1.1:9090'], reviews: ['r1@10.0.0.1:9080', 'r2@10.0.0.2:9080'] });
  const reviews = [...reg.services().values()].find((s) => s.name === 'reviews');
  assert.deepEqual(reviews?.ports, [{ number: 9080, name: 'http', protocol: 'HTTP' }]);
  assert.deepEqual(reviews?.endpoints[0], {
    address: '10.0.0.1',
    ports: { http: 9080 },
    labels: { version: 'v1' },
    weight: 3,
    locality: { region: 'eu', zone: 'eu-1' },
    health: 'healthy',
    origin: 'etcd1',
    instanceId: 'r1',
  });
  assert.equal(reviews?.registryKind, 'etcd');
  assert.equal(reg.status().connected, true);
  assert.deepEqual(rec.problems, []);

  const rev = await peer.put(`${PREFIX}reviews/r3`, inst('10.0.0.3', 9081));
  await until(same(reg, { reviews: ['r1@10.0.0.1:9080', 'r2@10.0.0.2:9080', 'r3@10.0.0.3:9081'], ratings: ['a@10.0.1.1:9090'] }), 'put');
  assert.equal(reg.appliedRevision(), rev);
  await peer.put(`${PREFIX}reviews/r2`, inst('10.0.0.22', 9080));
  await until(same(reg, { reviews: ['r1@10.0.0.1:9080', 'r2@10.0.0.22:9080', 'r3@10.0.0.3:9081'], ratings: ['a@10.0.1.1:9090'] }), 'change');
  await peer.del(`${PREFIX}reviews/r1`);
  await until(same(reg, { reviews: ['r2@10.0.0.22:9080', 'r3@10.0.0.3:9081'], ratings: ['a@10.0.1.1:9090'] }), 'delete');
  // Writing the same value again emits nothing (equal service).
  const before = rec.changes().length;
  await peer.put(`${PREFIX}ratings/a`, { address: '10.0.1.1', ports: { grpc: { number: 9090, protocol: 'GRPC' } } });
  await peer.del(`${PREFIX}ratings/a`);
  await until(same(reg, { reviews: ['r2@10.0.0.22:9080', 'r3@10.0.0.3:9081'] }), 'last instance deleted');
  assert.deepEqual(rec.changes().slice(before), ['delete ratings']);
  assert.equal(reg.listingCount(), 1);
  assert.deepEqual(rec.problems, []);
});

test('etcd: malformed values and keys outside the layout are skipped with codes; neighbours sync', { skip }, async (t) => {
  const peer = await startPeer(t);
  await peer.put(`${PREFIX}shop/reviews/good`, inst('10.0.0.1'));
  await peer.put(`${PREFIX}shop/reviews/badjson`, '{"address": "10.0.0.2",');
  await peer.put(`${PREFIX}shop/reviews/badaddr`, inst('10.0.0.256'));
  await peer.put(`${PREFIX}shop/reviews/badport`, inst('10.0.0.3', 70000));
  await peer.put(`${PREFIX}shop/reviews/deep/er`, inst('10.0.0.4'));
  await peer.put(`${PREFIX}toplevel`, inst('10.0.0.5'));
  await peer.put(`${PREFIX}shop/details/d1`, inst('10.0.0.6', 8080, { wieght: 2 }));
  const { rec, ac, reg } = setup(t, peer, { layout: '{namespace}/{service}/{instance}' });
  await reg.start(ac.signal);
  assert.deepEqual(state(reg), { 'shop/reviews': ['good@10.0.0.1:8080'], 'shop/details': ['d1@10.0.0.6:8080'] });
  assert.deepEqual(rec.codes().sort(), [
    `MB_ENTRY_BAD_ADDRESS ${PREFIX}shop/reviews/badaddr: address`,
    `MB_ENTRY_BAD_PORT ${PREFIX}shop/reviews/badport: ports.http`,
    `MB_ENTRY_INVALID ${PREFIX}shop/details/d1: wieght`,
    `MB_ENTRY_INVALID ${PREFIX}shop/reviews/badjson`,
    `MB_ENTRY_INVALID ${PREFIX}shop/reviews/deep/er`,
    `MB_ENTRY_INVALID ${PREFIX}toplevel`,
  ]);
  const n = rec.problems.length;
  // A good value replacing a bad one is picked up; a good one turning bad loses its instance.
  await peer.put(`${PREFIX}shop/reviews/badjson`, inst('10.0.0.2'));
  await peer.put(`${PREFIX}shop/details/d1`, '[]');
  await until(same(reg, { 'shop/reviews': ['badjson@10.0.0.2:8080', 'good@10.0.0.1:8080'] }), 'fixed and broken');
  assert.deepEqual(rec.codes().slice(n), [`MB_ENTRY_INVALID ${PREFIX}shop/details/d1`]);
  assert.equal(reg.status().connected, true);
});

test('etcd: a restart with writes while the watch is down misses nothing and deletes nothing', { skip }, async (t) => {
  const peer = await startPeer(t);
  const proxy = await CutProxy.start(peer.clientPort);
  t.after(() => proxy.close());
  await peer.put(`${PREFIX}a/1`, inst('10.0.0.1'));
  await peer.put(`${PREFIX}a/2`, inst('10.0.0.2'));
  await peer.put(`${PREFIX}b/1`, inst('10.0.1.1'));
  const { rec, ac, reg } = setup(t, peer, { endpoints: [proxy.endpoint] });
  await reg.start(ac.signal);
  const synced = { a: ['1@10.0.0.1:8080', '2@10.0.0.2:8080'], b: ['1@10.0.1.1:8080'] };
  assert.deepEqual(state(reg), synced);

  // The watch is cut off, and etcd restarts (same data dir) while it is.
  proxy.block();
  await until(() => reg.status().stale, 'stale');
  await peer.pause();
  await peer.resume();
  assert.deepEqual(state(reg), synced, 'an outage deletes nothing');
  assert.equal(reg.status().lastError?.code, 'MB_REGISTRY_UNREACHABLE');
  const changesBefore = rec.changes().length;
  // Written while Meshbridge is not watching: add, change, delete, delete a whole service.
  await peer.put(`${PREFIX}a/3`, inst('10.0.0.3'));
  await peer.put(`${PREFIX}a/1`, inst('10.0.0.11'));
  await peer.del(`${PREFIX}a/2`);
  await peer.del(`${PREFIX}b/1`);
  const last = await peer.put(`${PREFIX}c/1`, inst('10.0.2.1'));
  await new Promise((r) => setTimeout(r, 700)); // several reconnect attempts fail meanwhile
  assert.equal(rec.changes().length, changesBefore);
  proxy.unblock();
  const want = { a: ['1@10.0.0.11:8080', '3@10.0.0.3:8080'], c: ['1@10.0.2.1:8080'] };
  await until(same(reg, want), 'converged after the restart');
  await until(() => reg.status().connected, 'connected');
  assert.equal(reg.listingCount(), 1, 'resumed from the revision, not re-listed');
  assert.equal(reg.appliedRevision(), last);
  assert.equal(reg.status().lastError, undefined);
  // The watch replayed the history; changes arriving in one response are applied together (one
  // event per service).
  assert.deepEqual(rec.changes().slice(changesBefore), ['upsert a', 'delete b', 'upsert c']);
  assert.ok(rec.problems.every((p) => p.code === 'MB_REGISTRY_UNREACHABLE'), rec.codes().join('\n'));
  // And it keeps watching.
  await peer.put(`${PREFIX}c/2`, inst('10.0.2.2'));
  await until(same(reg, { ...want, c: ['1@10.0.2.1:8080', '2@10.0.2.2:8080'] }), 'watching after the resume');
});

test('etcd: a compacted resume revision forces a re-list at the current revision', { skip }, async (t) => {
  const peer = await startPeer(t);
  const proxy = await CutProxy.start(peer.clientPort);
  t.after(() => proxy.close());
  await peer.put(`${PREFIX}a/1`, inst('10.0.0.1'));
  await peer.put(`${PREFIX}b/1`, inst('10.0.1.1'));
  const { rec, ac, reg } = setup(t, peer, { endpoints: [proxy.endpoint] });
  await reg.start(ac.signal);
  assert.equal(reg.listingCount(), 1);
  proxy.block();
  await until(() => reg.status().stale, 'stale');
  await peer.put(`${PREFIX}a/2`, inst('10.0.0.2'));
  await peer.del(`${PREFIX}b/1`);
  await peer.put(`${PREFIX}c/1`, '{broken');
  const rev = await peer.put(`${PREFIX}d/1`, inst('10.0.3.1'));
  await peer.compact(rev);
  proxy.unblock();
  await until(same(reg, { a: ['1@10.0.0.1:8080', '2@10.0.0.2:8080'], d: ['1@10.0.3.1:8080'] }), 'converged through a re-list');
  await until(() => reg.status().connected, 'connected');
  assert.equal(reg.listingCount(), 2);
  assert.ok(reg.appliedRevision() >= rev);
  assert.ok(rec.codes().includes(`MB_ENTRY_INVALID ${PREFIX}c/1`));
  assert.ok(rec.changes().includes('delete b'));
  // Watching goes on from the listing's revision.
  await peer.put(`${PREFIX}d/2`, inst('10.0.3.2'));
  await until(same(reg, { a: ['1@10.0.0.1:8080', '2@10.0.0.2:8080'], d: ['1@10.0.3.1:8080', '2@10.0.3.2:8080'] }), 'watching after the re-list');
  assert.equal(reg.listingCount(), 2);
});

test('etcd: idle means no requests: no range, no new watch while nothing changes', { skip }, async (t) => {
  const peer = await startPeer(t);
  await peer.put(`${PREFIX}a/1`, inst('10.0.0.1'));
  const { ac, reg } = setup(t, peer);
  await reg.start(ac.signal);
  await new Promise((r) => setTimeout(r, 300)); // the watch is created
  const ranges = await peer.metric('grpc_server_handled_total', { grpc_method: 'Range' });
  const watches = await peer.metric('grpc_server_started_total', { grpc_method: 'Watch' });
  const unary = await peer.metric('grpc_server_handled_total', { grpc_type: 'unary' });
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(await peer.metric('grpc_server_handled_total', { grpc_method: 'Range' }), ranges, 'no range requests while idle');
  assert.equal(await peer.metric('grpc_server_started_total', { grpc_method: 'Watch' }), watches, 'no new watch streams while idle');
  assert.equal(await peer.metric('grpc_server_handled_total', { grpc_type: 'unary' }), unary, 'no unary calls at all while idle');
  assert.equal(ranges, 1, 'one listing in all');
  assert.equal(watches, 1, 'one watch stream');
  // A change is pushed, not polled: still no range request.
  await peer.put(`${PREFIX}a/2`, inst('10.0.0.2'));
  await until(() => (state(reg)['a'] ?? []).length === 2, 'pushed change');
  const rangesAfter = await peer.metric('grpc_server_handled_total', { grpc_method: 'Range' });
  assert.equal(rangesAfter, ranges, 'changes arrive over the watch');
});

test('etcd: TLS with a client certificate and user/password auth', { skip }, async (t) => {
  const peer = await startPeer(t, { tls: true });
  await peer.enableAuth('s3cret');
  await peer.put(`${PREFIX}secure/1`, inst('10.0.0.1'));
  const tls = { caFile: peer.tls!.caFile, certFile: peer.tls!.clientCertFile, keyFile: peer.tls!.clientKeyFile };
  const { ac, reg } = setup(t, peer, { tls, auth: { username: 'root', password: 's3cret' } });
  await reg.start(ac.signal);
  assert.deepEqual(state(reg), { secure: ['1@10.0.0.1:8080'] });
  await peer.put(`${PREFIX}secure/2`, inst('10.0.0.2'));
  await until(same(reg, { secure: ['1@10.0.0.1:8080', '2@10.0.0.2:8080'] }), 'put over TLS');
  // etcd's simple auth tokens live in memory: after a restart the adapter's token is invalid and
  // must be renewed before the watch is re-opened.
  await peer.pause();
  await until(() => reg.status().stale, 'stale');
  await peer.resume();
  await peer.enableAuthLogin('s3cret');
  await peer.put(`${PREFIX}secure/3`, inst('10.0.0.3'));
  await until(same(reg, { secure: ['1@10.0.0.1:8080', '2@10.0.0.2:8080', '3@10.0.0.3:8080'] }), 'resumed with a renewed token', 15_000);
  assert.equal(reg.listingCount(), 1);

  // A wrong password: not synced, coded, nothing published.
  const bad = setup(t, peer, { tls, auth: { username: 'root', password: 'wrong' } });
  await bad.reg.start(bad.ac.signal);
  assert.equal(bad.reg.hasSynced(), false);
  assert.equal(bad.reg.status().lastError?.code, 'MB_REGISTRY_UNREACHABLE');
  assert.match(bad.reg.status().lastError?.message ?? '', /auth/i);
  // No client certificate: refused by etcd.
  const nocert = setup(t, peer, { tls: { caFile: peer.tls!.caFile }, auth: { username: 'root', password: 's3cret' } });
  await nocert.reg.start(nocert.ac.signal);
  assert.equal(nocert.reg.hasSynced(), false);
  // A missing CA file is a read error, retried.
  const nofile = setup(t, peer, { tls: { caFile: `${peer.dir}/nowhere.crt` } });
  await nofile.reg.start(nofile.ac.signal);
  assert.equal(nofile.reg.status().lastError?.code, 'MB_SOURCE_READ');
});

test('etcd: unreachable at start stays unsynced, syncs once etcd appears', { skip }, async (t) => {
  const peer = await startPeer(t);
  await peer.put(`${PREFIX}late/1`, inst('10.0.0.1'));
  await peer.pause();
  const { rec, ac, reg } = setup(t, peer);
  await reg.start(ac.signal);
  assert.equal(reg.hasSynced(), false);
  assert.equal(reg.status().stale, false);
  assert.equal(rec.codes()[0], 'MB_REGISTRY_UNREACHABLE ');
  await peer.resume();
  await until(() => reg.hasSynced(), 'synced after etcd started');
  assert.deepEqual(state(reg), { late: ['1@10.0.0.1:8080'] });
});

test('etcd: abort closes the connection; nothing is emitted afterwards', { skip }, async (t) => {
  const peer = await startPeer(t);
  await peer.put(`${PREFIX}a/1`, inst('10.0.0.1'));
  const { rec, ac, reg } = setup(t, peer);
  await reg.start(ac.signal);
  ac.abort();
  const n = rec.events.length;
  await peer.put(`${PREFIX}a/2`, inst('10.0.0.2'));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(rec.events.length, n);
  const deadline = Date.now() + 5000;
  while (await holdsConnection(peer)) {
    if (Date.now() > deadline) assert.fail('the connection to etcd stays open after abort');
    await new Promise((r) => setTimeout(r, 50));
  }
  // If a socket or timer were left open, this test file would not exit.
});

/** Whether this process still has an established connection to etcd's client port. */
async function holdsConnection(peer: EtcdPeer): Promise<boolean> {
  const peers = await loadPeers();
  return peers.peerSockets(process.pid).some((s) => s.state === 'ESTABLISHED' && s.remote.endsWith(`:${peer.clientPort}`));
}
