import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plan } from './plan.js';
import { isOwned, ownershipOf } from './ownership.js';
import type { ObservedObject } from './observed.js';
import { resourceKey, type IstioResource } from '../../snapshot/index.js';

const REG = new Set(['zk']);
const ID = { instance: 'prod', registries: REG };
const MB = { 'app.kubernetes.io/managed-by': 'meshbridge' };
const owned = { ...MB, 'meshbridge.io/registry': 'zk', 'meshbridge.io/instance': 'prod' };
const legacyLabels = { ...MB, 'meshbridge.io/registry': 'zk' };

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
    selector: undefined,
    ...extra,
  };
}
function observed(...objs: ObservedObject[]): Map<string, ObservedObject> {
  return new Map(objs.map((o) => [o.key, o]));
}
const base = { instance: 'prod', registries: REG, written: new Map<string, number>(), maxDeletePercent: 50 };

test('ownership is by instance; legacy objects of a configured registry are adopted', () => {
  const cases: Array<[Record<string, string>, string]> = [
    [owned, 'ours'],
    [{ ...MB, 'meshbridge.io/registry': 'renamed', 'meshbridge.io/instance': 'prod' }, 'ours'],
    [{ ...MB, 'meshbridge.io/instance': 'prod' }, 'ours'],
    [{ ...MB, 'meshbridge.io/registry': 'zk', 'meshbridge.io/instance': 'staging' }, 'foreign'],
    [legacyLabels, 'legacy'],
    [{ ...MB, 'meshbridge.io/registry': 'other' }, 'foreign'],
    [{ 'meshbridge.io/registry': 'zk', 'meshbridge.io/instance': 'prod' }, 'foreign'],
    [{}, 'foreign'],
  ];
  for (const [labels, want] of cases) assert.equal(ownershipOf({ labels }, ID), want, JSON.stringify(labels));
  assert.equal(isOwned({ labels: legacyLabels }, ID), true);
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
  assert.deepEqual(p.held, [{ registry: 'zk', kind: 'ServiceEntry', wouldDelete: 3, owned: 4 }]);
});

test('legacy objects of a registry this instance does not configure are left alone', () => {
  const otherReg = { ...MB, 'meshbridge.io/registry': 'consul' };
  const p = plan({ ...base, desired: [], observed: observed(obs('x', 'h', otherReg)) });
  assert.deepEqual(p.remove, []);
  assert.deepEqual(p.held, []);
});

// Case 7: two deployments calling their registry `zk` write one namespace.
test('another instance\'s objects are never updated or pruned, and their hosts clash', () => {
  const staging = { ...MB, 'meshbridge.io/registry': 'zk', 'meshbridge.io/instance': 'staging' };
  const p = plan({
    ...base,
    desired: [se('a', 'h1'), se('b', 'h2', { hosts: ['shared.svc'] })],
    observed: observed(obs('a', 'old', staging), obs('s', 'h', staging, { hosts: ['shared.svc'] }), obs('t', 'h', staging)),
  });
  assert.deepEqual(p.apply, []);
  assert.deepEqual(p.remove, []);
  assert.deepEqual(p.clashes.map((c) => [c.resource, c.claimedBy]).sort(), [
    ['ServiceEntry/ns/a', 'ServiceEntry/ns/a'],
    ['ServiceEntry/ns/b', 'ServiceEntry/ns/s'],
  ]);
});

// Case 6: a registry renamed zk -> zk2 (names unchanged: same objects, relabelled).
test('a renamed registry\'s objects stay ours: updated in place, not clashes', () => {
  const renamed = { ...owned, 'meshbridge.io/registry': 'zk2' };
  const desired = [1, 2, 3].map((i) => ({ ...se(`s${i}`, `new${i}`), labels: renamed }));
  const p = plan({ ...base, registries: new Set(['zk2']), desired, observed: observed(obs('s1', 'h'), obs('s2', 'h'), obs('s3', 'h')) });
  assert.deepEqual(p.clashes, []);
  assert.deepEqual(p.apply.map((r) => r.name), ['s1', 's2', 's3']);
});

