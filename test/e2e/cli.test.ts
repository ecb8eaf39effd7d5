import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { AdsClient, ISTIOD_TYPE_URLS_V1 } from '../../test-support/xds/adsc.js';
import { cli, freePort, get, tempDir, until, writeConfig, REPO } from '../../test-support/cli.js';

const SE = 'networking.istio.io/v1/ServiceEntry';
const QUIET = 100;
const MAX = 1000;

function services(ip: string): string {
  return `services:
  - name: reviews
    namespace: shop
    ports: [{number: 9080, name: http, protocol: HTTP}]
    instances:
      - {address: ${ip}, labels: {app: reviews, version: v1}}
  - name: details
    namespace: shop
    ports: [{number: 8080, name: http}]
    instances:
      - {address: 10.0.1.1}
`;
}

/** Writes atomically, as docs/file-registry.md recommends for scripted edits. */
async function writeAtomic(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}

async function setup(extra = ''): Promise<{ dir: string; config: string; xds: number; admin: number }> {
  const dir = await tempDir();
  await writeFile(join(dir, 'services.yaml'), services('10.0.0.1'));
  const xds = await freePort();
  const admin = await freePort();
  const config = await writeConfig(
    dir,
    `registries:
  - name: demo
    kind: file
    file: {path: services.yaml}
    namespace: meshbridge-e2e
debounce: {quietPeriodMs: ${QUIET}, maxDelayMs: ${MAX}}
sinks:
  xds: {address: 127.0.0.1:${xds}}
admin: {address: 127.0.0.1:${admin}}
log: {level: debug}
${extra}`,
  );
  return { dir, config, xds, admin };
}

test('run: serves MCP over xDS and admin; a file edit reaches a connected client; SIGTERM exits 0', async () => {
  const { dir, config, xds, admin } = await setup();
  const p = cli(['run', '--config', config]);
  try {
    const base = `http://127.0.0.1:${admin}`;
    await until(async () => ((await get(`${base}/readyz`)).status === 200 ? true : undefined), 15_000, '/readyz 200');
    assert.equal((await get(`${base}/healthz`)).status, 200);

    const client = new AdsClient({ port: xds });
    client.subscribe(ISTIOD_TYPE_URLS_V1);
    await client.allAnswered(ISTIOD_TYPE_URLS_V1, 10_000);
    const first = client.store.get(SE)!;
    assert.equal(first.size, 2);
    const reviews = [...first.values()].find((r) => r.name.startsWith('meshbridge-e2e/reviews'));
    assert.ok(reviews, `reviews ServiceEntry in ${[...first.keys()].join(', ')}`);
    const firstVersion = reviews.version;

    const seen = client.received.length;
    const t0 = Date.now();
    await writeAtomic(join(dir, 'services.yaml'), services('10.0.0.9'));
    const r = await client.next((x) => x.type_url === SE, seen, 10_000);
    const elapsed = Date.now() - t0;
    const updated = r.resources.find((x) => x.name === reviews.name)!;
    assert.notEqual(updated.version, firstVersion);
    assert.match(JSON.stringify(updated.body), /10\.0\.0\.9/);
    const details = r.resources.find((x) => x.name.startsWith('meshbridge-e2e/details'))!;
    assert.equal(details.version, [...first.values()].find((x) => x.name === details.name)!.version, 'unchanged service keeps its version');
    // Reported, not asserted against a clock (timing belongs to bench/): the contract is quiet+max.
    process.stdout.write(`# file edit reached the ADS client after ${elapsed} ms (quiet ${QUIET} ms, max ${MAX} ms)\n`);

    const metrics = await get(`${base}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /meshbridge_registry_services\{registry="demo"\} 2/);
    assert.match(metrics.text, /meshbridge_xds_pushes_total/);
    const registryz = JSON.parse((await get(`${base}/debug/registryz`)).text) as { name: string; services: { name: string }[] }[];
    assert.deepEqual(registryz[0]!.services.map((s) => s.name), ['details', 'reviews']);
    const snapshot = JSON.parse((await get(`${base}/debug/snapshot`)).text) as { kinds: Record<string, { resources: { version: string }[] }> };
    assert.equal(snapshot.kinds['ServiceEntry']!.resources.length, 2);
    client.close();
  } finally {
    p.child.kill('SIGTERM');
  }
  assert.equal(await p.exit, 0, p.stderr());
});

test('render: prints ServiceEntries that parse as Kubernetes objects; --out writes one file per object', async () => {
  const { config, dir } = await setup();
  const p = cli(['render', '--config', config]);
  assert.equal(await p.exit, 0, p.stderr());
  const docs = parseAllDocuments(p.stdout()).map((d) => d.toJS() as { kind: string; apiVersion: string; metadata: { labels: Record<string, string> } });
  const objs = docs.filter((d) => d !== null);
  assert.equal(objs.length, 2);
  for (const o of objs) {
    assert.equal(o.kind, 'ServiceEntry');
    assert.equal(o.apiVersion, 'networking.istio.io/v1');
    assert.equal(o.metadata.labels['app.kubernetes.io/managed-by'], 'meshbridge');
  }
  const out = join(dir, 'out');
  const q = cli(['render', '--config', config, '--out', out]);
  assert.equal(await q.exit, 0, q.stderr());
  assert.equal((await readdir(out)).filter((f) => f.endsWith('.yaml')).length, 2);
});

test('render of the bundled hostile example: bad entries are skipped with codes, the rest renders', async () => {
  const dir = await tempDir();
  const config = await writeConfig(
    dir,
    `registries:
  - {name: hostile, kind: file, file: {path: ${join(REPO, 'examples', 'hostile.yaml')}}, namespace: hostile}
sinks: {render: {}}
log: {level: warn}
`,
  );
  const p = cli(['render', '--config', config]);
  assert.equal(await p.exit, 0, p.stderr());
  assert.ok(parseAllDocuments(p.stdout()).length > 0);
  assert.match(p.stderr(), /MB_ENTRY_/);
});

test('check: reports each registry and passes; a bad config exits 2 naming the key', async () => {
  const { config, dir } = await setup();
  const ok = cli(['check', '--config', config]);
  assert.equal(await ok.exit, 0, ok.stderr());
  assert.match(ok.stdout(), /registry demo \(file\): ok, 2 services, 2 endpoints/);
  assert.match(ok.stdout(), /check passed/);

  const bad = await writeConfig(dir, `registries:\n  - {name: demo, kind: file, file: {pathh: x.yaml}, namespace: a}\nsinks: {render: {}}\n`);
  const b = cli(['check', '--config', bad]);
  assert.equal(await b.exit, 2);
  assert.match(b.stderr(), /MB_CONFIG_INVALID/);
  assert.match(b.stderr(), /registries\[0\]\.file/);

  const missing = await writeConfig(dir, `registries:\n  - {name: demo, kind: file, file: {path: nowhere.yaml}, namespace: a}\nsinks: {render: {}}\n`);
  const m = cli(['check', '--config', missing], { MESHBRIDGE_SYNC_TIMEOUT_MS: '1500' });
  assert.equal(await m.exit, 1);
  assert.match(m.stdout(), /NOT SYNCED/);
  assert.match(m.stdout(), /MB_SOURCE_READ/);
});

test('--version and --help', async () => {
  const v = cli(['--version']);
  assert.equal(await v.exit, 0);
  const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
  assert.equal(v.stdout().trim(), `meshbridge ${pkg.version}`);
  const h = cli(['--help']);
  assert.equal(await h.exit, 0);
  assert.match(h.stdout(), /meshbridge run/);
  const u = cli(['frobnicate']);
  assert.equal(await u.exit, 2);
});
