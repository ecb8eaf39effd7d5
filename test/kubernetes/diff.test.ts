/**
 * `meshbridge diff` (issue 15) as a user runs it, the compiled CLI against a real kube-apiserver
 * with Istio's CRDs and a file registry: creates on a fresh cluster (exit 2), nothing after a
 * `run` synced it (exit 0), an update with the right YAML diff after a registry change, a
 * deletion, deletions the sink's guard holds, and clashes with objects Meshbridge does not own.
 * After every diff the cluster is exactly as before (same objects, same resourceVersions).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requirePeers } from '../../test-support/peers.js';
import { eventually, kube, listIstio, startKubeCluster, type KubeCluster } from '../../test-support/kube.js';
import { cli, freePort, renderedObjects, tempDir, writeConfig } from '../../test-support/cli.js';
import { writeServices, type FileService } from '../../test-support/meshbridge.js';

const skip = await requirePeers('etcd', 'kube-apiserver', 'istio-crds');
const NS = 'diff-shop';
let cluster: KubeCluster | undefined;
let dir = '';
let config = '';

function service(name: string, port: number, addresses: readonly string[]): FileService {
  return { name, namespace: NS, ports: [{ number: port, name: 'tcp', protocol: 'TCP' }], instances: addresses.map((address) => ({ address, weight: 1, labels: {} })) };
}
const REVIEWS = service('reviews', 9080, ['10.0.0.1', '10.0.0.2']);
const DETAILS = service('details', 9081, ['10.0.1.1']);
const RATINGS = service('ratings', 9082, ['10.0.2.1']);

before(async () => {
  if (skip !== undefined) return;
  cluster = await startKubeCluster({ namespaces: [NS] });
  dir = await tempDir('meshbridge-diff-');
  await writeServices(join(dir, 'services.yaml'), [REVIEWS, DETAILS, RATINGS]);
  config = await writeConfig(
    dir,
    `registries:
  - {name: files, kind: file, file: {path: services.yaml}, namespace: ${NS}}
debounce: {quietPeriodMs: 50, maxDelayMs: 500}
sinks:
  kubernetes: {kubeconfig: ${cluster.api.kubeconfigPath}, maxDeletePercent: 50}
admin: {address: ""}
log: {level: warn}
`,
  );
});

after(async () => {
  await cluster?.stop();
});

interface Report {
  changes: boolean;
  summary: Record<string, Record<string, number>> & { unchanged: number };
  held: Array<{ registry: string; kind: string; wouldDelete: number; owned: number }>;
  entries: Array<{ action: string; key: string; name: string; reason: string; claimedBy?: string; host?: string; diff?: string; object?: { metadata: { labels: Record<string, string> } } }>;
}

async function diff(json = true): Promise<{ code: number; stdout: string; stderr: string; report: Report | undefined }> {
  const p = cli(['diff', '--config', config, ...(json ? ['--output', 'json'] : [])], { MESHBRIDGE_SYNC_TIMEOUT_MS: '20000' });
  const code = await p.exit;
  const report = json && code !== 1 ? (JSON.parse(p.stdout()) as Report) : undefined;
  return { code, stdout: p.stdout(), stderr: p.stderr(), report };
}

/** Every ServiceEntry and WorkloadEntry in the namespace, name -> resourceVersion. */
async function clusterState(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const plural of ['serviceentries', 'workloadentries'] as const) {
    for (const o of await listIstio(cluster!.api, plural, NS)) out.set(`${plural}/${o.metadata.name}`, o.metadata.resourceVersion);
  }
  return out;
}

/** Runs diff and checks it changed nothing in the cluster. */
async function diffReadOnly(json = true): ReturnType<typeof diff> {
  const before = await clusterState();
  const r = await diff(json);
  assert.deepEqual(await clusterState(), before, 'diff wrote to the cluster');
  return r;
}