// Case 6: a registry removed from the config (or renamed with a host template that names it).
test('objects of a registry no longer configured are pruned, weighed against all our objects of the kind', () => {
  const gone = { ...owned, 'meshbridge.io/registry': 'old' };
  const keep = [1, 2, 3].map((i) => se(`k${i}`, 'h'));
  const p = plan({ ...base, desired: keep, observed: observed(...keep.map((r) => obs(r.name, 'h')), obs('x1', 'h', gone), obs('x2', 'h', gone)) });
  assert.deepEqual(p.remove.map((o) => o.name), ['x1', 'x2']);
  // The only registry removed: 100% of everything we own is held (a typo must not empty the mesh).
  const all = plan({ ...base, desired: [], observed: observed(obs('x1', 'h', gone), obs('x2', 'h', gone)) });
  assert.deepEqual(all.remove, []);
  assert.deepEqual(all.held, [{ registry: 'old', kind: 'ServiceEntry', wouldDelete: 2, owned: 2 }]);
});

// Case 6: a changed target namespace: the old namespace's objects are not desired any more.
test('owned objects in a namespace no longer targeted are pruned once the new ones exist', () => {
  const moved = [1, 2].map((i) => ({ ...se(`m${i}`, 'h'), namespace: 'new', key: `ServiceEntry/new/m${i}` }));
  const old = [1, 2].map((i) => obs(`m${i}`, 'h'));
  const first = plan({ ...base, desired: moved, observed: observed(...old) });
  assert.deepEqual(first.apply.length, 2);
  assert.deepEqual(first.remove, [], 'first pass: the new objects do not exist yet; 2 of 2 held');
  const created = moved.map((r) => obs(r.name, 'h', owned, { namespace: 'new', key: r.key }));
  const second = plan({ ...base, desired: moved, observed: observed(...old, ...created) });
  assert.deepEqual(second.remove.map((o) => o.key), ['ServiceEntry/ns/m1', 'ServiceEntry/ns/m2']);
});

test('a legacy object is adopted: re-applied even when its content is unchanged, never duplicated', () => {
  const p = plan({ ...base, desired: [se('a', 'h1')], observed: observed(obs('a', 'h1', legacyLabels), obs('gone', 'h', legacyLabels)) });
  assert.deepEqual(p.apply.map((r) => r.name), ['a']);
  assert.deepEqual(p.clashes, []);
  assert.deepEqual(p.remove.map((o) => o.name), ['gone'], 'a legacy object no longer desired is pruned like ours');
});

function weObs(name: string, se: string, labels: Record<string, string> = owned): ObservedObject {
  return { ...obs(name, 'w', { ...labels, 'meshbridge.io/service-entry': se }), kind: 'WorkloadEntry', key: `WorkloadEntry/ns/${name}`, hosts: [] };
}
function weRes(name: string, se: string): IstioResource {
  const labels = { ...owned, 'meshbridge.io/service-entry': se };
  return { kind: 'WorkloadEntry', namespace: 'ns', name, key: `WorkloadEntry/ns/${name}`, labels, annotations: {}, spec: { address: '10.0.0.1', labels: { 'meshbridge.io/service-entry': se } }, version: 'w' };
}

// Case 3 (sink part): WorkloadEntry deletions were not counted.
test('WorkloadEntry deletions are guarded per registry and kind', () => {
  const sel = { 'meshbridge.io/service-entry': 'big' };
  const bigSe = se('big', 'h', { hosts: ['big.svc'], workloadSelector: { labels: sel } });
  const wes = [1, 2, 3, 4].map((i) => weObs(`w${i}`, 'big'));
  const p = plan({ ...base, desired: [bigSe, weRes('w1', 'big')], observed: observed(obs('big', 'h', owned, { selector: sel }), ...wes) });
  assert.deepEqual(p.remove, []);
  assert.deepEqual(p.held, [{ registry: 'zk', kind: 'WorkloadEntry', wouldDelete: 3, owned: 4 }]);
  const ok = plan({ ...base, desired: [bigSe, weRes('w1', 'big'), weRes('w2', 'big')], observed: observed(obs('big', 'h', owned, { selector: sel }), ...wes) });
  assert.deepEqual(ok.remove.map((o) => o.name), ['w3', 'w4']);
});

test('a held ServiceEntry deletion holds the registry\'s WorkloadEntry deletions too', () => {
  const p = plan({ ...base, desired: [se('a', 'h'), weRes('w2', 'x'), weRes('w3', 'x'), weRes('w4', 'x')], observed: observed(obs('a', 'h'), obs('b', 'h'), obs('c', 'h'), weObs('w1', 'b'), weObs('w2', 'x'), weObs('w3', 'x'), weObs('w4', 'x')) });
  assert.deepEqual(p.remove, []);
  assert.deepEqual(p.held.map((h) => h.kind), ['ServiceEntry']);
});

