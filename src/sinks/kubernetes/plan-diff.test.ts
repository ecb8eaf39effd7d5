import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resourceKey, type IstioResource } from '../../snapshot/index.js';
import type { ObservedObject } from './observed.js';
import { plan } from './plan.js';
import { planDiff, type DiffReport } from './plan-diff.js';

const MB = { 'app.kubernetes.io/managed-by': 'meshbridge' };
const labels = (registry: string): Record<string, string> => ({ ...MB, 'meshbridge.io/registry': registry, 'meshbridge.io/instance': 'prod' });
const REGISTRIES = new Set(['zk', 'zk2']);

function se(name: string, version: string, port = 80, extra: Record<string, unknown> = {}): IstioResource {
  const spec = { hosts: [`${name}.svc`], ports: [{ number: port, name: 'http' }], ...extra };
  return { kind: 'ServiceEntry', namespace: 'ns', name, key: resourceKey('ServiceEntry', 'ns', name), labels: labels('zk'), annotations: { 'meshbridge.io/content-hash': version }, spec, version };
}
function we(name: string, selector: string): IstioResource {
  const l = { ...labels('zk'), 'meshbridge.io/service-entry': selector };
  return { kind: 'WorkloadEntry', namespace: 'ns', name, key: resourceKey('WorkloadEntry', 'ns', name), labels: l, annotations: {}, spec: { address: '10.0.0.1', labels: l }, version: 'w' };
}
function obs(name: string, hash: string | undefined, l: Record<string, string>, hosts = [`${name}.svc`]): ObservedObject {
  return { kind: 'ServiceEntry', namespace: 'ns', name, key: `ServiceEntry/ns/${name}`, labels: l, contentHash: hash, generation: 1, resourceVersion: '7', hosts, selector: undefined };
}

/** b as the API server returns it: written by meshbridge-prod at port 80, plus server fields and another manager's. */
const liveB = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'ServiceEntry',
  metadata: {
    name: 'b',
    namespace: 'ns',
    uid: 'u',
    resourceVersion: '7',
    generation: 1,
    labels: { ...labels('zk'), team: 'x' },
    annotations: { 'meshbridge.io/content-hash': 'old' },
    managedFields: [
      {
        manager: 'meshbridge-prod',
        operation: 'Apply',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': Object.fromEntries(Object.keys(labels('zk')).map((k) => [`f:${k}`, {}])), 'f:annotations': { 'f:meshbridge.io/content-hash': {} } },
          'f:spec': { 'f:hosts': {}, 'f:ports': {} },
        },
      },
      { manager: 'kubectl-label', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': { 'f:team': {} } } } },
    ],
  },
  spec: { hosts: ['b.svc'], ports: [{ number: 80, name: 'http' }] },
  status: { validationMessages: [] },
};

function scenario(): DiffReport {
  const e = se('e', 'he', 80, { workloadSelector: { labels: { 'meshbridge.io/service-entry': 'e' } } });
  const desired = [se('a', 'ha'), se('b', 'new', 81), se('c', 'hc'), se('d', 'hd'), e, we('e-1', 'e')];
  const observed = new Map(
    [
      obs('b', 'old', labels('zk')),
      obs('c', 'hc', labels('zk')),
      obs('x', 'hx', labels('zk')), // ours, not desired: 1 of 3 -> deleted
      obs('d', undefined, {}), // hand-made, same name as ours
      obs('other', undefined, {}, ['e.svc']), // hand-made, claims e's host
      obs('z1', 'h', labels('zk2')), // 2 of 2 of zk2 gone: held
      obs('z2', 'h', labels('zk2')),
    ].map((o) => [o.key, o]),
  );
  const p = plan({ desired, observed, instance: 'prod', registries: REGISTRIES, written: new Map(), maxDeletePercent: 50 });
  return planDiff({ plan: p, desired, observed, live: new Map([['ServiceEntry/ns/b', liveB]]), instance: 'prod', registries: REGISTRIES, maxDeletePercent: 50 });
}

