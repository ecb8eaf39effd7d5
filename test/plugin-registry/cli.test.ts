/**
 * A registry plug-in the way a user installs one: the example package (examples/plugin-registry)
 * packed with `npm pack` and installed with `npm install` (offline: a local tarball) next to the
 * config file, then `meshbridge render` loading it by name; and the coded errors when it is
 * missing or its settings are wrong. Also: a config without plug-ins never loads ajv's compiler.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { cli, REPO, renderedObjects, writeConfig } from '../../test-support/cli.js';
import { installPluginExample, pluginRegistry, PLUGIN_PACKAGE } from '../../test-support/plugin.js';

const run = promisify(execFile);

const config = (settings: string, pkg = PLUGIN_PACKAGE): string => `registries:\n${pluginRegistry('legacy', settings, pkg)}\nsinks:\n  render: {}\n`;

test('render: a plug-in installed with npm, loaded by name from the config', async () => {
  const dir = await installPluginExample();
  const path = await writeConfig(dir, config('{ path: directory.txt, intervalMs: 500 }'));
  const p = cli(['render', '--config', path]);
  assert.equal(await p.exit, 0, p.stderr());
  const ses = renderedObjects(p.stdout()).filter((o) => o.kind === 'ServiceEntry');
  const orders = ses.find((o) => o.spec.hosts[0]?.startsWith('orders.'));
  assert.ok(orders !== undefined, p.stdout());
  assert.deepEqual(orders.spec.ports, [{ number: 8080, name: 'http', protocol: 'HTTP' }]);
  assert.deepEqual(orders.spec.endpoints?.map((e) => [e.address, e.labels?.['version']]).sort(), [
    ['10.1.0.11', 'v1'],
    ['10.1.0.12', 'v2'],
  ]);
  assert.ok(ses.some((o) => o.spec.hosts[0]?.startsWith('inventory.')));
  assert.equal(orders.metadata.namespace, 'shop');
});

test('render: a bad plug-in setting is MB_CONFIG_INVALID at its key path; a missing package says how to install it', async () => {
  const dir = await installPluginExample();
  const bad = cli(['render', '--config', await writeConfig(dir, config('{ path: directory.txt, intervalMs: 5, colour: red }'))]);
  assert.equal(await bad.exit, 2);
  assert.match(bad.stderr(), /MB_CONFIG_INVALID/);
  assert.match(bad.stderr(), /registries\[0\]\.plugin\.settings\.intervalMs: must be >= 100/);
  assert.match(bad.stderr(), /registries\[0\]\.plugin\.settings\.colour: unknown key/);
  const missing = cli(['render', '--config', await writeConfig(dir, config('{}', '@acme/meshbridge-registry-nope'))]);
  assert.equal(await missing.exit, 2);
  assert.match(missing.stderr(), /MB_PLUGIN_NOT_FOUND: .*"@acme\/meshbridge-registry-nope" is not installed.*npm install @acme\/meshbridge-registry-nope/);
});

test('without a plug-in, loading the config does not load the ajv compiler', async () => {
  const probe = `
    const { loadConfig } = await import(${JSON.stringify(join(REPO, 'dist/src/config/index.js'))});
    const { createRequire } = await import('node:module');
    await loadConfig(${JSON.stringify(join(REPO, 'examples', 'meshbridge.yaml'))});
    const cache = Object.keys(createRequire(import.meta.url).cache);
    process.stdout.write(JSON.stringify(cache.filter((k) => k.includes('/ajv/dist/') && k.includes('compile'))));
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], { cwd: REPO });
  assert.deepEqual(JSON.parse(stdout), []);
});
