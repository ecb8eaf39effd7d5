import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plan, isOwned } from './plan.js';
import type { ObservedObject } from './observed.js';
import { resourceKey, type IstioResource } from '../../snapshot/index.js';

const REG = new Set(['zk']);
const owned = { 'app.kubernetes.io/managed-by': 'meshbridge', 'meshbridge.io/registry': 'zk' };

function se(name: string, version: string, spec: Record<string, unknown> = { hosts: [`${name}.svc`] }): IstioResource {
  return { kind: 'ServiceEntry', namespace: 'ns', name, key: resourceKey('ServiceEntry', 'ns', name), labels: owned, annotations: {}, spec, version };
}
function obs(name: string, hash: string | undefined, labels: Record<string, string> = owned, extra: Partial<ObservedObject> = {}): ObservedObject {
  return {
    kind: 'ServiceEntry',
    namespace: 'ns',
    name,
    key: `ServiceEntry/ns/${name}`,
    labels,
    contentHash: hash,
    generation: 1,
    resourceVersion: '10',
    hosts: [`${name}.svc`],
    ...extra,
  };
}
function observed(...objs: ObservedObject[]): Map<string, ObservedObject> {
  return new Map(objs.map((o) => [o.key, o]));
}
const base = { registries: REG, written: new Map<string, number>(), maxDeletePercent: 50 };

test('ownership needs the managed-by label and one of our registries', () => {
  assert.equal(isOwned({ labels: owned }, REG), true);
  assert.equal(isOwned({ labels: { 'app.kubernetes.io/managed-by': 'meshbridge', 'meshbridge.io/registry': 'other' } }, REG), false);
  assert.equal(isOwned({ labels: { 'meshbridge.io/registry': 'zk' } }, REG), false);
});

test('writes only missing or changed objects', () => {
  const p = plan({ ...base, desired: [se('a', 'h1'), se('b', 'h2'), se('c', 'h3')], observed: observed(obs('a', 'h1'), obs('b', 'old')) });
  assert.deepEqual(p.apply.map((r) => r.name), ['b', 'c']);
  assert.equal(p.unchanged, 1);
  assert.deepEqual(p.remove, []);
});

test('an object changed by someone else since our write is re-applied', () => {
  const p = plan({ ...base, written: new Map([['ServiceEntry/ns/a', 1]]), desired: [se('a', 'h1')], observed: observed(obs('a', 'h1', owned, { generation: 2 })) });
  assert.equal(p.apply.length, 1);
});

test('never deletes or overwrites unowned objects; reports clashes by host and name', () => {
  const foreign = { team: 'x' };
  const p = plan({
    ...base,
    desired: [se('a', 'h1'), se('b', 'h2', { hosts: ['taken.example'] })],
    observed: observed(obs('a', undefined, foreign), obs('other', undefined, foreign, { hosts: ['taken.example'] }), obs('z', undefined, foreign)),
  });
  assert.deepEqual(p.apply, []);
  assert.deepEqual(p.remove, []);
  assert.deepEqual(p.clashes.map((c) => [c.resource, c.claimedBy]).sort(), [
    ['ServiceEntry/ns/a', 'ServiceEntry/ns/a'],
    ['ServiceEntry/ns/b', 'ServiceEntry/ns/other'],
  ]);
});

test('WorkloadEntries of a clashing ServiceEntry are skipped too', () => {
  const sel = { 'meshbridge.io/service': 'b' };
  const we: IstioResource = { kind: 'WorkloadEntry', namespace: 'ns', name: 'b-1', key: 'WorkloadEntry/ns/b-1', labels: owned, annotations: {}, spec: { address: '10.0.0.1', labels: sel }, version: 'w' };
  const p = plan({
    ...base,
    desired: [se('b', 'h2', { hosts: ['taken.example'], workloadSelector: { labels: sel } }), we],
    observed: observed(obs('other', undefined, {}, { hosts: ['taken.example'] })),
  });
  assert.deepEqual(p.apply, []);
});

test('prunes owned objects that are no longer desired, within the threshold', () => {
  const p = plan({ ...base, desired: [se('a', 'h'), se('b', 'h'), se('c', 'h')], observed: observed(obs('a', 'h'), obs('b', 'h'), obs('c', 'h'), obs('d', 'h')) });
  assert.deepEqual(p.remove.map((o) => o.name), ['d']);
});

test('refuses a mass deletion beyond the protect threshold', () => {
  const p = plan({ ...base, desired: [se('a', 'h')], observed: observed(obs('a', 'h'), obs('b', 'h'), obs('c', 'h'), obs('d', 'h')) });
  assert.deepEqual(p.remove, []);
  assert.deepEqual(p.held, [{ registry: 'zk', wouldDelete: 3, owned: 4 }]);
});

test('objects of registries this instance does not serve are left alone', () => {
  const otherReg = { 'app.kubernetes.io/managed-by': 'meshbridge', 'meshbridge.io/registry': 'consul' };
  const p = plan({ ...base, desired: [], observed: observed(obs('x', 'h', otherReg)) });
  assert.deepEqual(p.remove, []);
  assert.deepEqual(p.held, []);
});
