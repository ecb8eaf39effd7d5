/**
 * Every query of the Grafana dashboard (deploy/grafana/meshbridge.json) and of the alert rules
 * (deploy/helm/meshbridge/files/alerts.yaml) names metrics and labels a real `meshbridge run`
 * exports. The run: a file registry (one malformed instance: a problem counted by code),
 * both sinks, MCP-over-xDS on loopback (an ADS client subscribes and NACKs one response) and the
 * Kubernetes sink with leader election against a real kube-apiserver with Istio's CRDs (it
 * writes, and leads). /metrics is scraped as Prometheus would and each query is checked by
 * test-support/query-check.ts: a renamed metric or label fails this test (shown below by renaming
 * one in a copy of the dashboard). A second, MCP-only run shows what MeshbridgeNoLeader relies
 * on: without the Kubernetes sink meshbridge_kube_leader_election is 0.
 * Locally missing peers skip; with CI=true they fail.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Metrics } from '../../src/observability/metrics.js';
import { eventually, startKubeCluster, type KubeCluster } from '../../test-support/kube.js';
import { httpGet, metricSum, startMeshbridge, tempDir, writeRunConfig, type MeshbridgeProcess } from '../../test-support/meshbridge.js';
import { loadPeers, requirePeers } from '../../test-support/peers.js';
import { ALERTS_FILE, DASHBOARD_FILE } from '../../test-support/promtool.js';
import { checkQueries, dashboardQueries, metricsUsed, parseExposition, ruleQueries, type Exposition } from '../../test-support/query-check.js';
import { AdsClient } from '../../test-support/xds/adsc.js';

const skip = await requirePeers('etcd', 'kube-apiserver', 'istio-crds');
const NS = 'mesh-metrics';
const SE = 'networking.istio.io/v1/ServiceEntry';
const DEADLINE = 30_000;

let cluster: KubeCluster | undefined;
let dir: string | undefined;
let mb: MeshbridgeProcess | undefined;
let ads: AdsClient | undefined;
let scraped: string | undefined;

/** One good service and one instance Meshbridge must skip (MB_ENTRY_BAD_ADDRESS). */
const SERVICES = {
  services: [
    {
      name: 'billing',
      namespace: NS,
      ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }],
      instances: [
        { address: '10.20.0.7', weight: 1, labels: { version: 'v1' } },
        { address: 'not an address!', weight: 1, labels: {} },
      ],
    },
  ],
};

before(async () => {
  if (skip !== undefined) return;
  const peers = await loadPeers();
  cluster = await startKubeCluster({ namespaces: [NS] });
  dir = await tempDir('meshbridge-metrics-queries-');
  await writeFile(join(dir, 'services.yaml'), JSON.stringify(SERVICES));
  const [admin, xds] = await peers.freePorts(2);
  const config = await writeRunConfig(dir, {
    registries: `  - {name: files, kind: file, file: {path: services.yaml, pollIntervalMs: 1000}, namespace: ${NS}}`,
    sinks: `  xds: {address: 127.0.0.1:${xds}}
  kubernetes:
    kubeconfig: ${cluster.api.kubeconfigPath}
    leaderElection: {enabled: true, namespace: ${NS}, name: meshbridge-metrics, identity: replica-0, leaseDurationSeconds: 4, renewDeadlineSeconds: 2, retryPeriodSeconds: 1}`,
    admin: admin!,
    logLevel: 'warn',
  });
  mb = await startMeshbridge({ config, adminPort: admin! });
  // An MCP client that NACKs the first ServiceEntry response (istiod never does).
  ads = new AdsClient({ port: xds!, autoAck: false });
  ads.subscribe([SE]);
  const r = await ads.forType(SE, 0, DEADLINE);
  ads.send({ type_url: SE, response_nonce: r.nonce, version_info: '', error_detail: { code: 3, message: 'metrics test: rejected on purpose' } });
  let seen: Record<string, number> = {};
  await eventually(async () => {
    const s = await mb!.metrics();
    seen = {
      nacks: metricSum(s, 'meshbridge_xds_nacks_total', { type_url: SE }),
      applied: metricSum(s, 'meshbridge_kube_writes_total', { op: 'apply', result: 'ok' }),
      leader: metricSum(s, 'meshbridge_kube_leader'),
      problems: metricSum(s, 'meshbridge_registry_errors_total', { code: 'MB_ENTRY_BAD_ADDRESS' }),
    };
    return seen['nacks']! >= 1 && seen['applied']! >= 1 && seen['leader'] === 1 && seen['problems']! >= 1 ? true : undefined;
  }, DEADLINE, 'meshbridge NACKed, wrote to the API server, leads and reported the bad instance').catch((e: unknown) => {
    throw new Error(`${e instanceof Error ? e.message : String(e)}: ${JSON.stringify(seen)}\n${mb!.stderr().slice(-3000)}`);
  });
  const res = await httpGet(`${mb.adminUrl}/metrics`);
  assert.equal(res.status, 200);
  scraped = res.text;
});

