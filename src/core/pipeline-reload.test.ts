import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConversionOptions, type ConversionOptions } from '../convert/options.js';
import { FakeRegistry, svc } from '../registry/testing/fake-registry.js';
import type { Registry } from '../registry/types.js';
import type { Service } from '../model/index.js';
import type { ProtectSettings } from './protect.js';
import type { PipelineReconfig } from './pipeline.js';
import { serviceEntries, testPipeline } from './testing.js';
import type { SnapshotStore } from '../snapshot/index.js';

// Pipeline.reconfigure: what a config reload does to the published snapshot (ADR 0017).

const many = (reg: string, n: number): Service[] => Array.from({ length: n }, (_, i) => svc(reg, `${reg}${i}`, [`10.${reg.charCodeAt(0)}.0.${i}`]));

/** name -> version of the published ServiceEntries. */
function versions(store: SnapshotStore): Map<string, string> {
  return new Map(serviceEntries(store).map((r) => [r.name, r.version]));
}

/** The reconfig for `registries` with default options; `protect` per registry name. */
function reconfig(registries: readonly Registry[], protect: Record<string, Partial<ProtectSettings>> = {}, conversion: Record<string, ConversionOptions> = {}): PipelineReconfig {
  return {
    registries,
    conversion: new Map(registries.map((r) => [r.name, conversion[r.name] ?? defaultConversionOptions])),
    protectPercent: new Map(),
    protect: new Map(Object.entries(protect)),
    conflictPolicy: 'merge',
  };
}

async function started(registries: FakeRegistry[], protect: Record<string, Partial<ProtectSettings>> = {}) {
  const built = testPipeline(registries, { hostFor: (s, o) => `${s.name}.${o.namespace}.mesh`, protect: new Map(Object.entries(protect)) });
  const ac = new AbortController();
  await built.p.start(ac.signal);
  await built.p.flushNow();
  return { ac, ...built };
}

test('an added registry is published once it syncs, and nothing published before changes version', async () => {
  const a = new FakeRegistry('a', many('a', 3));
  const { p, store, ac } = await started([a]);
  const before = versions(store);
  const b = new FakeRegistry('b'); // unsynced until set()
  await p.reconfigure(reconfig([a, b]));
  await p.flushNow();
  assert.deepEqual(versions(store), before, 'b has not synced: nothing of it, nothing else changed');
  assert.equal(b.starts, 1, 'the new registry was started');
  b.set(many('b', 2));
  await p.flushNow();
  const after = versions(store);
  assert.equal(after.size, 5);
  for (const [name, v] of before) assert.equal(after.get(name), v, `${name} kept its version`);
  assert.deepEqual(p.registries().map((r) => r.name), ['a', 'b']);
  ac.abort();
});

test('a restarted registry keeps its last services until its first sync, then publishes no change when it answers the same', async () => {
  const a = new FakeRegistry('a', many('a', 4));
  const { p, store, ac } = await started([a]);
  const before = store.current();
  const a2 = new FakeRegistry('a'); // same name, new adapter, not synced yet
  await p.reconfigure(reconfig([a2]));
  await p.flushNow();
  assert.equal(store.current()?.version, before?.version, 'its services did not flap out while it restarts');
  a.put(svc('a', 'late', ['10.9.9.9'])); // the old adapter is stopped: its events are dropped
  await p.flushNow();
  assert.equal(versions(store).has('late.default.mesh'), false);
  a2.set(many('a', 4)); // equal content, new objects
  await p.flushNow();
  assert.equal(store.current()?.version, before?.version, 'same content: same snapshot version');
  ac.abort();
});

test('a restarted registry that answers much less is held by its guard (judged against its last view)', async () => {
  const a = new FakeRegistry('a', many('a', 10));
  const { p, store, ac } = await started([a]);
  const a2 = new FakeRegistry('a');
  await p.reconfigure(reconfig([a2]));
  a2.set(many('a', 2));
  await p.flushNow();
  assert.equal(serviceEntries(store).length, 10, 'the 8 missing stay published');
  assert.equal(p.debugState().held['a']?.services.length, 8);
  ac.abort();
});

test('a removed registry leaves through its guard: held, then gone on release; one with its guard off goes at once', async () => {
  const a = new FakeRegistry('a', many('a', 3));
  const b = new FakeRegistry('b', many('b', 4));
  const c = new FakeRegistry('c', many('c', 2));
  // c's guard is off (100 %): it goes at once; b's default guard holds a 100 % loss.
  const { p, store, ac } = await started([a, b, c], { c: { servicePercent: 100, endpointPercent: 100 } });
  const aBefore = [...versions(store)].filter(([n]) => n.startsWith('a'));
  // A removed registry keeps the settings it had (the new config does not name it).
  await p.reconfigure(reconfig([a]));
  await p.flushNow();
  let names = [...versions(store).keys()];
  assert.equal(names.filter((n) => n.startsWith('c')).length, 0, 'c left at once');
  assert.equal(names.filter((n) => n.startsWith('b')).length, 4, "b's services are held");
  assert.deepEqual(p.registries().map((r) => r.name), ['a'], 'only a is configured');
  assert.deepEqual(p.debugState().guard.map((g) => g.registry).sort(), ['a', 'b'], "c's guard state is forgotten, b's holds");
  assert.equal(p.releaseHold('b'), true);
  await p.flushNow();
  names = [...versions(store).keys()];
  assert.equal(names.filter((n) => n.startsWith('b')).length, 0, 'released: b is gone');
  assert.deepEqual(p.debugState().guard.map((g) => g.registry), ['a']);
  for (const [n, v] of aBefore) assert.equal(versions(store).get(n), v, `${n} untouched`);
  ac.abort();
});

test('re-tuned conversion options convert again; re-tuned guard thresholds apply to the next pass', async () => {
  const a = new FakeRegistry('a', many('a', 4));
  const { p, store, ac } = await started([a]);
  await p.reconfigure(reconfig([a], {}, { a: { ...defaultConversionOptions, namespace: 'other' } }));
  await p.flushNow();
  assert.deepEqual([...versions(store).keys()].sort(), ['a0.other.mesh', 'a1.other.mesh', 'a2.other.mesh', 'a3.other.mesh']);
  // Guard off by reload: losing 3 of 4 goes through (default 50 % would hold it).
  await p.reconfigure(reconfig([a], { a: { servicePercent: 100, endpointPercent: 100 } }, { a: { ...defaultConversionOptions, namespace: 'other' } }));
  a.set(many('a', 1));
  await p.flushNow();
  assert.equal(serviceEntries(store).length, 1);
  ac.abort();
});

test('a removed and re-added registry is judged against what its guard held', async () => {
  const a = new FakeRegistry('a', many('a', 2));
  const b = new FakeRegistry('b', many('b', 6));
  const { p, store, ac } = await started([a, b]);
  await p.reconfigure(reconfig([a]));
  await p.flushNow();
  assert.equal(serviceEntries(store).length, 8, 'b held');
  const b2 = new FakeRegistry('b');
  await p.reconfigure(reconfig([a, b2]));
  await p.flushNow();
  assert.equal(serviceEntries(store).length, 8, 'b2 unsynced: the held view stands for it');
  b2.set(many('b', 6));
  await p.flushNow();
  assert.equal(serviceEntries(store).length, 8);
  assert.equal(p.debugState().guard.find((g) => g.registry === 'b')?.hold, undefined, 'back to its baseline: recovered');
  ac.abort();
});
