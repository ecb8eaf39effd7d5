import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { completeConfig, parseConfig } from '../../config/index.js';
import { ErrorCode, type MeshbridgeError } from '../../errors/index.js';
import { loadPlugins } from './prepare.js';
import { adapterCommon } from '../testing/adapter-options.js';

const PLUGIN = `export const registryPlugin = {
  apiVersion: 1,
  kind: 'demo',
  description: 'a demo',
  settingsSchema: { type: 'object', additionalProperties: false, required: ['path'], properties: { path: { type: 'string' }, mode: { enum: ['a', 'b'] }, list: { type: 'array', items: { type: 'integer' } } } },
  check(s, add) { if (s.path === 'forbidden') add(['path'], 'is forbidden'); },
  resolve(s, base) { return { path: base + '/' + s.path, mode: s.mode ?? 'a' }; },
  create(settings, common, kit) {
    const R = class extends kit.ServiceSetRegistry { start() { return Promise.resolve(); } };
    return new R(common.name, settings.mode === 'b' ? 'other' : 'demo');
  },
};
`;

/** A folder with a config file and node_modules/<pkg> holding `files`. */
async function install(pkg: string, files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mb-plugin-'));
  const at = join(dir, 'node_modules', ...pkg.split('/'));
  await mkdir(at, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(at, name), text);
  return dir;
}

const pkgJson = (name: string, exports: unknown = './index.js'): string => JSON.stringify({ name, version: '1.0.0', type: 'module', exports });

function configText(pkg: string, settings: string): string {
  return `registries:\n  - name: demo\n    kind: plugin\n    namespace: shop\n    plugin:\n      package: "${pkg}"\n      settings: ${settings}\nsinks:\n  render: {}\n`;
}

async function complete(dir: string, pkg: string, settings: string) {
  return completeConfig(parseConfig(configText(pkg, settings), { sourcePath: join(dir, 'meshbridge.yaml') }));
}

const problemsOf = (e: unknown): string[] => ((e as MeshbridgeError).details as { problems: { path: string; message: string }[] }).problems.map((p) => `${p.path}: ${p.message}`);

test('a plug-in is found from the config folder, its settings validated, checked and resolved', async () => {
  const dir = await install('@acme/mb-demo', { 'package.json': pkgJson('@acme/mb-demo'), 'index.js': PLUGIN });
  const c = await complete(dir, '@acme/mb-demo', '{ path: data.txt }');
  const r = c.registries[0];
  assert.equal(r?.kind, 'plugin');
  if (r?.kind !== 'plugin') return;
  assert.deepEqual(r.plugin.settings, { path: `${dir}/data.txt`, mode: 'a' });
  assert.equal(r.plugin.pluginKind, 'demo');
  assert.equal(r.plugin.entry, join(dir, 'node_modules', '@acme', 'mb-demo', 'index.js'));
  assert.ok(Object.isFrozen(r.plugin.settings));
  const mod = await loadPlugins([r.plugin]);
  const reg = mod.create(r.plugin, adapterCommon('demo'));
  assert.equal(reg.kind, 'demo');
  assert.equal(reg.name, 'demo');
});

test("a plug-in's settings are refused by its own schema and check, with key paths", async () => {
  const dir = await install('mb-demo', { 'package.json': pkgJson('mb-demo'), 'index.js': PLUGIN });
  await assert.rejects(complete(dir, 'mb-demo', '{ pth: x, mode: c, list: [1, "x"] }'), (e: MeshbridgeError) => {
    assert.equal(e.code, ErrorCode.CONFIG_INVALID);
    assert.deepEqual(problemsOf(e), [
      'registries[0].plugin.settings.path: is required',
      'registries[0].plugin.settings.pth: unknown key',
      'registries[0].plugin.settings.mode: must be one of: a, b',
      'registries[0].plugin.settings.list[1]: must be integer',
    ]);
    return true;
  });
  await assert.rejects(complete(dir, 'mb-demo', '{ path: forbidden }'), (e: MeshbridgeError) => {
    assert.deepEqual(problemsOf(e), ['registries[0].plugin.settings.path: is forbidden']);
    return true;
  });
});

test('a missing package is MB_PLUGIN_NOT_FOUND naming it and how to install it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mb-plugin-'));
  await assert.rejects(complete(dir, '@acme/not-there', '{}'), (e: MeshbridgeError) => {
    assert.equal(e.code, ErrorCode.PLUGIN_NOT_FOUND);
    assert.match(e.message, /"@acme\/not-there" is not installed/);
    assert.match(e.message, /npm install @acme\/not-there/);
    return true;
  });
});

test('a package that breaks the contract is MB_PLUGIN_INVALID saying what is wrong', async () => {
  const bad = `export const registryPlugin = { apiVersion: 2, kind: 'Demo', description: 'x', settingsSchema: {} };`;
  const dir = await install('mb-bad', { 'package.json': pkgJson('mb-bad'), 'index.js': bad });
  await assert.rejects(complete(dir, 'mb-bad', '{}'), (e: MeshbridgeError) => {
    assert.equal(e.code, ErrorCode.PLUGIN_INVALID);
    assert.match(e.message, /apiVersion must be 1/);
    assert.match(e.message, /kind must be a lower-case word/);
    assert.match(e.message, /create must be a function/);
    return true;
  });
  const esmOnly = await install('mb-esm', { 'package.json': pkgJson('mb-esm', { '.': { import: './index.js' } }), 'index.js': PLUGIN });
  await assert.rejects(complete(esmOnly, 'mb-esm', '{ path: x }'), (e: MeshbridgeError) => e.code === ErrorCode.PLUGIN_INVALID && /"default" condition/.test(e.message));
  const throws = await install('mb-throws', { 'package.json': pkgJson('mb-throws'), 'index.js': 'throw new Error("boom");' });
  await assert.rejects(complete(throws, 'mb-throws', '{}'), (e: MeshbridgeError) => e.code === ErrorCode.PLUGIN_INVALID && /failed to load: boom/.test(e.message));
});

test('create checks what the plug-in built: the configured name and its kind', async () => {
  const dir = await install('mb-demo2', { 'package.json': pkgJson('mb-demo2'), 'index.js': PLUGIN });
  const c = await complete(dir, 'mb-demo2', '{ path: x, mode: b }');
  const r = c.registries[0];
  if (r?.kind !== 'plugin') return assert.fail('not a plugin registry');
  const mod = await loadPlugins([r.plugin]);
  assert.throws(() => mod.create(r.plugin, adapterCommon('demo')), (e: MeshbridgeError) => e.code === ErrorCode.PLUGIN_INVALID && /registry.kind must be the plug-in's kind "demo"/.test(e.message));
});

test('a config without plug-ins is completed as it is', async () => {
  const c = parseConfig('registries:\n  - { name: f, kind: file, namespace: x, file: { path: s.yaml } }\nsinks:\n  render: {}\n');
  assert.equal(await completeConfig(c), c);
});