after(async () => {
  ads?.close();
  await mb?.stop();
  await cluster?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** Label names prom-client declares per exported series name (labelled metrics may have no samples yet). */
function declaredLabels(exp: Exposition): Map<string, Set<string>> {
  // prom-client keeps each metric's labelNames on the object; its MetricObject type does not say so.
  const metrics = new Metrics().withProcessMetrics().registry.getMetricsAsArray() as unknown as { name: string; labelNames?: string[] }[];
  const byFamily = new Map(metrics.map((m) => [m.name, m.labelNames ?? []]));
  const out = new Map<string, Set<string>>();
  for (const [series, { family }] of exp.series) out.set(series, new Set(byFamily.get(family) ?? []));
  return out;
}

async function allQueries(): Promise<{ dashboard: unknown; queries: ReturnType<typeof dashboardQueries>; recorded: Set<string> }> {
  const dashboard = JSON.parse(await readFile(DASHBOARD_FILE, 'utf8')) as unknown;
  const rules = ruleQueries(parse(await readFile(ALERTS_FILE, 'utf8')));
  return { dashboard, queries: [...dashboardQueries(dashboard), ...rules.queries], recorded: rules.recorded };
}

test('every dashboard and rule query names metrics and labels that a real meshbridge run exports', { skip }, async (t) => {
  const exp = parseExposition(scraped!);
  const { queries, recorded } = await allQueries();
  assert.ok(queries.length >= 70, `${queries.length} queries`);
  const problems = checkQueries(queries, exp, { recorded, declaredLabels: declaredLabels(exp) });
  assert.deepEqual(problems, []);
  // The labels the queries group and filter by are really on the samples, not only declared.
  const samples = exp.labels;
  for (const [series, label] of [
    ['meshbridge_kube_writes_total', 'result'],
    ['meshbridge_kube_writes_total', 'kind'],
    ['meshbridge_xds_nacks_total', 'type_url'],
    ['meshbridge_registry_errors_total', 'code'],
    ['meshbridge_registry_synced', 'registry'],
    ['meshbridge_snapshot_build_duration_seconds_bucket', 'le'],
  ] as const) {
    assert.ok(samples.get(series)?.has(label), `${series} samples carry ${label}`);
  }
  const used = metricsUsed(queries);
  const unused = [...new Set([...exp.series.values()].map((v) => v.family))].filter((f) => ![...used].some((u) => u === f || u.startsWith(`${f}_`)));
  t.diagnostic(`${queries.length} queries over ${used.size} metric names; exported families not charted: ${unused.join(', ')}`);
});

test('the check fails when a metric or a label is renamed (against the same real scrape)', { skip }, async () => {
  const exp = parseExposition(scraped!);
  const text = await readFile(DASHBOARD_FILE, 'utf8');
  const renamed = JSON.parse(text.replaceAll('meshbridge_xds_nacks_total', 'meshbridge_xds_nack_total').replaceAll('by (type_url)', 'by (type)')) as unknown;
  const problems = checkQueries(dashboardQueries(renamed), exp, { declaredLabels: declaredLabels(exp) });
  assert.ok(problems.some((p) => p.includes('metric meshbridge_xds_nack_total is not exported')), problems.join('\n'));
  assert.ok(problems.some((p) => p.includes('has label type ')), problems.join('\n'));
  // A metric the exposition lacks (as after a rename in src/observability/metrics.ts) is reported too.
  const without = parseExposition(scraped!.split('\n').filter((l) => !l.includes('meshbridge_kube_leader_election')).join('\n'));
  const { queries, recorded } = await allQueries();
  const missing = checkQueries(queries, without, { recorded, declaredLabels: declaredLabels(without) });
  assert.ok(missing.some((p) => p.startsWith('rule MeshbridgeNoLeader') && p.includes('meshbridge_kube_leader_election is not exported')), missing.join('\n'));
});

test('leader election: 1 with the Kubernetes sink electing (this run), 0 on an MCP-only run', { skip }, async () => {
  assert.equal(metricSum(await mb!.metrics(), 'meshbridge_kube_leader_election'), 1);
  const peers = await loadPeers();
  const [admin, xds] = await peers.freePorts(2);
  // A folder of its own: the first run's config file is left alone.
  const own = join(dir!, 'mcp-only');
  await mkdir(own);
  await writeFile(join(own, 'services.yaml'), JSON.stringify(SERVICES));
  const config = await writeRunConfig(own, {
    registries: `  - {name: files, kind: file, file: {path: services.yaml}, namespace: ${NS}}`,
    sinks: `  xds: {address: 127.0.0.1:${xds}}`,
    admin: admin!,
    logLevel: 'warn',
  });
  const other = await startMeshbridge({ config, adminPort: admin! });
  try {
    const s = await other.metrics();
    assert.equal(metricSum(s, 'meshbridge_kube_leader_election'), 0);
    assert.equal(metricSum(s, 'meshbridge_kube_leader'), 0);
  } finally {
    await other.stop();
  }
});
