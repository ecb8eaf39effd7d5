import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { diffLines, unifiedDiff } from './line-diff.js';

test('equal texts: no diff', () => {
  assert.equal(unifiedDiff('a\nb\n', 'a\nb\n'), '');
  assert.equal(unifiedDiff('', ''), '');
});

test('one changed line in the middle: one hunk with 3 lines of context', () => {
  const a = ['1', '2', '3', '4', '5', '6', '7', '8', '9'].join('\n') + '\n';
  const b = a.replace('5\n', 'five\n');
  assert.equal(
    unifiedDiff(a, b, { from: 'live', to: 'meshbridge' }),
    '--- live\n+++ meshbridge\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n',
  );
});

test('changes far apart: two hunks; near: merged', () => {
  const lines = Array.from({ length: 20 }, (_, i) => `l${i + 1}`);
  const far = [...lines];
  far[1] = 'x';
  far[17] = 'y';
  const d = unifiedDiff(lines.join('\n'), far.join('\n'));
  assert.equal((d.match(/^@@/gm) ?? []).length, 2);
  assert.match(d, /@@ -1,5 \+1,5 @@/);
  assert.match(d, /@@ -15,6 \+15,6 @@/);
  const near = [...lines];
  near[5] = 'x';
  near[9] = 'y';
  assert.equal((unifiedDiff(lines.join('\n'), near.join('\n')).match(/^@@/gm) ?? []).length, 1);
});

test('pure additions and removals count 0 lines on the empty side', () => {
  assert.equal(unifiedDiff('', 'a\nb\n'), '--- a\n+++ b\n@@ -0,0 +1,2 @@\n+a\n+b\n');
  assert.equal(unifiedDiff('a\nb\n', ''), '--- a\n+++ b\n@@ -1,2 +0,0 @@\n-a\n-b\n');
  assert.equal(unifiedDiff('a\nc\n', 'a\nb\nc\n', { context: 0 }), '--- a\n+++ b\n@@ -1,0 +2,1 @@\n+b\n');
});

test('the edit script replays: kept and removed lines give a, kept and added give b; it is minimal on a known case', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 30 }), fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 30 }), (a, b) => {
      const ops = diffLines(a, b);
      assert.deepEqual(ops.filter((o) => o.type !== '+').map((o) => o.line), a);
      assert.deepEqual(ops.filter((o) => o.type !== '-').map((o) => o.line), b);
    }),
  );
  // abcabba -> cbabac: Myers' paper example, 5 edits.
  const ops = diffLines([...'abcabba'], [...'cbabac']);
  assert.equal(ops.filter((o) => o.type !== ' ').length, 5);
});

test('hunk headers agree with the lines they hold', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 40 }), fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 40 }), (a, b) => {
      const d = unifiedDiff(a.map((l) => `${l}\n`).join(''), b.map((l) => `${l}\n`).join(''), { context: 1 });
      for (const hunk of d.split(/^(?=@@)/m).slice(1)) {
        const [head, ...body] = hunk.trimEnd().split('\n');
        const m = /^@@ -\d+,(\d+) \+\d+,(\d+) @@$/.exec(head!);
        assert.ok(m, head);
        assert.equal(body.filter((l) => !l.startsWith('+')).length, Number(m[1]));
        assert.equal(body.filter((l) => !l.startsWith('-')).length, Number(m[2]));
      }
    }),
  );
});
