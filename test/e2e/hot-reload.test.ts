import assert from 'node:assert/strict';
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, until } from '../../test-support/cli.js';
import {
  httpGet,
  metricSum,
  replaceFile,
  runConfigText,
  startMeshbridge,
  tempDir,
  writeServices,
  type FileService,
  type MeshbridgeProcess,
  type RunConfig,
} from '../../test-support/meshbridge.js';
import { AdsClient, ISTIOD_TYPE_URLS_V1, sleep } from '../../test-support/xds/adsc.js';

// Config hot reload (issue 15, ADR 0017) on a real `meshbridge run` with the MCP sink: an
// istiod-like ADS client keeps one stream open while the config changes under it.

const SE = 'networking.istio.io/v1/ServiceEntry';
const RELOADS = 'meshbridge_config_reloads_total';

function services(registry: string, n: number, base: number): FileService[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `${registry}-svc${i}`,
    namespace: 'default',
    ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }],
    instances: [{ address: `127.0.${base}.${i + 1}`, weight: 1, labels: {} }],
  }));
}

/** A file registry entry (YAML list item) for `<dir>/<name>.yaml`. */
function fileRegistry(dir: string, name: string, extra = ''): string {
  return `  - {name: ${name}, kind: file, namespace: demo, file: {path: ${join(dir, `${name}.yaml`)}${extra}}}`;
}

interface Rig {
  readonly dir: string;
  readonly config: string;
  readonly mb: MeshbridgeProcess;
  readonly ads: AdsClient;
  readonly base: (registries: string, extra?: Partial<RunConfig>) => string;
}

/** meshbridge run over `registries` with an ADS client subscribed to istiod's types. */
async function rig(registries: (dir: string) => string, layout: (dir: string, text: string) => Promise<string>): Promise<Rig> {
  const dir = await tempDir('meshbridge-reload-');
  for (const [name, base] of [['a', 1], ['b', 2], ['c', 3]] as const) await writeServices(join(dir, `${name}.yaml`), services(name, 2, base));
  const [xds, admin] = [await freePort(), await freePort()];
  const base = (regs: string, extra: Partial<RunConfig> = {}): string =>
    runConfigText({ registries: regs, sinks: `  xds: {address: 127.0.0.1:${xds}}`, admin, debounce: { quietPeriodMs: 50, maxDelayMs: 500 }, ...extra });
  const config = await layout(dir, base(registries(dir)));
  const mb = await startMeshbridge({ config, adminPort: admin });
  const ads = new AdsClient({ port: xds });
  ads.subscribe(ISTIOD_TYPE_URLS_V1);
  await ads.allAnswered(ISTIOD_TYPE_URLS_V1);
  return { dir, config, mb, ads, base };
}

/** Names of the ServiceEntries the ADS client holds -> their versions. */
function held(ads: AdsClient): Map<string, string> {
  return new Map([...(ads.store.get(SE)?.values() ?? [])].map((r) => [r.name, r.version]));
}

function ofRegistry(ads: AdsClient, registry: string): string[] {
  return [...held(ads).keys()].filter((n) => n.includes(`${registry}-svc`)).sort();
}

/** Waits until `cond` holds (polled every 50 ms). */
async function holds(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  await until(() => Promise.resolve(cond() ? true : undefined), timeoutMs, what);
}

async function reloads(mb: MeshbridgeProcess, result: string): Promise<number> {
  return metricSum(await mb.metrics(), RELOADS, { result });
}

async function waitReloads(mb: MeshbridgeProcess, result: string, n: number): Promise<void> {
  await until(async () => ((await reloads(mb, result)) >= n ? true : undefined), 10_000, `${n} reload(s) with result ${result}`);
}

/** The ids of the ADS streams Meshbridge serves (/debug/xds). */
async function streamIds(mb: MeshbridgeProcess): Promise<string[]> {
  const d = (await mb.debug('xds')) as { clients: { id: string }[] };
  return d.clients.map((c) => String(c.id));
}

