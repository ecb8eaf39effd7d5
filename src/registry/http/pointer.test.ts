import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePointer, pointerSuffix, valueAt } from './pointer.js';

test('parsePointer follows RFC 6901, including its escapes', () => {
  assert.deepEqual(parsePointer(''), []);
  assert.deepEqual(parsePointer('/a/b'), ['a', 'b']);
  assert.deepEqual(parsePointer('/a~1b/c~0d'), ['a/b', 'c~d']);
  assert.deepEqual(parsePointer('/'), ['']);
  assert.equal(parsePointer('a/b'), undefined);
  assert.equal(parsePointer('/a~2'), undefined);
  assert.equal(parsePointer('/a~'), undefined);
});

test('valueAt walks keys and indices and never throws on a missing step', () => {
  const doc = { services: [{ name: 'web', 'a/b': 1 }], n: null };
  assert.equal(valueAt(doc, ['services', '0', 'name']), 'web');
  assert.equal(valueAt(doc, ['services', '0', 'a/b']), 1);
  assert.equal(valueAt(doc, ['services', '1', 'name']), undefined);
  assert.equal(valueAt(doc, ['services', '01']), undefined);
  assert.equal(valueAt(doc, ['n', 'x']), undefined);
  assert.equal(valueAt(doc, ['toString']), undefined);
  assert.deepEqual(valueAt(doc, []), doc);
});

test('pointerSuffix renders tokens as an entry path', () => {
  assert.equal(pointerSuffix(['meta', 'app.kind', '0']), '.meta["app.kind"][0]');
});
