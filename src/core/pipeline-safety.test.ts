import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PipelineOptions } from './pipeline.js';
import { serviceEntries, testPipeline } from './testing.js';
import type { SnapshotStore } from '../snapshot/index.js';
import { FakeRegistry, svc } from '../registry/testing/fake-registry.js';
import { serviceKey, type Service } from '../model/index.js';

// The issue 10 cases over the real pipeline (registry -> guard -> conversion -> snapshot).

function published(store: SnapshotStore): { services: number; endpoints: number } {
  const ses = serviceEntries(store);
  return { services: ses.length, endpoints: ses.reduce((n, r) => n + ((r.spec['endpoints'] as unknown[] | undefined)?.length ?? 0), 0) };
}

const many = (reg: string, n: number): Service[] => Array.from({ length: n }, (_, i) => svc(reg, `s${i}`, [`10.0.${i >> 8}.${i & 255}`]));

/** A started pipeline over registry `a` holding `n` services (`all`). */
async function started(n: number, overrides: Partial<PipelineOptions> = {}) {
  const all = many('a', n);
  const a = new FakeRegistry('a', all);
  const built = testPipeline([a], overrides);
  const ac = new AbortController();
  await built.p.start(ac.signal);
  return { all, a, ac, ...built };
}

test('case 1: a registry restarting empty never loses the services that have not re-registered yet', async () => {
  const { all, a, p, store, ac } = await started(100);
  a.set([]);
  await p.flushNow();
  assert.equal(published(store).services, 100);
  a.set(all.slice(0, 55));
  await p.flushNow();
  assert.equal(published(store).services, 100, '55 back: the other 45 stay');
  assert.equal(p.debugState().held['a']?.services.length, 45);
  a.set(all);
  await p.flushNow();
  assert.equal(p.debugState().guard[0]?.hold, undefined, 'recovered');
  ac.abort();
});

test('case 2: a slow drain (100 -> 70 -> 49 -> 25) trips the guard', async () => {
  const { all, a, p, store, ac } = await started(100);
  const seen: number[] = [];
  for (const n of [70, 49, 25]) {
    for (const s of all.slice(n)) if (a.services().has(serviceKey(s))) a.drop(serviceKey(s));
    await p.flushNow();
    seen.push(published(store).services);
  }
  assert.deepEqual(seen, [70, 70, 70]);
  ac.abort();
});

test('case 3: every instance gone, services still listed: endpoints stay published', async () => {
  const { all, a, p, store, ac } = await started(100);
  a.set(all.map((s) => ({ ...s, endpoints: [] })));
  await p.flushNow();
  assert.deepEqual(published(store), { services: 100, endpoints: 100 });
  assert.equal(p.debugState().held['a']?.endpoints, 100);
  ac.abort();
});

test('case 4: after a restart the checkpoint is published at once and a partial registry cannot shrink it', async () => {
  const all = many('a', 100);
  const a = new FakeRegistry('a'); // never synced yet
  const { p, store } = testPipeline([a]);
  p.seedFromCheckpoint('a', new Map(all.map((s) => [serviceKey(s), s])));
  const ac = new AbortController();
  await p.start(ac.signal);
  assert.equal(p.ready(), true, 'ready from the checkpoint, before the registry synced');
  assert.equal(published(store).services, 100);
  a.set(all.slice(0, 10)); // the registry syncs, answering 10 of 100
  await p.flushNow();
  assert.equal(published(store).services, 100, 'the 90 missing are held');
  assert.equal(p.debugState().guard[0]?.hold?.heldServices, 90);
  // An operator decides the loss is real.
  assert.equal(p.releaseHold('a'), true);
  await p.flushNow();
  assert.equal(published(store).services, 10);
  assert.equal(p.releaseHold('a'), false);
  ac.abort();
});

test('case 10: a registry that never syncs blocks publishing only until startup.syncTimeoutSeconds', async () => {
  const a = new FakeRegistry('a', many('a', 3));
  const never = new FakeRegistry('never');
  const { p, store, metrics } = testPipeline([a, never], { syncTimeoutMs: 100 });
  const ac = new AbortController();
  await p.start(ac.signal);
  assert.equal(p.ready(), false);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(p.ready(), true);
  assert.equal(published(store).services, 3);
  const errs = await metrics.registryErrors.get();
  assert.ok(errs.values.some((v) => v.labels.registry === 'never' && v.labels.code === 'MB_REGISTRY_SYNC_TIMEOUT'));
  // It syncs later: its services join.
  never.set(many('never', 2).map((s) => ({ ...s, name: `n-${s.name}` })));
  await new Promise((r) => setTimeout(r, 100));
  await p.flushNow();
  assert.equal(published(store).services, 5);
  ac.abort();
});

test('a hold back to its numbers but not complete settles after protectSettleSeconds, without any registry event', async () => {
  const { all, a, p, store, metrics, ac } = await started(10, { protect: new Map([['a', { settleMs: 150 }]]) });
  a.set([]);
  await p.flushNow();
  // Back with the same numbers, one service replaced by a new one: the old one stays for now.
  a.set([...all.slice(0, 9), svc('a', 'renamed', ['10.1.0.1'])]);
  await p.flushNow();
  assert.equal(published(store).services, 11, 'the newcomer is added, s9 is still held');
  await new Promise((r) => setTimeout(r, 350));
  assert.equal(published(store).services, 10, 'settled: s9 is removed');
  const rel = await metrics.protectReleases.get();
  assert.equal(rel.values.find((v) => v.labels.cause === 'settled')?.value, 1);
  ac.abort();
});

test('a hold with protectHoldMaxSeconds is released by time, without any registry event', async () => {
  const { a, p, store, metrics, ac } = await started(10, { protect: new Map([['a', { holdMaxMs: 150 }]]) });
  a.set([]);
  await p.flushNow();
  assert.equal(published(store).services, 10);
  await new Promise((r) => setTimeout(r, 350));
  assert.equal(published(store).services, 0, 'released by time');
  const rel = await metrics.protectReleases.get();
  assert.equal(rel.values.find((v) => v.labels.cause === 'time')?.value, 1);
  ac.abort();
});
