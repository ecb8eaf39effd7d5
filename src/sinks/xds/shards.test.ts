import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SnapshotStore, resourceKey, type IstioResource, type ResourceKind } from '../../snapshot/index.js';
import { ShardedStores, shardOf } from './shards.js';

function res(kind: ResourceKind, name: string, v: number, se?: string): IstioResource {
  const labels: Record<string, string> = se === undefined ? {} : { 'meshbridge.io/service-entry': se };
  return { kind, namespace: 'ns', name, key: resourceKey(kind, 'ns', name), labels, annotations: {}, spec: { v }, version: `v${v}` };
}

/** A world: services 0..k with a version each, some with WorkloadEntries. */
const world = fc.array(fc.record({ id: fc.integer({ min: 0, max: 30 }), v: fc.integer({ min: 0, max: 3 }), wes: fc.integer({ min: 0, max: 2 }) }), { maxLength: 25 });

function resources(w: Array<{ id: number; v: number; wes: number }>, dup: boolean): IstioResource[] {
  const out: IstioResource[] = [];
  const seen = new Set<number>();
  for (const s of w) {
    if (seen.has(s.id) && !dup) continue;
    seen.add(s.id);
    out.push(res('ServiceEntry', `svc-${s.id}`, s.v));
    for (let e = 0; e < s.wes; e++) out.push(res('WorkloadEntry', `svc-${s.id}-${e}`, s.v, `svc-${s.id}`));
  }
  return out;
}

test('shard stores always hold exactly the source snapshot (through deltas, rebuilds and late attaching), each resource in one shard, its own', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(world, fc.boolean()), { minLength: 1, maxLength: 12 }), fc.integer({ min: 2, max: 5 }), fc.boolean(), (history, n, attachLate) => {
      const source = new SnapshotStore();
      const split = new ShardedStores(source, n);
      if (!attachLate) split.attach();
      history.forEach(([w, dup], step) => {
        source.publish(resources(w, dup));
        if (attachLate && step === 0) split.attach();
        const snap = source.current();
        const want = new Map<string, IstioResource>();
        for (const ks of snap?.kinds.values() ?? []) for (const [k, r] of ks.resources) want.set(k, r);
        const got = new Map<string, IstioResource>();
        split.stores.forEach((st, i) => {
          assert.ok(st.current() !== undefined, `shard ${i} has a snapshot (even when empty)`);
          for (const ks of st.current()?.kinds.values() ?? []) {
            for (const [k, r] of ks.resources) {
              assert.equal(shardOf(r, n), i, `${k} in its shard`);
              assert.ok(!got.has(k), `${k} in one shard only`);
              got.set(k, r);
            }
          }
        });
        assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
        // Equal versions are equal content (a store keeps the object it has then).
        for (const [k, r] of want) assert.equal(got.get(k)?.version, r.version, `${k} has the source's version`);
      });
    }),
    { numRuns: 500 },
  );
});

test('an isolated change publishes in its own shard only', () => {
  const source = new SnapshotStore();
  const split = new ShardedStores(source, 8);
  split.attach();
  const all = Array.from({ length: 200 }, (_, i) => res('ServiceEntry', `svc-${i}`, 0));
  source.publish(all);
  const before = split.stores.map((s) => s.current()?.sequence);
  const next = [...all];
  next[57] = res('ServiceEntry', 'svc-57', 1);
  source.publish(next);
  const owner = shardOf(next[57], 8);
  split.stores.forEach((s, i) => assert.equal(s.current()?.sequence, (before[i] ?? 0) + (i === owner ? 1 : 0), `shard ${i}`));
});
