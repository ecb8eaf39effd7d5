import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtectGuard } from './protect.js';
import { serviceKey, type Service } from '../model/index.js';
import { svc } from '../registry/testing/fake-registry.js';

function mapOf(services: Service[]): Map<string, Service> {
  return new Map(services.map((s) => [serviceKey(s), s]));
}
const ten = Array.from({ length: 10 }, (_, i) => svc('r', `s${i}`, [`10.0.0.${i + 1}`]));

test('first view is released as is', () => {
  const g = new ProtectGuard(() => 50);
  const r = g.apply('r', mapOf(ten));
  assert.equal(r.view.length, 10);
  assert.deepEqual(r.held, []);
});

test('a drop beyond the threshold is held; within it goes through', () => {
  const g = new ProtectGuard(() => 50);
  g.apply('r', mapOf(ten));
  const empty = g.apply('r', new Map());
  assert.equal(empty.view.length, 10, 'an empty answer deletes nothing');
  assert.equal(empty.held.length, 10);
  const recovered = g.apply('r', mapOf(ten));
  assert.equal(recovered.view.length, 10);
  assert.deepEqual(recovered.held, []);
  const fewer = g.apply('r', mapOf(ten.slice(0, 6)));
  assert.equal(fewer.view.length, 6, '40% deleted is within a 50% threshold');
  assert.deepEqual(fewer.held, []);
});

test('changes and additions pass while deletions are held', () => {
  const g = new ProtectGuard(() => 50);
  g.apply('r', mapOf(ten));
  const changed = svc('r', 's0', ['10.9.9.9']);
  const added = svc('r', 'new', ['10.8.8.8']);
  const r = g.apply('r', mapOf([changed, added]));
  const byName = new Map(r.view.map((s) => [s.name, s]));
  assert.equal(byName.get('s0'), changed);
  assert.equal(byName.get('new'), added);
  assert.equal(r.view.length, 11);
  assert.equal(r.held.length, 9);
});

test('threshold 100 lets everything through', () => {
  const g = new ProtectGuard(() => 100);
  g.apply('r', mapOf(ten));
  assert.equal(g.apply('r', new Map()).view.length, 0);
});