test('reload over one open ADS stream: add, re-tune, remove (guarded), invalid, needs-restart, SIGHUP', async (t) => {
  const r = await rig(
    (dir) => fileRegistry(dir, 'a'),
    async (dir, text) => {
      const p = join(dir, 'meshbridge.yaml');
      await writeFile(p, text);
      return p;
    },
  );
  const { dir, config, mb, ads, base } = r;
  t.after(async () => {
    ads.close();
    await mb.stop();
  });
  let streamEnded = false;
  void ads.ended.then(() => (streamEnded = true));
  assert.deepEqual(ofRegistry(ads, 'a').length, 2);
  const stream = await streamIds(mb);
  assert.equal(stream.length, 1);
  const aVersions = new Map([...held(ads)].filter(([n]) => n.includes('a-svc')));
  // Every ServiceEntry response from here on: how many of a's it lists (a must never flap out).
  const aCounts: number[] = [];
  const seen = ads.received.length;

  await t.test('a registry added by rewriting the config (rename) appears on the same stream', async () => {
    await replaceFile(config, base(`${fileRegistry(dir, 'a')}\n${fileRegistry(dir, 'b')}`));
    await holds(() => ofRegistry(ads, 'b').length === 2, 10_000, "b's services on the stream");
    assert.equal(await reloads(mb, 'applied'), 1);
    assert.deepEqual(await streamIds(mb), stream, 'the same stream, no reconnect');
    for (const [name, v] of aVersions) assert.equal(held(ads).get(name), v, `${name} not re-versioned`);
    await holds(() => /config reloaded: registries added: b/.test(mb.stderr()), 10_000, 'logged: config reloaded: registries added: b/');
  });

  await t.test('a re-tuned registry restarts alone; its unchanged services are not re-sent', async () => {
    const updates = ads.updates.get(SE) ?? 0;
    const from = ads.received.length;
    await replaceFile(config, base(`${fileRegistry(dir, 'a', ', pollIntervalMs: 700')}\n${fileRegistry(dir, 'b')}`));
    await waitReloads(mb, 'applied', 2);
    await holds(() => /registry a restarted \(file\.pollIntervalMs\)/.test(mb.stderr()), 10_000, 'logged: registry a restarted \\(file\\.pollInterv');
    // The restarted adapter syncs within a debounce or two; give it time to push anything it would.
    // The new adapter's first sync replaces the stand-in (its predecessor's view).
    await holds(() => /"registry":"a".*its own view replaces the checkpoint or stand-in/.test(mb.stderr()), 10_000, 'the restarted a synced');
    await sleep(1000); // time for anything it would push
    assert.equal(ads.updates.get(SE) ?? 0, updates, 'no ServiceEntry got a new version');
    for (const resp of ads.received.slice(from).filter((x) => x.type_url === SE)) assert.equal(resp.resources.length, 4, 'nothing flapped out meanwhile');
    assert.deepEqual(await streamIds(mb), stream);
  });

  await t.test('a removed registry leaves through its deletion guard: held, then gone on release', async () => {
    await replaceFile(config, base(fileRegistry(dir, 'a', ', pollIntervalMs: 700')));
    await waitReloads(mb, 'applied', 3);
    await holds(() => /registries removed: b/.test(mb.stderr()), 10_000, 'logged: registries removed: b/');
    await sleep(500);
    assert.equal(ofRegistry(ads, 'b').length, 2, "b lost 100 % of its services: the guard holds them");
    const guard = (await mb.debug('protect')) as { guard: { registry: string; hold?: unknown }[] };
    assert.ok(guard.guard.find((g) => g.registry === 'b')?.hold !== undefined, JSON.stringify(guard));
    const rel = await fetch(`${mb.adminUrl}/debug/release?registry=b`, { method: 'POST' });
    assert.equal(rel.status, 200);
    await holds(() => ofRegistry(ads, 'b').length === 0, 10_000, "b's services gone");
    assert.equal(ofRegistry(ads, 'a').length, 2);
    assert.deepEqual(await streamIds(mb), stream);
  });

  await t.test('an invalid config is reported with its code and counted; the old one keeps serving', async () => {
    await replaceFile(config, base(fileRegistry(dir, 'a'), { debounce: { quietPeriodMs: 500, maxDelayMs: 100 } }).replace('registries:', 'registries:\n  - {name: Bad_Name, kind: file}'));
    await waitReloads(mb, 'invalid', 1);
    await holds(() => /"code":"MB_CONFIG_INVALID".*config reload failed/.test(mb.stderr()), 10_000, 'logged: "code":"MB_CONFIG_INVALID".*config relo');
    assert.equal((await httpGet(`${mb.adminUrl}/readyz`)).status, 200);
    await writeServices(join(dir, 'a.yaml'), services('a', 3, 1)); // the running pipeline still follows a
    await holds(() => ofRegistry(ads, 'a').length === 3, 10_000, "a's third service");
  });

  await t.test('a field only a restart applies: reported with MB_CONFIG_RESTART_REQUIRED, nothing applied', async () => {
    const other = await freePort();
    await replaceFile(config, base(`${fileRegistry(dir, 'a', ', pollIntervalMs: 700')}\n${fileRegistry(dir, 'c')}`, { admin: other }));
    await waitReloads(mb, 'restart_required', 1);
    await holds(() => /"code":"MB_CONFIG_RESTART_REQUIRED".*admin\.address needs a restart/.test(mb.stderr()), 10_000, 'logged: "code":"MB_CONFIG_RESTART_REQUIRED".*ad');
    await sleep(500);
    assert.equal(ofRegistry(ads, 'c').length, 0, 'the registry added in the same edit is not applied either');
  });

  await t.test('SIGHUP reloads too', async () => {
    await replaceFile(config, base(`${fileRegistry(dir, 'a', ', pollIntervalMs: 700')}\n${fileRegistry(dir, 'c')}`));
    await holds(() => ofRegistry(ads, 'c').length === 2, 10_000, "c's services");
    const before = await reloads(mb, 'unchanged');
    mb.child.kill('SIGHUP');
    await waitReloads(mb, 'unchanged', before + 1);
    // The counter moves before the log line crosses the pipe (pino writes asynchronously).
    await holds(() => /"trigger":"signal".*config reload: no change/.test(mb.stderr()), 10_000, 'the SIGHUP reload logged');
    assert.ok(mb.running(), 'SIGHUP does not end the process');
  });

  for (const resp of ads.received.slice(seen).filter((x) => x.type_url === SE)) aCounts.push(resp.resources.filter((x) => x.name.includes('a-svc')).length);
  assert.ok(aCounts.length > 0 && aCounts.every((n) => n >= 2), `a never flapped out: ${aCounts.join(',')}`);
  assert.equal(streamEnded, false, 'the ADS stream stayed open throughout');
  assert.deepEqual(await streamIds(mb), stream);
  const info = (await mb.metrics()).filter((s) => s.name === 'meshbridge_config_info');
  assert.equal(info.length, 1);
  assert.ok(metricSum(await mb.metrics(), 'meshbridge_config_last_reload_success_timestamp_seconds') > Date.now() / 1000 - 60);
});