/** The object names `render` gives the current registry file (what run would write). */
async function rendered(): Promise<string[]> {
  const p = cli(['render', '--config', config]);
  assert.equal(await p.exit, 0, p.stderr());
  return renderedObjects(p.stdout()).map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`).sort();
}

function keys(r: Report, action: string): string[] {
  return r.entries.filter((e) => e.action === action).map((e) => e.key);
}

/** `meshbridge run` until the cluster holds exactly the rendered objects, then SIGTERM. */
async function runUntilSynced(): Promise<void> {
  const want = (await rendered()).map((k) => k.split('/')[2]).sort();
  const p = cli(['run', '--config', config]);
  try {
    await eventually(async () => {
      const have = (await listIstio(cluster!.api, 'serviceentries', NS)).map((o) => o.metadata.name).sort();
      return JSON.stringify(have) === JSON.stringify(want) ? true : undefined;
    }, 30_000, 'run wrote the rendered objects');
  } finally {
    p.child.kill('SIGTERM');
    assert.equal(await p.exit, 0, p.stderr());
  }
}

test('diff against a real API server: creates, no change, update, delete, held, clash; never writes', { skip }, async (t) => {
  await t.test('fresh cluster: every rendered object is a create, exit 2', async () => {
    const want = await rendered();
    assert.equal(want.length, 3);
    const r = await diffReadOnly();
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.report?.changes, true);
    assert.deepEqual(keys(r.report, 'create'), want);
    assert.equal(r.report?.summary['create']?.['ServiceEntry'], 3);
    assert.equal(r.report?.summary.unchanged, 0);
    assert.equal(r.report?.entries[0]?.object?.metadata.labels['meshbridge.io/instance'], 'meshbridge');
    assert.equal((await clusterState()).size, 0);
    const text = await diffReadOnly(false);
    assert.equal(text.code, 2);
    for (const k of want) assert.match(text.stdout, new RegExp(`^create ServiceEntry ${NS}/${k.split('/')[2]!.replace(/\./g, '\\.')} \\(registry files\\): not in the cluster$`, 'm'));
    assert.match(text.stdout, /^summary: 3 to create, 0 to update, 0 to delete, 0 held, 0 clashes; 0 unchanged$/m);
  });

  await t.test('after a run synced it: no changes, exit 0', async () => {
    await runUntilSynced();
    const r = await diffReadOnly();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.report?.changes, false);
    assert.deepEqual(r.report?.entries, []);
    assert.equal(r.report?.summary.unchanged, 3);
    const text = await diffReadOnly(false);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /no changes: a run would write nothing\n$/);
  });

  await t.test('a registry change: one update with the YAML diff of the changed fields only', async () => {
    await writeServices(join(dir, 'services.yaml'), [service('reviews', 9080, ['10.0.0.1', '10.0.0.9']), DETAILS, RATINGS]);
    const r = await diffReadOnly();
    assert.equal(r.code, 2, r.stderr);
    const updates = r.report!.entries.filter((e) => e.action === 'update');
    assert.equal(updates.length, 1, JSON.stringify(r.report?.entries));
    const u = updates[0]!;
    assert.match(u.key, /^ServiceEntry\/diff-shop\/reviews\./);
    assert.equal(u.reason, 'content changed');
    const d = u.diff ?? '';
    assert.match(d, /^--- live ServiceEntry diff-shop\/reviews\.\S+\n\+\+\+ meshbridge ServiceEntry diff-shop\/reviews\./);
    assert.match(d, /^-.*10\.0\.0\.2$/m);
    assert.match(d, /^\+.*10\.0\.0\.9$/m);
    assert.match(d, /^-\s+meshbridge\.io\/content-hash: /m);
    for (const server of ['resourceVersion', 'uid', 'managedFields', 'creationTimestamp', 'generation', 'status']) assert.ok(!d.includes(server), `${server} in the diff:\n${d}`);
    // Only lines that changed are - or +: the unchanged address is context.
    assert.ok(!/^[-+].*10\.0\.0\.1$/m.test(d), d);
    assert.equal(r.report?.summary.unchanged, 2);
    const text = await diffReadOnly(false);
    assert.equal(text.code, 2);
    assert.ok(text.stdout.includes(`update ServiceEntry ${u.key.slice('ServiceEntry/'.length)} (registry files): content changed\n${d}`), text.stdout);
  });

  await t.test('a service removed: its object is a delete (1 of 3, within maxDeletePercent)', async () => {
    await writeServices(join(dir, 'services.yaml'), [REVIEWS, RATINGS]);
    const r = await diffReadOnly();
    assert.equal(r.code, 2, r.stderr);
    const del = keys(r.report!, 'delete');
    assert.equal(del.length, 1);
    assert.match(del[0]!, /^ServiceEntry\/diff-shop\/details\./);
    assert.deepEqual(keys(r.report!, 'held'), []);
  });

  await t.test('two of three removed: the sink guard holds them; held alone is no change, exit 0', async () => {
    await writeServices(join(dir, 'services.yaml'), [REVIEWS]);
    const r = await diffReadOnly();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.report?.changes, false);
    assert.equal(keys(r.report, 'held').length, 2);
    assert.deepEqual(keys(r.report, 'delete'), []);
    assert.deepEqual(r.report?.held, [{ registry: 'files', kind: 'ServiceEntry', wouldDelete: 2, owned: 3 }]);
    const text = await diffReadOnly(false);
    assert.match(text.stdout, /^held {3}ServiceEntry diff-shop\/details\.\S+ \(registry files\): deletion guard: would delete 2 of 3 ServiceEntries of registry files, more than maxDeletePercent 50%/m);
  });

  await t.test('objects Meshbridge does not own: a name clash and a host clash, both left untouched', async () => {
    await writeServices(join(dir, 'services.yaml'), [REVIEWS, DETAILS, RATINGS, service('payments', 9090, ['10.0.3.1']), service('orders', 9091, ['10.0.4.1'])]);
    const names = (await rendered()).map((k) => k.split('/')[2]!);
    const payments = names.find((n) => n.startsWith('payments.'))!;
    const orders = names.find((n) => n.startsWith('orders.'))!;
    const spec = (host: string): Record<string, unknown> => ({ hosts: [host], ports: [{ number: 80, name: 'tcp', protocol: 'TCP' }], resolution: 'DNS', location: 'MESH_EXTERNAL' });
    for (const [name, host] of [[payments, 'hand-made.example'], ['hand-made-orders', orders]] as const) {
      const res = await kube(cluster!.api, 'POST', `/apis/networking.istio.io/v1/namespaces/${NS}/serviceentries`, { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name, namespace: NS, labels: { team: 'payments' } }, spec: spec(host) });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    const r = await diffReadOnly();
    // The three services are back as they are in the cluster; the two new ones clash: no write.
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.report?.changes, false);
    const clashes = r.report.entries.filter((e) => e.action === 'clash');
    assert.deepEqual(clashes.map((c) => [c.name, c.claimedBy, c.host]), [
      [orders, `ServiceEntry/${NS}/hand-made-orders`, orders],
      [payments, `ServiceEntry/${NS}/${payments}`, ''],
    ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)));
    assert.equal(r.report?.summary['clash']?.['ServiceEntry'], 2);
    // Nothing else is planned for them, and the guard no longer holds (every service is back).
    assert.deepEqual(r.report?.entries.filter((e) => e.action !== 'clash'), []);
    assert.equal(r.report?.summary.unchanged, 3);
    const text = await diffReadOnly(false);
    assert.match(text.stdout, new RegExp(`^clash  ServiceEntry ${NS}/${payments.replace(/\./g, '\\.')} \\(registry files\\): name taken by an object Meshbridge does not own; left untouched$`, 'm'));
    const hand = (await listIstio(cluster!.api, 'serviceentries', NS)).find((o) => o.metadata.name === payments);
    assert.equal(hand?.metadata.labels?.['app.kubernetes.io/managed-by'], undefined);
  });
});

test('diff lists the adoption of an object written before instances existed: only the instance label changes', { skip }, async () => {
  const legacy = service('legacy', 9095, ['10.0.5.1']);
  await writeServices(join(dir, 'services.yaml'), [REVIEWS, DETAILS, RATINGS, legacy]);
  const p = cli(['render', '--config', config]);
  assert.equal(await p.exit, 0, p.stderr());
  const obj = renderedObjects(p.stdout()).find((o) => o.metadata.name.startsWith('legacy.'))!;
  // What a Meshbridge before instances wrote: render's object (no instance label), field manager `meshbridge`.
  const path = `/apis/networking.istio.io/v1/namespaces/${NS}/serviceentries/${obj.metadata.name}?fieldManager=meshbridge&force=true`;
  const res = await kube(cluster!.api, 'PATCH', path, obj, 'application/apply-patch+yaml');
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const r = await diffReadOnly();
  assert.equal(r.code, 2, r.stderr);
  const u = r.report?.entries.find((e) => e.name === obj.metadata.name);
  assert.equal(u?.action, 'update');
  assert.match(u.reason, /^adopt an object written before instances existed/);
  const changed = (u.diff ?? '').split('\n').filter((l) => /^[-+]/.test(l) && !/^(---|\+\+\+) /.test(l));
  assert.deepEqual(changed, ['+    meshbridge.io/instance: meshbridge'], u.diff);
});

test('diff against an API server that does not answer: exit 1 with MB_DIFF_CLUSTER_READ, nothing on stdout', { skip }, async () => {
  const kc = JSON.parse(await readFile(cluster!.api.kubeconfigPath, 'utf8')) as { clusters: Array<{ cluster: { server: string } }> };
  for (const c of kc.clusters) c.cluster.server = `https://127.0.0.1:${await freePort()}`;
  const bad = await tempDir('meshbridge-diff-bad-');
  await writeFile(join(bad, 'kubeconfig.json'), JSON.stringify(kc));
  const badConfig = await writeConfig(bad, (await readFile(config, 'utf8')).replace(cluster!.api.kubeconfigPath, join(bad, 'kubeconfig.json')).replace('path: services.yaml', `path: ${join(dir, 'services.yaml')}`));
  const p = cli(['diff', '--config', badConfig, '--output', 'json']);
  assert.equal(await p.exit, 1);
  assert.match(p.stderr(), /error MB_DIFF_CLUSTER_READ: cannot list serviceentries in namespace diff-shop: /);
  assert.equal(p.stdout(), '');
});
