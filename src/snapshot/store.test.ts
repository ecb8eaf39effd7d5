import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotStore } from './store.js';
import { resourceKey, type IstioResource, type ResourceKind } from './resource.js';
import { hashOf } from '../util/hash.js';

function res(kind: ResourceKind, name: string, content: string): IstioResource {
  const spec = { hosts: [`${name}.example`], content };
  return {
    kind,
    namespace: 'ns',
    name,
    key: resourceKey(kind, 'ns', name),
    labels: {},
    annotations: {},
    spec,
    version: hashOf(spec),
  };
}

/** A deterministic pseudo-random sequence (no timing, no Math.random). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function keysOf(store: SnapshotStore, kind: ResourceKind): string[] {
  return [...(store.current()?.kinds.get(kind)?.resources.keys() ?? [])];
}

test('equal content gives equal versions whatever the order and history of publishes', () => {
  const a = [res('ServiceEntry', 'a', '1'), res('ServiceEntry', 'b', '1'), res('WorkloadEntry', 'w', '1')];
  const s1 = new SnapshotStore();
  s1.publish(a);
  const s2 = new SnapshotStore();
  s2.publish([res('ServiceEntry', 'c', '9'), res('ServiceEntry', 'b', '2')]);
  s2.publish([...a].reverse());
  assert.equal(s2.current()?.version, s1.current()?.version);
  for (const k of ['ServiceEntry', 'WorkloadEntry'] as const) {
    assert.equal(s2.current()?.kinds.get(k)?.version, s1.current()?.kinds.get(k)?.version);
    assert.deepEqual(keysOf(s2, k), keysOf(s1, k));
  }
});

test('publish returns undefined and calls no listener when nothing changed', () => {
  const store = new SnapshotStore();
  let calls = 0;
  store.subscribe(() => calls++);
  const list = [res('ServiceEntry', 'a', '1')];
  assert.ok(store.publish(list));
  assert.equal(store.publish(list), undefined);
  // Different objects with the same content (same versions) are no change either.
  assert.equal(store.publish([res('ServiceEntry', 'a', '1')]), undefined);
  assert.equal(calls, 1);
});

test('the first publish reports every kind changed, even when empty', () => {
  const store = new SnapshotStore();
  let changed: string[] = [];
  store.subscribe((_s, kinds) => (changed = [...kinds]));
  store.publish([]);
  assert.deepEqual(changed.sort(), ['EndpointSlice', 'Service', 'ServiceEntry', 'Sidecar', 'WorkloadEntry']);
  assert.equal(store.publish([]), undefined);
});

test('only changed kinds are reported; unchanged kinds keep their KindSnapshot', () => {
  const store = new SnapshotStore();
  store.publish([res('ServiceEntry', 'a', '1'), res('WorkloadEntry', 'w', '1')]);
  const we = store.current()?.kinds.get('WorkloadEntry');
  let changed: string[] = [];
  store.subscribe((_s, kinds) => (changed = [...kinds]));
  store.publish([res('ServiceEntry', 'a', '2'), res('WorkloadEntry', 'w', '1')]);
  assert.deepEqual(changed, ['ServiceEntry']);
  assert.equal(store.current()?.kinds.get('WorkloadEntry'), we);
  assert.equal(store.current()?.sequence, 2);
});

test('earlier snapshots are never mutated by later publishes', () => {
  const store = new SnapshotStore();
  const first = store.publish([res('ServiceEntry', 'a', '1'), res('ServiceEntry', 'b', '1')]);
  const before = [...(first?.kinds.get('ServiceEntry')?.resources.values() ?? [])].map((r) => r.version);
  store.publish([res('ServiceEntry', 'a', '2'), res('ServiceEntry', 'c', '1')]);
  const after = [...(first?.kinds.get('ServiceEntry')?.resources.values() ?? [])].map((r) => r.version);
  assert.deepEqual(after, before);
  assert.deepEqual([...(first?.kinds.get('ServiceEntry')?.resources.keys() ?? [])], [resourceKey('ServiceEntry', 'ns', 'a'), resourceKey('ServiceEntry', 'ns', 'b')]);
});

test('a key twice in one list: the last one wins, as from scratch', () => {
  const store = new SnapshotStore();
  store.publish([res('ServiceEntry', 'a', '1')]);
  store.publish([res('ServiceEntry', 'a', '1'), res('ServiceEntry', 'a', '2')]);
  const fresh = new SnapshotStore();
  fresh.publish([res('ServiceEntry', 'a', '2')]);
  assert.equal(store.current()?.version, fresh.current()?.version);
  assert.equal(store.current()?.kinds.get('ServiceEntry')?.resources.get(resourceKey('ServiceEntry', 'ns', 'a'))?.spec['content'], '2');
});

test('incremental publishes match a store built from scratch (random adds, changes, removals)', () => {
  const next = rng(42);
  const live = new Map<string, IstioResource>();
  const store = new SnapshotStore();
  for (let step = 0; step < 200; step++) {
    const ops = 1 + Math.floor(next() * 6);
    for (let o = 0; o < ops; o++) {
      const kind: ResourceKind = next() < 0.7 ? 'ServiceEntry' : 'WorkloadEntry';
      const name = `r${Math.floor(next() * 40)}`;
      const key = resourceKey(kind, 'ns', name);
      if (next() < 0.3) live.delete(key);
      else live.set(key, res(kind, name, String(Math.floor(next() * 3))));
    }
    const list = [...live.values()];
    // Shuffle: the store must not depend on input order.
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      const t = list[i];
      list[i] = list[j] as IstioResource;
      list[j] = t as IstioResource;
    }
    store.publish(list);
    const fresh = new SnapshotStore();
    fresh.publish(list);
    assert.equal(store.current()?.version, fresh.current()?.version, `step ${step}`);
    for (const k of ['ServiceEntry', 'WorkloadEntry'] as const) {
      const keys = keysOf(store, k);
      assert.deepEqual(keys, [...keys].sort(), `sorted at step ${step}`);
      assert.deepEqual(keys, keysOf(fresh, k), `step ${step}`);
      assert.equal(store.current()?.kinds.get(k)?.version, fresh.current()?.kinds.get(k)?.version);
    }
  }
});

test('publishChanges gives the snapshot publish gives for the whole list (random deltas)', () => {
  const rand = rng(7);
  const full = new SnapshotStore();
  const delta = new SnapshotStore();
  const kinds: ResourceKind[] = ['ServiceEntry', 'WorkloadEntry'];
  const current = new Map<string, IstioResource>();
  for (let i = 0; i < 40; i++) {
    const r = res(kinds[i % 2] as ResourceKind, `n${i}`, 'v0');
    current.set(r.key, r);
  }
  full.publish(current.values());
  delta.publish(current.values());
  for (let step = 0; step < 300; step++) {
    const upserts: IstioResource[] = [];
    const removed: IstioResource[] = [];
    const n = Math.floor(rand() * 4);
    for (let j = 0; j < n; j++) {
      const name = `n${Math.floor(rand() * 60)}`;
      const kind = kinds[Math.floor(rand() * 2)] as ResourceKind;
      const r = res(kind, name, `v${Math.floor(rand() * 3)}`);
      if (upserts.some((u) => u.key === r.key) || removed.some((u) => u.key === r.key)) continue;
      if (rand() < 0.3 && current.has(r.key)) {
        removed.push(current.get(r.key) as IstioResource);
        current.delete(r.key);
      } else {
        upserts.push(r);
        current.set(r.key, r);
      }
    }
    const a = full.publish(current.values());
    const b = delta.publishChanges(upserts, removed);
    assert.equal(a === undefined, b === undefined, `step ${step}: published or not`);
    assert.equal(full.current()?.version, delta.current()?.version, `step ${step}: version`);
    for (const k of kinds) {
      assert.deepEqual([...(delta.current()?.kinds.get(k)?.resources.keys() ?? [])], keysOf(full, k), `step ${step}: ${k} keys in order`);
      assert.equal(delta.current()?.kinds.get(k)?.version, full.current()?.kinds.get(k)?.version, `step ${step}: ${k} version`);
    }
  }
});
