import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plan } from './plan.js';
import { writePhases } from './write-order.js';
import type { ObservedObject } from './observed.js';
import { SERVICE_NAME_LABEL, resourceKey, type IstioResource, type ResourceKind } from '../../snapshot/index.js';

const REG = new Set(['zk']);
const owned = { 'app.kubernetes.io/managed-by': 'meshbridge', 'meshbridge.io/registry': 'zk', 'meshbridge.io/instance': 'prod' };
const base = { instance: 'prod', registries: REG, written: new Map<string, number>(), maxDeletePercent: 50 };

function res(kind: ResourceKind, name: string, version: string, labels: Record<string, string> = owned): IstioResource {
  return { kind, namespace: 'ns', name, key: resourceKey(kind, 'ns', name), labels, annotations: {}, spec: {}, version };
}
function svc(name: string, version = 'v'): IstioResource {
  return res('Service', name, version);
}
function slice(service: string, n: number, version = 'v'): IstioResource {
  return res('EndpointSlice', `${service}-ipv4-${n}`, version, { ...owned, [SERVICE_NAME_LABEL]: service });
}
function obs(r: Pick<IstioResource, 'kind' | 'name' | 'labels'>, hash: string | undefined): ObservedObject {
  return { kind: r.kind, namespace: 'ns', name: r.name, key: resourceKey(r.kind, 'ns', r.name), labels: r.labels, contentHash: hash, generation: 0, resourceVersion: '1', hosts: [], selector: undefined };
}
function observed(...objs: ObservedObject[]): Map<string, ObservedObject> {
  return new Map(objs.map((o) => [o.key, o]));
}

test('Services and EndpointSlices: only missing or changed ones are applied', () => {
  const desired = [svc('a'), slice('a', 0), slice('a', 1, 'new'), svc('b')];
  const p = plan({ ...base, desired, observed: observed(obs(svc('a'), 'v'), obs(slice('a', 0), 'v'), obs(slice('a', 1), 'old')) });
  assert.deepEqual(p.apply.map((r) => r.key), ['EndpointSlice/ns/a-ipv4-1', 'Service/ns/b']);
  assert.equal(p.unchanged, 2);
});

test('a Service whose name a foreign Service holds is skipped with its EndpointSlices and reported', () => {
  const foreign = obs({ kind: 'Service', name: 'a', labels: { team: 'x' } }, undefined);
  const desired = [svc('a'), slice('a', 0), svc('b'), slice('b', 0)];
  const p = plan({ ...base, desired, observed: observed(foreign) });
  assert.deepEqual(p.apply.map((r) => r.key), ['Service/ns/b', 'EndpointSlice/ns/b-ipv4-0']);
  assert.deepEqual(p.clashes, [{ host: 'a.ns.svc', resource: 'Service/ns/a', claimedBy: 'Service/ns/a' }]);
  assert.deepEqual(p.skipped, ['EndpointSlice/ns/a-ipv4-0']);
  assert.deepEqual(p.remove, [], 'the foreign Service is never removed');
});

test('the deletion guard weighs Services like ServiceEntries; EndpointSlice deletions are not weighed', () => {
  // 1 of 3 Services goes (33% <= 50%), with 4 of its slices: deleted.
  const live = [svc('a'), svc('b'), slice('a', 0), slice('b', 0)];
  const gone = [svc('c'), slice('c', 0), slice('c', 1), slice('c', 2), slice('c', 3)];
  const p = plan({ ...base, desired: live, observed: observed(...[...live, ...gone].map((r) => obs(r, 'v'))) });
  assert.deepEqual(p.held, []);
  assert.equal(p.remove.length, gone.length);
  // 2 of 3 Services would go: held, slices kept with them.
  const p2 = plan({ ...base, desired: [svc('a'), slice('a', 0)], observed: observed(...[...live, ...gone].map((r) => obs(r, 'v'))) });
  assert.deepEqual(p2.held, [{ registry: 'zk', kind: 'Service', wouldDelete: 2, owned: 3 }]);
  assert.deepEqual(p2.remove, []);
  // Slices re-cut under one staying Service: never held, however many.
  const p3 = plan({ ...base, desired: [svc('a')], observed: observed(obs(svc('a'), 'v'), ...[0, 1, 2, 3].map((n) => obs(slice('a', n), 'v'))) });
  assert.deepEqual(p3.held, []);
  assert.equal(p3.remove.length, 4);
});

test('write order: Services before their EndpointSlices, on apply and on delete, after the Istio kinds', () => {
  const desired = [svc('a'), slice('a', 0)];
  const p = plan({ ...base, maxDeletePercent: 100, desired, observed: observed(obs(svc('z'), 'v'), obs(slice('z', 0), 'v')) });
  const w = writePhases(p, desired, observed(obs(svc('z'), 'v'), obs(slice('z', 0), 'v')));
  assert.deepEqual(w.applyServices.map((r) => r.name), ['a']);
  assert.deepEqual(w.applyEndpointSlices.map((r) => r.name), ['a-ipv4-0']);
  assert.deepEqual(w.removeServices.map((o) => o.name), ['z']);
  assert.deepEqual(w.removeEndpointSlices.map((o) => o.name), ['z-ipv4-0']);
  assert.deepEqual([...w.applyServiceEntries, ...w.applyWorkloadEntries, ...w.removeServiceEntries, ...w.removeWorkloadEntries], []);
});
