/**
 * Meshbridge's alert rules (deploy/helm/meshbridge/files/alerts.yaml) with Prometheus's own
 * promtool (test-support/peers/peers.d/promtool.sh): `promtool check rules` accepts the file,
 * `promtool test rules` passes the unit tests of test/deploy/alerts.rules-test.yaml (each alert
 * fired and not fired, exact labels and annotations) and fails on mutated rules; every alert has a
 * severity, a summary, a description and a runbook_url naming its section of docs/runbooks.md.
 * The chart (real helm) renders the same rules as a PrometheusRule only when prometheusRule.enabled,
 * with the job and runbook base filled in, and promtool accepts what it rendered.
 * Locally a missing promtool or helm skips; with CI=true it fails.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { cleanupHelm, findObject, renderChart, requireHelm, type K8sObject } from '../../test-support/helm.js';
import { REPO } from '../../test-support/paths.js';
import { ALERTS_FILE, promtool, requirePromtool } from '../../test-support/promtool.js';

const RULES_TEST = join(REPO, 'test', 'deploy', 'alerts.rules-test.yaml');
const RUNBOOKS = join(REPO, 'docs', 'runbooks.md');
const noPromtool = requirePromtool();
const noHelm = requireHelm();
after(cleanupHelm);

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
interface RulesTest {
  rule_files: string[];
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[]; promql_expr_test?: { expr: string }[] }[];
}

const rulesText = await readFile(ALERTS_FILE, 'utf8');
const ruleFile = parse(rulesText) as RuleFile;
const allRules = ruleFile.groups.flatMap((g) => g.rules);
const alerts = allRules.filter((r) => r.alert !== undefined);
const records = allRules.filter((r) => r.record !== undefined);

let work: string | undefined;
after(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});
async function workDir(): Promise<string> {
  work ??= await mkdtemp(join(tmpdir(), 'meshbridge-alerts-'));
  return work;
}

test('promtool check rules accepts the rule file and counts every rule', { skip: noPromtool }, async () => {
  const r = await promtool(['check', 'rules', ALERTS_FILE]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`SUCCESS: ${allRules.length} rules found`));
  assert.ok(alerts.length >= 9 && records.length >= 1, `${alerts.length} alerts, ${records.length} recording rules`);
});

test('promtool test rules: every alert fires and stays quiet as the unit tests expect', { skip: noPromtool }, async () => {
  const r = await promtool(['test', 'rules', RULES_TEST]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS/);
});

test('the unit tests cover every alert (firing and quiet) and every recording rule', async () => {
  const t = parse(await readFile(RULES_TEST, 'utf8')) as RulesTest;
  assert.deepEqual(t.rule_files, ['../../deploy/helm/meshbridge/files/alerts.yaml']);
  const cases = t.tests.flatMap((g) => g.alert_rule_test ?? []);
  for (const a of alerts) {
    const mine = cases.filter((c) => c.alertname === a.alert);
    assert.ok(mine.some((c) => c.exp_alerts.length > 0), `${a.alert}: no test case where it fires`);
    assert.ok(mine.some((c) => c.exp_alerts.length === 0), `${a.alert}: no test case where it stays quiet`);
  }
  const exprs = t.tests.flatMap((g) => g.promql_expr_test ?? []).map((e) => e.expr);
  for (const r of records) assert.ok(exprs.some((e) => e.includes(r.record!)), `recording rule ${r.record}: no promql_expr_test`);
});

/** A copy of the rules with `from` replaced by `to`, beside a copy of the unit tests; resolves with the test file. */
async function mutated(name: string, from: string, to: string): Promise<string> {
  assert.ok(rulesText.includes(from), `mutation ${name}: ${JSON.stringify(from)} is not in the rules`);
  const dir = join(await workDir(), name);
  await mkdir(join(dir, 'deploy', 'helm', 'meshbridge', 'files'), { recursive: true });
  await mkdir(join(dir, 'test', 'deploy'), { recursive: true });
  await writeFile(join(dir, 'deploy', 'helm', 'meshbridge', 'files', 'alerts.yaml'), rulesText.replace(from, to));
  await writeFile(join(dir, 'test', 'deploy', 'alerts.rules-test.yaml'), await readFile(RULES_TEST));
  return join(dir, 'test', 'deploy', 'alerts.rules-test.yaml');
}

