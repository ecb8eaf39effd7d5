import { test } from 'node:test';
import assert from 'node:assert/strict';
import { substituteEnv } from './env.js';
import { formatPath, pointerSegments } from './path.js';

test('substitutes strings only, leaves keys, numbers and other ${...} alone; input not modified', () => {
  const input = { a: '${ENV:X}', '${ENV:X}': 1, n: 5, b: [true, 'x${ENV:X}y', '${HOME}'], c: null };
  const r = substituteEnv(input, { X: 'v' });
  assert.deepEqual(r.value, { a: 'v', '${ENV:X}': 1, n: 5, b: [true, 'xvy', '${HOME}'], c: null });
  assert.deepEqual([...r.substituted].sort(), ['a', 'b[1]']);
  assert.equal(input.a, '${ENV:X}');
});

test('defaults apply when unset or empty; missing names key path and variable', () => {
  const r = substituteEnv({ s: { t: '${ENV:A:-d1}|${ENV:B:-}|${ENV:C}' } }, { A: '' });
  assert.equal((r.value as { s: { t: string } }).s.t, 'd1||');
  assert.deepEqual(r.missing.map((m) => [m.path, m.variable]), [['s.t', 'C']]);
});

test('$${ is a literal ${', () => {
  assert.deepEqual(substituteEnv({ a: '$${ENV:X}' }, { X: 'v' }).value, { a: '${ENV:X}' });
});

test('key paths', () => {
  assert.equal(formatPath([]), '(root)');
  assert.equal(formatPath(['registries', 0, 'file', 'path']), 'registries[0].file.path');
  assert.equal(formatPath(['labels', 'app.kubernetes.io/x']), 'labels["app.kubernetes.io/x"]');
  assert.deepEqual(pointerSegments('/a/0/80/x~1y', { a: [{ '80': {} }] }), ['a', 0, '80', 'x/y']);
});
