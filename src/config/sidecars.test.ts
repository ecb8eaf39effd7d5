import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, MeshbridgeError } from '../errors/index.js';
import { diffConfig } from './diff.js';
import { parseConfig } from './load.js';
import { conversionOptionsFor, kubernetesSinkSettings } from './options.js';

const zk = (sidecars: string): string => `
registries:
  - name: dubbo
    kind: zookeeper
    zookeeper: {servers: "127.0.0.1:2181"}
    namespace: dubbo
${sidecars}
sinks: {kubernetes: {}}
`;

function problemsOf(text: string): Map<string, string> {
  try {
    parseConfig(text, { env: {} });
  } catch (e) {
    assert.ok(e instanceof MeshbridgeError);
    assert.equal(e.code, ErrorCode.CONFIG_INVALID);
    return new Map(((e.details?.['problems'] ?? []) as Array<{ path: string; message: string }>).map((p) => [p.path, p.message]));
  }
  return assert.fail('expected MB_CONFIG_INVALID');
}

test('sidecars: off by default; an empty block takes the defaults; conversion and the Kubernetes sink see it', () => {
  const off = parseConfig(zk(''), { env: {} });
  assert.equal(off.registries[0]?.sidecars, undefined);
  assert.equal(conversionOptionsFor(off.registries[0]!).sidecars, undefined);
  assert.equal(off.sinks.kubernetes && kubernetesSinkSettings(off, off.sinks.kubernetes, 'me').sidecars, false);
  const on = parseConfig(zk('    sidecars: {}'), { env: {} });
  assert.deepEqual(on.registries[0]?.sidecars, { namespace: undefined, namespaces: {}, workloadLabels: { app: '{application}' }, alwaysInclude: ['istio-system/*'] });
  const set = parseConfig(zk('    sidecars: {namespace: shop, namespaces: {billing: bills}}'), { env: {} });
  assert.deepEqual(conversionOptionsFor(set.registries[0]!).sidecars?.namespaces, { billing: 'bills' });
  const k = kubernetesSinkSettings(set, set.sinks.kubernetes!, 'me');
  assert.equal(k.sidecars, true);
  assert.deepEqual(k.namespaces, ['bills', 'dubbo', 'shop'], 'the sink writes and prunes where the Sidecars go');
  // Turning sidecars on, or moving their namespaces, needs a restart (the sink watches a fixed set).
  const d = diffConfig(off, set);
  assert.ok(d.needsRestart.some((m) => m.includes('bills,dubbo,shop')), d.needsRestart.join('\n'));
  assert.ok(d.needsRestart.some((m) => m.includes('sidecars on a first registry')), d.needsRestart.join('\n'));
});

test('sidecars: only on kinds that report consumers; bad namespaces, label keys, templates and egress hosts are refused', () => {
  const file = problemsOf(`
registries:
  - {name: f, kind: file, file: {path: s.yaml}, namespace: demo, sidecars: {namespace: shop}}
sinks: {render: {}}
`);
  assert.match(file.get('registries[0].sidecars') ?? '', /a file registry does not report consumers; sidecars needs one that does \(zookeeper\)/);
  const bad = problemsOf(zk('    sidecars: {namespace: Shop_1, namespaces: {web: "a b"}, workloadLabels: {"bad key!": x, app: "{app}"}, alwaysInclude: ["istio-system"], extra: 1}'));
  assert.match(bad.get('registries[0].sidecars.namespace') ?? '', /DNS label/);
  assert.match(bad.get('registries[0].sidecars.namespaces.web') ?? '', /DNS label/);
  assert.ok([...bad.keys()].some((k) => k.startsWith('registries[0].sidecars.workloadLabels')), [...bad.keys()].join(', '));
  assert.ok([...bad.keys()].some((k) => k.startsWith('registries[0].sidecars.alwaysInclude')), [...bad.keys()].join(', '));
  assert.ok([...bad.keys()].some((k) => k.startsWith('registries[0].sidecars')), [...bad.keys()].join(', '));
  const placeholder = problemsOf(zk('    sidecars: {workloadLabels: {app: "{app}"}}'));
  assert.match(placeholder.get('registries[0].sidecars.workloadLabels.app') ?? '', /unknown placeholder \{app\}: only \{application\} is known/);
});

test('sidecars on reload: turning them on restarts the registry (it watches consumers then); changing their settings is applied live', () => {
  const off = parseConfig(zk(''), { env: {} });
  const on = parseConfig(zk('    sidecars: {namespace: shop}'), { env: {} });
  const moved = parseConfig(zk('    sidecars: {namespace: shop, workloadLabels: {app.kubernetes.io/name: "{application}"}, alwaysInclude: ["./*"]}'), { env: {} });
  assert.deepEqual(diffConfig(off, on).changed, [{ name: 'dubbo', fields: ['sidecars'], restart: true }]);
  assert.deepEqual(diffConfig(on, off).changed, [{ name: 'dubbo', fields: ['sidecars'], restart: true }]);
  const d = diffConfig(on, moved);
  assert.deepEqual(d.changed, [{ name: 'dubbo', fields: ['sidecars.alwaysInclude', 'sidecars.workloadLabels.app', 'sidecars.workloadLabels.app.kubernetes.io/name'], restart: false }]);
  assert.deepEqual(d.needsRestart, []);
});
