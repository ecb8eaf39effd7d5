import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DiffReport } from '../sinks/kubernetes/plan-diff.js';
import { formatDiffJson, formatDiffText } from './diff-format.js';

const zero = { ServiceEntry: 0, WorkloadEntry: 0, Sidecar: 0 };
const DIFF = '--- live ServiceEntry ns/b\n+++ meshbridge ServiceEntry ns/b\n@@ -1,1 +1,1 @@\n-  number: 80\n+  number: 81\n';

const report: DiffReport = {
  changes: true,
  entries: [
    { action: 'create', kind: 'ServiceEntry', namespace: 'ns', name: 'a', key: 'ServiceEntry/ns/a', registry: 'zk', reason: 'not in the cluster' },
    { action: 'update', kind: 'ServiceEntry', namespace: 'ns', name: 'b', key: 'ServiceEntry/ns/b', registry: 'zk', reason: 'content changed', diff: DIFF },
    { action: 'delete', kind: 'WorkloadEntry', namespace: 'ns', name: 'w', key: 'WorkloadEntry/ns/w', registry: 'zk', reason: 'owned by this instance, no longer desired' },
    { action: 'held', kind: 'ServiceEntry', namespace: 'ns', name: 'z', key: 'ServiceEntry/ns/z', registry: 'zk2', reason: 'deletion guard: ...' },
    { action: 'clash', kind: 'ServiceEntry', namespace: 'ns', name: 'd', key: 'ServiceEntry/ns/d', registry: '', reason: 'name taken', claimedBy: 'ServiceEntry/ns/d', host: '' },
  ],
  counts: {
    create: { ServiceEntry: 1, WorkloadEntry: 0, Sidecar: 0 },
    update: { ServiceEntry: 1, WorkloadEntry: 0, Sidecar: 0 },
    delete: { ServiceEntry: 0, WorkloadEntry: 1, Sidecar: 0 },
    held: { ServiceEntry: 1, WorkloadEntry: 0, Sidecar: 0 },
    clash: { ServiceEntry: 1, WorkloadEntry: 0, Sidecar: 0 },
  },
  unchanged: 4,
  held: [{ registry: 'zk2', kind: 'ServiceEntry', wouldDelete: 1, owned: 1 }],
};

test('formatDiffText: entry lines in order, the update diff under its line, the count table, the verdict', () => {
  assert.equal(
    formatDiffText(report),
    [
      'create ServiceEntry ns/a (registry zk): not in the cluster',
      'update ServiceEntry ns/b (registry zk): content changed',
      DIFF.trimEnd(),
      'delete WorkloadEntry ns/w (registry zk): owned by this instance, no longer desired',
      'held   ServiceEntry ns/z (registry zk2): deletion guard: ...',
      'clash  ServiceEntry ns/d: name taken',
      '',
      'summary: 1 to create, 1 to update, 1 to delete, 1 held, 1 clash; 4 unchanged',
      '                create update delete   held  clash',
      '  ServiceEntry       1      1      0      1      1',
      '  WorkloadEntry      0      0      1      0      0',
      'held by the deletion guard: 1 of 1 ServiceEntries of registry zk2',
      'a run would write these changes',
      '',
    ].join('\n'),
  );
});

test('formatDiffText: a Sidecar row once there are Sidecars to write', () => {
  const withSidecar: DiffReport = {
    changes: true,
    entries: [{ action: 'create', kind: 'Sidecar', namespace: 'shop', name: 'web', key: 'Sidecar/shop/web', registry: 'zk', reason: 'not in the cluster' }],
    counts: { create: { ...zero, Sidecar: 1 }, update: zero, delete: zero, held: zero, clash: zero },
    unchanged: 0,
    held: [],
  };
  const lines = formatDiffText(withSidecar).split('\n');
  assert.equal(lines[0], 'create Sidecar shop/web (registry zk): not in the cluster');
  assert.equal(lines[2], 'summary: 1 to create, 0 to update, 0 to delete, 0 held, 0 clashes; 0 unchanged');
  assert.equal(lines[6], '  Sidecar            1      0      0      0      0');
  assert.ok(!formatDiffText(report).includes('Sidecar'), 'no Sidecar row without Sidecars');
});

test('formatDiffText: nothing to do', () => {
  const none: DiffReport = { changes: false, entries: [], counts: { create: zero, update: zero, delete: zero, held: zero, clash: zero }, unchanged: 2, held: [] };
  const lines = formatDiffText(none).split('\n');
  assert.equal(lines[0], 'summary: 0 to create, 0 to update, 0 to delete, 0 held, 0 clashes; 2 unchanged');
  assert.equal(lines.at(-2), 'no changes: a run would write nothing');
});

test('formatDiffJson: one document with changes, summary (counts and unchanged), held and the entries as they are', () => {
  const doc = JSON.parse(formatDiffJson(report)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(doc), ['changes', 'summary', 'held', 'entries']);
  assert.deepEqual(doc['summary'], { ...report.counts, unchanged: 4 });
  assert.deepEqual(doc['held'], report.held);
  assert.deepEqual(doc['entries'], report.entries);
  assert.equal(doc['changes'], true);
});
