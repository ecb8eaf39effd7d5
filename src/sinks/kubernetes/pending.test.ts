import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PendingWrites, newestContent } from './pending.js';
import { SnapshotStore, resourceKey, type IstioResource } from '../../snapshot/index.js';

test('PendingWrites keeps the first time a key became due across plans and drops keys no longer planned', () => {
  const p = new PendingWrites();
  p.plan(['a', 'b'], 100);
  p.plan(['b', 'c', 'a'], 200);
  assert.deepEqual(p.order(['c', 'b', 'a'], (k) => k), ['b', 'a', 'c'], 'oldest first; ties keep the plan order');
  p.plan(['c', 'b'], 300);
  assert.equal(p.size, 2, 'a caught up: no longer owed');
  assert.equal(p.oldestAgeMs(400), 300);
  p.done('b');
  assert.equal(p.oldestAgeMs(400), 200);
  p.plan(['b', 'c'], 500);
  assert.deepEqual(p.order(['b', 'c'], (k) => k), ['c', 'b'], 'a key owed again after a write is the newest');
  p.plan([], 600);
  assert.equal(p.size, 0);
  assert.equal(p.oldestAgeMs(600), 0);
});

function se(name: string, hosts: string[], endpoint: string): IstioResource {
  const spec = { hosts, ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], endpoints: [{ address: endpoint }] };
  return { kind: 'ServiceEntry', namespace: 'ns', name, key: resourceKey('ServiceEntry', 'ns', name), labels: {}, annotations: {}, spec, version: `${hosts.join(',')}|${endpoint}` };
}

test('newestContent: the newest version of the planned object when its hosts, selector and labels are the same', () => {
  const store = new SnapshotStore();
  const planned = se('a', ['a.mesh'], '10.0.0.1');
  const first = store.publish([planned, se('b', ['b.mesh'], '10.0.0.2')])!;
  assert.equal(newestContent(planned, first, store.current()), planned, 'no newer snapshot');

  const newer = se('a', ['a.mesh'], '10.0.0.9');
  store.publish([newer, se('b', ['b.mesh'], '10.0.0.2')]);
  assert.equal(newestContent(planned, first, store.current()), newer, 'latest wins');

  store.publish([se('a', ['a.mesh', 'other.mesh'], '10.0.0.9'), se('b', ['b.mesh'], '10.0.0.2')]);
  assert.equal(newestContent(planned, first, store.current()), planned, 'other hosts: the plan checked clashes for the planned ones only');

  store.publish([se('b', ['b.mesh'], '10.0.0.2')]);
  assert.equal(newestContent(planned, first, store.current()), undefined, 'no longer desired: not written');
});
