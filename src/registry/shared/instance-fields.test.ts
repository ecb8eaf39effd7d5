import { test } from 'node:test';
import assert from 'node:assert/strict';
import { internLocality, readLocality } from './instance-fields.js';

const noProblems = (): never => {
  throw new Error('unexpected problem');
};

test('equal localities are one shared, frozen object; all parts unset is no locality', () => {
  const a = readLocality('us-east1/us-east1-b', noProblems);
  const b = readLocality({ region: 'us-east1', zone: 'us-east1-b' }, noProblems);
  assert.deepEqual(a, { region: 'us-east1', zone: 'us-east1-b' });
  assert.equal(a, b, 'the string and mapping forms share one object');
  assert.ok(Object.isFrozen(a));
  assert.notEqual(readLocality('us-east1/us-east1-c', noProblems), a);
  assert.equal(readLocality('//', noProblems), undefined);
  assert.deepEqual(internLocality(undefined, 'z', undefined), { zone: 'z' });
  assert.deepEqual(Object.keys(internLocality('r', undefined, 's') ?? {}), ['region', 'subzone'], 'unset parts are absent, not undefined');
});

test('a bad locality is reported and ignored', () => {
  const seen: string[] = [];
  assert.equal(readLocality('a/b/c/d', (code, path) => seen.push(`${code} ${path}`)), undefined);
  assert.equal(seen.length, 1);
});
