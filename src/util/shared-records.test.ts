import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SharedRecords } from './shared-records.js';

test('SharedRecords: equal records (same keys, order and values) are shared; different ones are not', () => {
  const s = new SharedRecords<string>();
  const a = { app: 'x', version: 'v1' };
  assert.equal(s.of(a), a);
  assert.equal(s.of({ app: 'x', version: 'v1' }), a, 'equal: the earlier object');
  const other = { app: 'x', version: 'v2' };
  assert.equal(s.of(other), other, 'a value differs');
  const order = { version: 'v1', app: 'x' };
  assert.equal(s.of(order), order, 'key order is part of equality (serialisation depends on it)');
  const fewer = { app: 'x' };
  assert.equal(s.of(fewer), fewer, 'a key fewer');
  const more = { app: 'x', version: 'v1', zone: 'z' };
  assert.equal(s.of(more), more, 'a key more');
  assert.equal(s.of({}), s.of({}), 'empty records are shared too');
});