test('the unit tests fail on mutated rules (they can catch a wrong threshold, window, guard or label)', { skip: noPromtool }, async () => {
  const mutations: [string, string, string, RegExp][] = [
    ['stale-threshold', 'max by (namespace, job, registry) (meshbridge_registry_stale) == 1', 'max by (namespace, job, registry) (meshbridge_registry_stale) >= 0', /MeshbridgeRegistryStale/],
    ['leader-guard', 'max by (namespace, job) (meshbridge_kube_leader_election) == 1', 'max by (namespace, job) (meshbridge_kube_leader_election) >= 0', /MeshbridgeNoLeader/],
    ['held-window', 'increase(meshbridge_protect_held_total[15m])', 'increase(meshbridge_protect_held_total[3m])', /MeshbridgeDeletionsHeld/],
    ['latency-threshold', 'namespace_job:meshbridge_xds_push_duration_seconds:p99 > 0.1', 'namespace_job:meshbridge_xds_push_duration_seconds:p99 > 0.6', /MeshbridgeXdsPushLatencyHigh/],
    ['write-label', 'sum by (namespace, job, op, kind) (increase(meshbridge_kube_writes_total{result="error"}', 'sum by (namespace, job, op) (increase(meshbridge_kube_writes_total{result="error"}', /MeshbridgeKubeWriteFailures/],
    ['down-for', 'expr: up{job="meshbridge"} == 0\n        for: 5m', 'expr: up{job="meshbridge"} == 0\n        for: 1m', /MeshbridgeDown/],
  ];
  for (const [name, from, to, alert] of mutations) {
    const r = await promtool(['test', 'rules', await mutated(name, from, to)]);
    assert.notEqual(r.code, 0, `mutation ${name} passed the unit tests:\n${r.stdout}`);
    assert.match(r.stdout + r.stderr, alert, `mutation ${name}`);
  }
  const broken = await mutated('syntax', 'sum by (namespace, job, type_url)', 'sum by (namespace, job, type_url');
  const c = await promtool(['check', 'rules', join(broken, '..', '..', '..', 'deploy', 'helm', 'meshbridge', 'files', 'alerts.yaml')]);
  assert.notEqual(c.code, 0, 'check rules accepted a broken expression');
});

test('every alert has a severity, summary, description and a runbook_url to its own section of docs/runbooks.md', async () => {
  const runbooks = await readFile(RUNBOOKS, 'utf8');
  const headings = new Set([...runbooks.matchAll(/^## (\S+)\s*$/gm)].map((m) => m[1]!));
  for (const a of alerts) {
    assert.ok(['warning', 'critical'].includes(a.labels?.['severity'] ?? ''), `${a.alert}: severity ${a.labels?.['severity']}`);
    for (const k of ['summary', 'description', 'runbook_url']) assert.ok((a.annotations?.[k] ?? '').length > 10, `${a.alert}: annotation ${k}`);
    assert.equal(a.annotations?.['runbook_url'], `docs/runbooks.md#${a.alert!.toLowerCase()}`, `${a.alert}: runbook_url`);
    assert.ok(headings.has(a.alert!), `docs/runbooks.md has no section "## ${a.alert}"`);
  }
  const extra = [...headings].filter((h) => /^Meshbridge[A-Z]/.test(h) && !alerts.some((a) => a.alert === h));
  assert.deepEqual(extra, [], 'runbook sections for alerts that do not exist');
});

/** The rules as the chart renders them for release `mb`: the job and (optionally) the runbook base replaced. */
function expectedSpec(job: string, runbookBase?: string): RuleFile {
  let text = rulesText.replaceAll('job="meshbridge"', `job="${job}"`);
  if (runbookBase !== undefined) text = text.replaceAll('docs/runbooks.md#', `${runbookBase}#`);
  return parse(text) as RuleFile;
}

test('the chart renders no PrometheusRule by default', { skip: noHelm }, async () => {
  const objects = await renderChart({});
  assert.equal(objects.filter((o) => o.kind === 'PrometheusRule').length, 0);
});

test('prometheusRule.enabled renders the rule file as a PrometheusRule that promtool accepts', { skip: noHelm ?? noPromtool }, async () => {
  const objects = await renderChart({ prometheusRule: { enabled: true, labels: { release: 'kube-prometheus-stack' }, annotations: { team: 'mesh' } } });
  const rule = findObject(objects, 'PrometheusRule', 'mb-meshbridge', 'meshbridge') as K8sObject & { spec: RuleFile };
  assert.equal(rule.apiVersion, 'monitoring.coreos.com/v1');
  assert.equal(rule.metadata.labels?.['release'], 'kube-prometheus-stack');
  assert.equal(rule.metadata.labels?.['app.kubernetes.io/instance'], 'mb');
  assert.equal(rule.metadata.annotations?.['team'], 'mesh');
  // The ServiceMonitor's job is the Service name: the release fullname.
  assert.equal(findObject(objects, 'Service').metadata.name, 'mb-meshbridge');
  assert.deepEqual(rule.spec, expectedSpec('mb-meshbridge'));
  const file = join(await workDir(), 'rendered-rules.yaml');
  await writeFile(file, stringify(rule.spec));
  const r = await promtool(['check', 'rules', file]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`SUCCESS: ${allRules.length} rules found`));
});

test('prometheusRule.job and runbookBaseUrl replace the job and the runbook base', { skip: noHelm }, async () => {
  const base = 'https://git.example.com/mesh/meshbridge/blob/main/docs/runbooks.md';
  const objects = await renderChart({ prometheusRule: { enabled: true, job: 'meshbridge-prod', runbookBaseUrl: base } }, { release: 'prod', namespace: 'mesh' });
  const rule = findObject(objects, 'PrometheusRule', 'prod-meshbridge', 'mesh') as K8sObject & { spec: RuleFile };
  assert.deepEqual(rule.spec, expectedSpec('meshbridge-prod', base));
  const down = rule.spec.groups.flatMap((g) => g.rules).find((r) => r.alert === 'MeshbridgeDown');
  assert.equal(down?.expr, 'up{job="meshbridge-prod"} == 0');
  assert.equal(down?.annotations?.['runbook_url'], `${base}#meshbridgedown`);
});
