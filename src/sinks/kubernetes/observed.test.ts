import { test } from 'node:test';
import assert from 'node:assert/strict';
import { observe, samePlanFields } from './observed.js';

const raw = (over: { rv?: string; generation?: number; labels?: Record<string, string>; hash?: string; hosts?: string[]; selector?: Record<string, string>; status?: unknown } = {}) => ({
  metadata: {
    name: 'a',
    namespace: 'ns',
    resourceVersion: over.rv ?? '1',
    generation: over.generation ?? 1,
    labels: over.labels ?? { 'app.kubernetes.io/managed-by': 'meshbridge' },
    annotations: { 'meshbridge.io/content-hash': over.hash ?? 'h1' },
  },
  spec: { hosts: over.hosts ?? ['a.example'], ...(over.selector !== undefined ? { workloadSelector: { labels: over.selector } } : {}) },
  ...(over.status !== undefined ? { status: over.status } : {}),
});
const obs = (r: unknown) => {
  const o = observe('ServiceEntry', r);
  assert.ok(o !== undefined);
  return o;
};

test('samePlanFields: a status write or a bare resourceVersion bump changes nothing a plan reads', () => {
  const base = obs(raw());
  assert.equal(samePlanFields(base, obs(raw({ rv: '2', status: { addresses: [{ value: '240.240.0.1' }] } }))), true);
  assert.equal(samePlanFields(base, obs(raw({ labels: { 'app.kubernetes.io/managed-by': 'meshbridge' } }))), true, 'equal labels in another object');
});

test('samePlanFields: labels, content hash, generation, hosts and selector each count', () => {
  const base = obs(raw({ selector: { s: '1' } }));
  const differ = [
    raw({ selector: { s: '1' }, generation: 2 }),
    raw({ selector: { s: '1' }, hash: 'h2' }),
    raw({ selector: { s: '1' }, labels: { 'app.kubernetes.io/managed-by': 'someone-else' } }),
    raw({ selector: { s: '1' }, labels: { 'app.kubernetes.io/managed-by': 'meshbridge', extra: 'x' } }),
    raw({ selector: { s: '1' }, hosts: ['a.example', 'b.example'] }),
    raw({ selector: { s: '1' }, hosts: ['b.example'] }),
    raw({ selector: { s: '2' } }),
    raw(),
  ];
  for (const [i, r] of differ.entries()) assert.equal(samePlanFields(base, obs(r)), false, `variant ${i}`);
  assert.equal(samePlanFields(obs(raw()), base), false, 'no selector vs a selector');
});

test('observe: equal label sets of different objects are one shared record; different ones stay apart', () => {
  const object = (name: string, labels?: Record<string, string>): unknown => ({ metadata: { name, namespace: 'ns', ...(labels !== undefined ? { labels } : {}), generation: 1, resourceVersion: '1' }, spec: { hosts: [`${name}.x`] } });
  const own = { 'app.kubernetes.io/managed-by': 'meshbridge', 'meshbridge.io/registry': 'zk' };
  const a = observe('ServiceEntry', object('a', { ...own }));
  const b = observe('ServiceEntry', object('b', { ...own }));
  const c = observe('ServiceEntry', object('c', { ...own, 'meshbridge.io/shared': 'true' }));
  const d = observe('ServiceEntry', object('d'));
  assert.ok(a !== undefined && b !== undefined && c !== undefined && d !== undefined);
  assert.equal(a.labels, b.labels);
  assert.deepEqual(a.labels, own);
  assert.notEqual(c.labels, a.labels);
  assert.deepEqual(c.labels, { ...own, 'meshbridge.io/shared': 'true' });
  assert.deepEqual(d.labels, {});
});