test('planDiff: every action, from the sink\u2019s own plan, in a stable order', () => {
  const r = scenario();
  assert.deepEqual(
    r.entries.map((e) => `${e.action} ${e.key}`),
    [
      'create ServiceEntry/ns/a',
      'update ServiceEntry/ns/b',
      'delete ServiceEntry/ns/x',
      'held ServiceEntry/ns/z1',
      'held ServiceEntry/ns/z2',
      'clash ServiceEntry/ns/d',
      'clash ServiceEntry/ns/e',
      'clash WorkloadEntry/ns/e-1',
    ],
  );
  assert.equal(r.changes, true);
  assert.equal(r.unchanged, 1);
  assert.deepEqual(r.counts.held, { ServiceEntry: 2, WorkloadEntry: 0, Sidecar: 0 });
  assert.deepEqual(r.counts.clash, { ServiceEntry: 2, WorkloadEntry: 1, Sidecar: 0 });
  assert.deepEqual(r.held, [{ registry: 'zk2', kind: 'ServiceEntry', wouldDelete: 2, owned: 2 }]);
  const byKey = new Map(r.entries.map((e) => [e.key, e]));
  assert.equal(byKey.get('ServiceEntry/ns/d')?.claimedBy, 'ServiceEntry/ns/d');
  assert.match(byKey.get('ServiceEntry/ns/d')?.reason ?? '', /name taken/);
  assert.equal(byKey.get('ServiceEntry/ns/e')?.claimedBy, 'ServiceEntry/ns/other');
  assert.equal(byKey.get('ServiceEntry/ns/e')?.host, 'e.svc');
  assert.match(byKey.get('ServiceEntry/ns/z1')?.reason ?? '', /2 of 2 ServiceEntries of registry zk2, more than maxDeletePercent 50%/);
  assert.equal(byKey.get('ServiceEntry/ns/a')?.object?.metadata.labels['meshbridge.io/instance'], 'prod');
});

test('planDiff: an update diffs only the fields Meshbridge manages', () => {
  const d = scenario().entries.find((e) => e.action === 'update')?.diff ?? '';
  assert.match(d, /^--- live ServiceEntry ns\/b\n\+\+\+ meshbridge ServiceEntry ns\/b\n/);
  assert.match(d, /^ {5}- name: http\n- {6}number: 80\n\+ {6}number: 81\n/m);
  assert.match(d, /^\+\s+number: 81$/m);
  assert.match(d, /^-\s+meshbridge.io\/content-hash: old$/m);
  assert.match(d, /^\+\s+meshbridge.io\/content-hash: new$/m);
  for (const server of ['resourceVersion', 'uid', 'managedFields', 'status', 'generation', 'team']) assert.ok(!d.includes(server), `${server} in ${d}`);
});

test('planDiff: an update whose live object is gone meanwhile shows everything added', () => {
  const desired = [se('b', 'new')];
  const observed = new Map([['ServiceEntry/ns/b', obs('b', 'old', labels('zk'))]]);
  const p = plan({ desired, observed, instance: 'prod', registries: REGISTRIES, written: new Map(), maxDeletePercent: 50 });
  const r = planDiff({ plan: p, desired, observed, live: new Map(), instance: 'prod', registries: REGISTRIES, maxDeletePercent: 50 });
  assert.match(r.entries[0]?.diff ?? '', /^\+kind: ServiceEntry$/m);
});

test('planDiff: nothing to do is no change', () => {
  const desired = [se('c', 'hc')];
  const observed = new Map([['ServiceEntry/ns/c', obs('c', 'hc', labels('zk'))]]);
  const p = plan({ desired, observed, instance: 'prod', registries: REGISTRIES, written: new Map(), maxDeletePercent: 50 });
  const r = planDiff({ plan: p, desired, observed, live: new Map(), instance: 'prod', registries: REGISTRIES, maxDeletePercent: 50 });
  assert.equal(r.changes, false);
  assert.deepEqual(r.entries, []);
  assert.equal(r.unchanged, 1);
});
