import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from './load.js';
import { changedPaths, describeDiff, diffConfig, isEmptyDiff } from './diff.js';

const SRC = '/etc/meshbridge/meshbridge.yaml';

/** A config with the given registry lines (YAML list items) and extra top-level YAML. */
function config(registries: readonly string[], extra = '', sinks = 'xds: {address: 127.0.0.1:15010}') {
  return parseConfig(`registries:\n${registries.map((r) => `  - ${r}`).join('\n')}\nsinks: {${sinks}}\n${extra}`, { sourcePath: SRC, env: {} });
}

const A = '{name: a, kind: file, file: {path: a.yaml}, namespace: ns-a}';
const B = '{name: b, kind: file, file: {path: b.yaml}, namespace: ns-b}';
const C = '{name: c, kind: file, file: {path: c.yaml}, namespace: ns-c}';

test('the same config: an empty diff', () => {
  const d = diffConfig(config([A, B]), config([A, B]));
  assert.equal(isEmptyDiff(d), true);
  assert.equal(describeDiff(d), 'no change');
});

test('registries added, removed, and the order of the kept ones', () => {
  const d = diffConfig(config([A, B]), config([C, B, A]));
  assert.deepEqual(d.added, ['c']);
  assert.deepEqual(d.removed, []);
  assert.equal(d.reordered, true);
  assert.deepEqual(d.needsRestart, []);
  const e = diffConfig(config([A, B, C]), config([A, C]));
  assert.deepEqual(e.removed, ['b']);
  assert.equal(e.reordered, false, 'a before c in both');
  assert.match(describeDiff(e), /registries removed: b/);
});

test('a changed kind block or defaultProtocol restarts the adapter; mapping and guard fields do not', () => {
  const d = diffConfig(
    config([A, B, C]),
    config([
      '{name: a, kind: file, file: {path: a.yaml, pollIntervalMs: 1000}, namespace: ns-a}',
      '{name: b, kind: file, file: {path: b.yaml}, namespace: ns-b, protectPercent: 80, hostTemplate: "{name}.b.mesh"}',
      '{name: c, kind: file, file: {path: c.yaml}, namespace: ns-c, defaultProtocol: HTTP}',
    ]),
  );
  assert.deepEqual(d.changed, [
    { name: 'a', fields: ['file.pollIntervalMs'], restart: true },
    { name: 'b', fields: ['hostTemplate', 'protectPercent'], restart: false },
    { name: 'c', fields: ['defaultProtocol'], restart: true },
  ]);
  assert.deepEqual(d.needsRestart, []);
  assert.match(describeDiff(d), /registry a restarted \(file\.pollIntervalMs\); registry b re-tuned \(hostTemplate, protectPercent\)/);
});

test('a registry that changes kind is restarted', () => {
  const d = diffConfig(config([A]), config(['{name: a, kind: consul, consul: {address: "http://127.0.0.1:8500"}, namespace: ns-a}']));
  assert.equal(d.changed[0]?.restart, true);
  assert.ok(d.changed[0]?.fields.includes('kind'));
});

test('conflictPolicy and log.level apply live; listen addresses, debounce, instance, log.format need a restart', () => {
  const live = diffConfig(config([A]), config([A], 'conflictPolicy: precedence\nlog: {level: debug}'));
  assert.deepEqual(live.live, ['conflictPolicy', 'log.level']);
  assert.deepEqual(live.needsRestart, []);
  const d = diffConfig(
    config([A], 'admin: {address: "127.0.0.1:15080"}'),
    config([A], 'admin: {address: "127.0.0.1:15081"}\ninstance: other\ndebounce: {quietPeriodMs: 500, maxDelayMs: 5000}', 'xds: {address: 127.0.0.1:15011}'),
  );
  assert.deepEqual(d.needsRestart, ['admin.address', 'debounce.maxDelayMs', 'debounce.quietPeriodMs', 'instance', 'sinks.xds.address']);
  assert.match(describeDiff(d), /needs a restart: admin\.address, /);
});

test('with the Kubernetes sink, a registry writing a new namespace needs a restart; one in a watched namespace does not', () => {
  const kube = 'kubernetes: {}';
  const same = diffConfig(config([A, B], '', kube), config([A, B, '{name: c, kind: file, file: {path: c.yaml}, namespace: ns-a}'], '', kube));
  assert.deepEqual(same.needsRestart, []);
  const d = diffConfig(config([A, B], '', kube), config([A, B, C], '', kube));
  assert.equal(d.needsRestart.length, 1);
  assert.match(d.needsRestart[0] ?? '', /namespaces .*ns-a,ns-b -> ns-a,ns-b,ns-c/);
  assert.deepEqual(diffConfig(config([A, B]), config([A, B, C])).needsRestart, [], 'over xDS any namespace is fine');
});

test('changedPaths: nested objects by key, arrays and scalars whole', () => {
  assert.deepEqual(changedPaths({ a: { b: 1, c: [1, 2] }, d: 'x' }, { a: { b: 1, c: [2, 1] }, e: 'y' }, ''), ['a.c', 'd', 'e']);
  assert.deepEqual(changedPaths({ a: 1 }, { a: 1 }, 'top'), []);
  assert.deepEqual(changedPaths(undefined, { a: 1 }, 'top'), ['top']);
});

test('publish is a mapping field; with the Kubernetes sink, turning Kubernetes Services on for the first registry needs a restart', () => {
  const kube = 'kubernetes: {}';
  const on = '{name: a, kind: file, file: {path: a.yaml}, namespace: ns-a, publish: {kubernetesServices: true}}';
  const first = diffConfig(config([A, B], '', kube), config([on, B], '', kube));
  assert.deepEqual(first.changed, [{ name: 'a', fields: ['publish.kubernetesServices'], restart: false }]);
  assert.equal(first.needsRestart.length, 1);
  assert.match(first.needsRestart[0] ?? '', /publish\.kubernetesServices/);
  // Another registry opting in while one already has: applied live.
  const onB = '{name: b, kind: file, file: {path: b.yaml}, namespace: ns-b, publish: {kubernetesServices: true}}';
  assert.deepEqual(diffConfig(config([on, B], '', kube), config([on, onB], '', kube)).needsRestart, []);
  // MCP only: nothing watches Services, nothing to restart.
  assert.deepEqual(diffConfig(config([A, B]), config([on, B])).needsRestart, []);
});
