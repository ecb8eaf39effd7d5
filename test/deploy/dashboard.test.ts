/**
 * The Grafana dashboard (deploy/grafana/meshbridge.json): importable as it is (no __inputs to
 * fill: the data source is the `datasource` variable), every panel and query on ${datasource},
 * namespace/pod/registry variables applied to every query, a sane grid, and every query valid
 * PromQL to Prometheus's own parser (promtool check rules over the queries with Grafana's
 * variables filled in). The chart ships the same file as a ConfigMap for Grafana's dashboard
 * sidecar only when grafanaDashboard.enabled. Whether the queries' metrics exist is
 * metrics-queries.test.ts. Locally a missing promtool or helm skips; with CI=true it fails.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Metrics } from '../../src/observability/metrics.js';
import { cleanupHelm, dataOf, findObject, renderChart, requireHelm } from '../../test-support/helm.js';
import { extractRefs } from '../../test-support/promql.js';
import { CHART_DASHBOARD_FILE, DASHBOARD_FILE, promtool, requirePromtool } from '../../test-support/promtool.js';
import { dashboardQueries, metricsUsed } from '../../test-support/query-check.js';

const noPromtool = requirePromtool();
const noHelm = requireHelm();
after(cleanupHelm);

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { expr: string; refId: string; datasource?: { uid: string } }[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query?: unknown;
  datasource?: { uid: string };
  includeAll?: boolean;
  allValue?: string;
}
interface Dashboard {
  uid: string;
  title: string;
  id: unknown;
  schemaVersion: number;
  __inputs?: unknown;
  templating: { list: Variable[] };
  panels: Panel[];
}

const text = await readFile(DASHBOARD_FILE, 'utf8');
const dashboard = JSON.parse(text) as Dashboard;
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);

test('the chart carries the same dashboard file byte for byte', async () => {
  assert.equal(await readFile(CHART_DASHBOARD_FILE, 'utf8'), text, 'deploy/helm/meshbridge/files/dashboards/meshbridge.json differs: copy deploy/grafana/meshbridge.json over it');
});

test('importable: fixed uid, no id, no __inputs; the data source is a variable every panel and query uses', () => {
  assert.equal(dashboard.uid, 'meshbridge');
  assert.equal(dashboard.title, 'Meshbridge');
  assert.equal(dashboard.id, null);
  assert.equal(dashboard.__inputs, undefined);
  assert.ok(dashboard.schemaVersion >= 36);
  const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
  assert.equal(vars.get('datasource')?.type, 'datasource');
  assert.equal(vars.get('datasource')?.query, 'prometheus');
  for (const name of ['namespace', 'pod', 'registry']) {
    const v = vars.get(name);
    assert.equal(v?.type, 'query', name);
    assert.equal(v?.datasource?.uid, '${datasource}', name);
    assert.equal(v?.includeAll, true, name);
    assert.equal(v?.allValue, '.*', name);
  }
  for (const p of panels) {
    if (p.type === 'row') continue;
    assert.equal(p.datasource?.uid, '${datasource}', `panel ${p.title}`);
    assert.ok((p.targets ?? []).length > 0, `panel ${p.title} has no query`);
    for (const t of p.targets ?? []) assert.equal(t.datasource?.uid, '${datasource}', `panel ${p.title} ${t.refId}`);
  }
});

test('unique panel ids, refIds unique per panel, and a grid without overlaps inside 24 columns', () => {
  const ids = panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'duplicate panel ids');
  const cells = new Set<string>();
  for (const p of panels) {
    const g = p.gridPos;
    assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0, `panel ${p.title}: gridPos ${JSON.stringify(g)}`);
    const refs = (p.targets ?? []).map((t) => t.refId);
    assert.equal(new Set(refs).size, refs.length, `panel ${p.title}: duplicate refIds`);
    for (let x = g.x; x < g.x + g.w; x++) {
      for (let y = g.y; y < g.y + g.h; y++) {
        assert.ok(!cells.has(`${x},${y}`), `panel ${p.title} overlaps another at ${x},${y}`);
        cells.add(`${x},${y}`);
      }
    }
  }
});

test('every query filters on $namespace and $pod, and on $registry where the metric has a registry label', () => {
  const registryLabelled = new Set(
    (new Metrics().registry.getMetricsAsArray() as unknown as { name: string; labelNames?: string[] }[]).filter((m) => m.labelNames?.includes('registry')).map((m) => m.name),
  );
  assert.ok(registryLabelled.has('meshbridge_registry_synced'));
  for (const q of dashboardQueries(dashboard)) {
    for (const s of extractRefs(q.expr).selectors) {
      const labels = new Map(s.matchers.map((m) => [m.label, m]));
      const needed = q.where.startsWith('variable $namespace') ? [] : q.where.startsWith('variable $pod') ? ['namespace'] : ['namespace', 'pod'];
      if (registryLabelled.has(s.name ?? '') && !q.where.startsWith('variable')) needed.push('registry');
      for (const l of needed) {
        assert.equal(labels.get(l)?.op, '=~', `${q.where}: ${s.name} does not filter ${l}`);
        assert.equal(labels.get(l)?.value, `$${l}`, `${q.where}: ${s.name} filters ${l} on ${labels.get(l)?.value}`);
      }
    }
  }
});

test('the dashboard charts what the task asks for: registry state, guard, problems, latency, xDS, Kubernetes, leader, process', () => {
  const used = metricsUsed(dashboardQueries(dashboard));
  for (const m of [
    'meshbridge_registry_synced',
    'meshbridge_registry_stale',
    'meshbridge_registry_services',
    'meshbridge_registry_endpoints',
    'meshbridge_protect_held_services',
    'meshbridge_protect_held_endpoints',
    'meshbridge_registry_errors_total',
    'meshbridge_entries_skipped_total',
    'meshbridge_snapshot_build_duration_seconds_bucket',
    'meshbridge_xds_connected_clients',
    'meshbridge_xds_nacks_total',
    'meshbridge_xds_pushes_deferred_total',
    'meshbridge_xds_push_duration_seconds_bucket',
    'meshbridge_xds_push_bytes_total',
    'meshbridge_kube_writes_total',
    'meshbridge_kube_leader',
    'meshbridge_process_resident_memory_bytes',
    'meshbridge_process_cpu_seconds_total',
  ]) {
    assert.ok(used.has(m), `the dashboard has no query on ${m}`);
  }
});

/** Grafana's variables as Prometheus would see them after interpolation. */
function interpolate(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$__interval', '30s').replace(/\$\{?[A-Za-z_]\w*(?::\w+)?\}?/g, '.*');
}

