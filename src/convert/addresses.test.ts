import { test } from 'node:test';
import assert from 'node:assert/strict';
import { claimOf, KeyMetas } from './addresses.js';
import { buildResource } from './resource.js';
import { ResourceKind } from '../snapshot/index.js';

test('KeyMetas: a binary search over the sorted keys; empty metas answer undefined for every key', () => {
  const a = { locality: 'r/z1' };
  const b = { network: 'n1' };
  const m = new KeyMetas(['10.0.0.1|80', '10.0.0.2|80', '10.0.0.3|80'], [a, undefined, b]);
  assert.equal(m.get('10.0.0.1|80'), a);
  assert.equal(m.get('10.0.0.2|80'), undefined);
  assert.equal(m.get('10.0.0.3|80'), b);
  assert.equal(m.get('10.0.0.4|80'), undefined);
  assert.equal(m.get(''), undefined);
  assert.equal(new KeyMetas(['10.0.0.1|80'], []).get('10.0.0.1|80'), undefined);
});

test('claimOf: each key gets its own endpoint\'s metadata, and equal metadata is one shared object', () => {
  const se = buildResource(ResourceKind.ServiceEntry, 'ns', 'svc', {}, {}, {
    hosts: ['svc.example'],
    ports: [{ number: 80, name: 'http', protocol: 'TCP' }],
    endpoints: [
      { address: '10.0.0.9', locality: 'r/z2' },
      { address: '10.0.0.1', locality: 'r/z1' },
      { address: '10.0.0.5' },
      { address: '10.0.0.3', locality: 'r/z1' },
    ],
  });
  const other = buildResource(ResourceKind.ServiceEntry, 'ns', 'other', {}, {}, {
    hosts: ['other.example'],
    ports: [{ number: 81, name: 'tcp', protocol: 'TCP' }],
    endpoints: [{ address: '10.1.0.1', locality: 'r/z1' }],
  });
  const c = claimOf('svc.example', [se]);
  const c2 = claimOf('other.example', [other]);
  assert.ok(c !== undefined && c2 !== undefined);
  assert.deepEqual(c.keys, ['10.0.0.1|80', '10.0.0.3|80', '10.0.0.5|80', '10.0.0.9|80']);
  assert.deepEqual(c.meta.get('10.0.0.9|80'), { locality: 'r/z2' });
  assert.equal(c.meta.get('10.0.0.5|80'), undefined);
  assert.equal(c.meta.get('10.0.0.1|80'), c.meta.get('10.0.0.3|80'));
  assert.equal(c.meta.get('10.0.0.1|80'), c2.meta.get('10.1.0.1|81'), 'shared across claims');
  assert.ok(Object.isFrozen(c.meta.get('10.0.0.1|80')));
});

test('KeyMetas: the IP of a key is the one given for it, read from the key when none was given or the key is not one of them', () => {
  const m = new KeyMetas(['10.0.0.1|80', '10.0.0.1|81', 'fd00::2|80'], [], ['10.0.0.1', '10.0.0.1', 'fd00::2']);
  assert.deepEqual([0, 1, 2].map((i) => m.ipAt(i)), ['10.0.0.1', '10.0.0.1', 'fd00::2']);
  assert.equal(m.ip('fd00::2|80'), 'fd00::2');
  assert.equal(m.ip('10.9.9.9|80'), '10.9.9.9', 'a key of no endpoint here: read from the key');
  const bare = new KeyMetas(['10.0.0.7|90'], []);
  assert.equal(bare.ipAt(0), '10.0.0.7');
  assert.equal(bare.ip('10.0.0.7|90'), '10.0.0.7');
});

test('claimOf: every key carries its endpoint\'s address, aligned with the sorted keys, on every port it claims', () => {
  const se = buildResource(ResourceKind.ServiceEntry, 'ns', 'svc', {}, {}, {
    hosts: ['svc.example'],
    ports: [
      { number: 80, name: 'http', protocol: 'TCP' },
      { number: 90, name: 'admin', protocol: 'TCP' },
    ],
    endpoints: [{ address: '10.0.0.9' }, { address: 'fd00::1', ports: { admin: 91 } }, { address: 'svc-a.example' }],
  });
  const c = claimOf('svc.example', [se]);
  assert.ok(c !== undefined);
  assert.deepEqual(c.keys, ['10.0.0.9|80', '10.0.0.9|90', 'fd00::1|80']);
  assert.deepEqual(c.keys.map((_, i) => c.meta.ipAt(i)), ['10.0.0.9', '10.0.0.9', 'fd00::1']);
});