test('a ConfigMap-style volume (..data symlink swapped) is reloaded', async (t) => {
  // kubelet's layout: meshbridge.yaml -> ..data/meshbridge.yaml, ..data -> ..<timestamp>/
  const layout = async (dir: string, text: string): Promise<string> => {
    const vol = join(dir, 'volume');
    await mkdir(join(vol, '..v1'), { recursive: true });
    await writeFile(join(vol, '..v1', 'meshbridge.yaml'), text);
    await symlink('..v1', join(vol, '..data'));
    await symlink(join('..data', 'meshbridge.yaml'), join(vol, 'meshbridge.yaml'));
    return join(vol, 'meshbridge.yaml');
  };
  const { dir, mb, ads, base } = await rig((d) => fileRegistry(d, 'a'), layout);
  t.after(async () => {
    ads.close();
    await mb.stop();
  });
  const vol = join(dir, 'volume');
  await mkdir(join(vol, '..v2'));
  await writeFile(join(vol, '..v2', 'meshbridge.yaml'), base(`${fileRegistry(dir, 'a')}\n${fileRegistry(dir, 'c')}`));
  await symlink('..v2', join(vol, '..data_tmp'));
  await rename(join(vol, '..data_tmp'), join(vol, '..data'));
  await holds(() => ofRegistry(ads, 'c').length === 2, 10_000, "c's services after the swap");
  assert.equal(await reloads(mb, 'applied'), 1);
});