test('WorkloadEntries of a removed host go with their ServiceEntry: only the ServiceEntry is counted', () => {
  const sel = { 'meshbridge.io/service-entry': 'big' };
  const wes = [1, 2, 3, 4].map((i) => weObs(`w${i}`, 'big'));
  const p = plan({ ...base, desired: [se('a', 'h'), se('b', 'h'), se('c', 'h')], observed: observed(obs('a', 'h'), obs('b', 'h'), obs('c', 'h'), obs('big', 'h', owned, { selector: sel }), ...wes) });
  assert.deepEqual(p.held, []);
  assert.deepEqual(p.remove.map((o) => o.name), ['big', 'w1', 'w2', 'w3', 'w4']);
});

test('WorkloadEntries of a host switching back to inline form are not counted by the guard', () => {
  const sel = { 'meshbridge.io/service-entry': 'big' };
  const wes = [1, 2, 3, 4].map((i) => weObs(`w${i}`, 'big'));
  const inline = se('big', 'inline', { hosts: ['big.svc'], endpoints: [{ address: '10.0.0.1' }] });
  const p = plan({ ...base, desired: [inline], observed: observed(obs('big', 'h', owned, { selector: sel }), ...wes) });
  assert.deepEqual(p.held, []);
  assert.deepEqual(p.remove.map((o) => o.name), ['w1', 'w2', 'w3', 'w4']);
});

test('kept lists the objects a held deletion keeps; skipped the WorkloadEntries of a clashing ServiceEntry', () => {
  const held = plan({ ...base, desired: [se('a', 'h1')], observed: observed(obs('a', 'h1'), obs('b', 'h'), obs('c', 'h')) });
  assert.deepEqual(held.remove, []);
  assert.deepEqual(held.kept.map((o) => o.name), ['b', 'c']);
  assert.deepEqual(held.held, [{ registry: 'zk', kind: 'ServiceEntry', wouldDelete: 2, owned: 3 }]);
  const sel = { 'meshbridge.io/service-entry': 'a' };
  const a = se('a', 'h1', { hosts: ['a.svc'], workloadSelector: { labels: sel } });
  const w: IstioResource = { kind: 'WorkloadEntry', namespace: 'ns', name: 'a-1', key: resourceKey('WorkloadEntry', 'ns', 'a-1'), labels: { ...owned, ...sel }, annotations: {}, spec: { address: '10.0.0.1', labels: sel }, version: 'w' };
  const clash = plan({ ...base, desired: [a, w], observed: observed(obs('a', undefined, {})) });
  assert.deepEqual(clash.skipped, ['WorkloadEntry/ns/a-1']);
  assert.deepEqual(clash.apply, []);
  assert.deepEqual(clash.kept, []);
});

test('Sidecars: written and pruned like ServiceEntries; their deletions never trip the guard, but wait when the registry is held', () => {
  const sidecar = (name: string): ObservedObject => obs(name, 'h', owned, { kind: 'Sidecar', key: `Sidecar/ns/${name}`, hosts: [] });
  // The only Sidecar of the registry goes (100% of its Sidecars): deleted.
  const p = plan({ ...base, desired: [se('a', 'h1')], observed: observed(obs('a', 'h1'), sidecar('web')) });
  assert.deepEqual(p.remove.map((o) => o.key), ['Sidecar/ns/web']);
  assert.deepEqual(p.held, []);
  // The registry's only ServiceEntry goes too: everything of the registry waits.
  const q = plan({ ...base, desired: [], observed: observed(obs('a', 'h1'), sidecar('web')) });
  assert.deepEqual(q.remove, []);
  assert.deepEqual(q.held.map((h) => h.kind), ['ServiceEntry']);
  // A desired Sidecar not in the cluster is applied.
  const r: IstioResource = { kind: 'Sidecar', namespace: 'ns', name: 'web', key: 'Sidecar/ns/web', labels: owned, annotations: {}, spec: {}, version: 'v' };
  assert.deepEqual(plan({ ...base, desired: [r], observed: observed() }).apply.map((x) => x.key), ['Sidecar/ns/web']);
});
