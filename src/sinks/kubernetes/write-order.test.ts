import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plan } from './plan.js';
import { writePhases } from './write-order.js';
import type { ObservedObject } from './observed.js';
import type { IstioResource } from '../../snapshot/index.js';

const owned = { 'app.kubernetes.io/managed-by': 'meshbridge', 'meshbridge.io/registry': 'zk', 'meshbridge.io/instance': 'prod' };
const SEL = { 'meshbridge.io/service-entry': 'big' };
const base = { instance: 'prod', registries: new Set(['zk']), written: new Map<string, number>(), maxDeletePercent: 100 };

function seInline(version: string): IstioResource {
  return { kind: 'ServiceEntry', namespace: 'ns', name: 'big', key: 'ServiceEntry/ns/big', labels: owned, annotations: {}, spec: { hosts: ['big.svc'], endpoints: [{ address: '10.0.0.1' }] }, version };
}
function seSelector(version: string): IstioResource {
  return { ...seInline(version), spec: { hosts: ['big.svc'], workloadSelector: { labels: SEL } } };
}
function we(i: number): IstioResource {
  const labels = { ...owned, ...SEL };
  return { kind: 'WorkloadEntry', namespace: 'ns', name: `big-${i}`, key: `WorkloadEntry/ns/big-${i}`, labels, annotations: {}, spec: { address: `10.0.0.${i}`, labels: SEL }, version: `w${i}` };
}
function seen(r: IstioResource, selector: Record<string, string> | undefined): ObservedObject {
  return { kind: r.kind, namespace: r.namespace, name: r.name, key: r.key, labels: r.labels, contentHash: r.version, generation: 1, resourceVersion: '1', hosts: [], selector };
}
function map(...o: ObservedObject[]): Map<string, ObservedObject> {
  return new Map(o.map((x) => [x.key, x]));
}

test('inline -> WorkloadEntry form: WorkloadEntries first; the ServiceEntry waits for every one not yet in the cluster', () => {
  const desired = [seSelector('s2'), we(1), we(2), we(3)];
  const observed = map(seen(seInline('s1'), undefined), seen(we(1), undefined)); // we(1) exists from an earlier, partial pass
  const p = plan({ ...base, desired, observed });
  const w = writePhases(p, desired, observed);
  assert.deepEqual(w.applyWorkloadEntries.map((r) => r.name), ['big-2', 'big-3']);
  assert.deepEqual(w.applyServiceEntries.map((g) => [g.item.name, g.after]), [['big', ['WorkloadEntry/ns/big-2', 'WorkloadEntry/ns/big-3']]]);
});

test('a WorkloadEntry that cannot be written at all (name taken) keeps the ServiceEntry inline', () => {
  const desired = [seSelector('s2'), we(1)];
  const foreign: ObservedObject = { ...seen(we(1), undefined), labels: { team: 'x' } };
  const observed = map(seen(seInline('s1'), undefined), foreign);
  const p = plan({ ...base, desired, observed });
  const w = writePhases(p, desired, observed);
  assert.deepEqual(w.applyWorkloadEntries, []);
  assert.deepEqual(w.applyServiceEntries[0]?.after, ['WorkloadEntry/ns/big-1'], 'waits for a write that never happens');
});

test('an already selector-form ServiceEntry or a new one waits for nothing', () => {
  const desired = [seSelector('s3'), we(1)];
  for (const observed of [map(seen(seSelector('s2'), SEL)), map()]) {
    const w = writePhases(plan({ ...base, desired, observed }), desired, observed);
    assert.deepEqual(w.applyServiceEntries[0]?.after, []);
  }
});

test('WorkloadEntry -> inline form: ServiceEntry applied, then its WorkloadEntries deleted only after it', () => {
  const desired = [seInline('s3')];
  const observed = map(seen(seSelector('s2'), SEL), seen(we(1), undefined), seen(we(2), undefined));
  const w = writePhases(plan({ ...base, desired, observed }), desired, observed);
  assert.deepEqual(w.applyServiceEntries.map((g) => [g.item.name, g.after]), [['big', []]]);
  assert.deepEqual(w.removeWorkloadEntries.map((g) => [g.item.name, g.after]), [
    ['big-1', ['ServiceEntry/ns/big']],
    ['big-2', ['ServiceEntry/ns/big']],
  ]);
});

test('a host removed: ServiceEntry deleted before its WorkloadEntries, which wait for nothing', () => {
  const observed = map(seen(seSelector('s2'), SEL), seen(we(1), undefined));
  const w = writePhases(plan({ ...base, desired: [], observed }), [], observed);
  assert.deepEqual(w.removeServiceEntries.map((o) => o.name), ['big']);
  assert.deepEqual(w.removeWorkloadEntries.map((g) => [g.item.name, g.after]), [['big-1', []]]);
});