test('every dashboard query is valid PromQL to promtool (as recording rules, variables filled in)', { skip: noPromtool }, async () => {
  const queries = dashboardQueries(dashboard);
  const rules = { groups: [{ name: 'dashboard', rules: queries.map((q, i) => ({ record: `dashboard:query:${i}`, expr: interpolate(q.expr) })) }] };
  const dir = await mkdtemp(join(tmpdir(), 'meshbridge-dashboard-'));
  try {
    const file = join(dir, 'dashboard-queries.yaml');
    await writeFile(file, stringify(rules));
    const r = await promtool(['check', 'rules', file]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`SUCCESS: ${queries.length} rules found`));
    // ... and promtool does refuse a broken one, so the check above means something.
    await writeFile(file, stringify({ groups: [{ name: 'broken', rules: [{ record: 'x:y:z', expr: interpolate('sum by (pod (meshbridge_snapshot_version{pod=~"$pod"})') }] }] }));
    assert.notEqual((await promtool(['check', 'rules', file])).code, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the chart renders the dashboard ConfigMap for Grafana\'s sidecar only when grafanaDashboard.enabled', { skip: noHelm }, async () => {
  const off = await renderChart({});
  assert.equal(off.filter((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-dashboard')).length, 0);
  const on = await renderChart({ grafanaDashboard: { enabled: true, annotations: { grafana_folder: 'Meshbridge' } } });
  const cm = findObject(on, 'ConfigMap', 'mb-meshbridge-dashboard', 'meshbridge');
  assert.equal(cm.metadata.labels?.['grafana_dashboard'], '1');
  assert.equal(cm.metadata.annotations?.['grafana_folder'], 'Meshbridge');
  assert.deepEqual(JSON.parse(dataOf(cm)['meshbridge.json'] ?? ''), dashboard);
  const elsewhere = await renderChart({ grafanaDashboard: { enabled: true, namespace: 'monitoring', labels: { grafana_dashboard: 'yes' } } });
  const cm2 = findObject(elsewhere, 'ConfigMap', 'mb-meshbridge-dashboard', 'monitoring');
  assert.equal(cm2.metadata.labels?.['grafana_dashboard'], 'yes');
});
