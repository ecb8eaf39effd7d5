/**
 * The example registry plug-in (examples/plugin-registry) installed the way a user installs one:
 * `npm pack`, then `npm install` of the tarball (offline: it is local) into a fresh folder, with
 * the example's directory file beside it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from './cli.js';
import { REPO } from './paths.js';

const run = promisify(execFile);

export const PLUGIN_EXAMPLE = join(REPO, 'examples', 'plugin-registry');
export const PLUGIN_PACKAGE = '@acme/meshbridge-registry-lines';

/** A new folder holding node_modules/@acme/meshbridge-registry-lines and directory.txt. */
export async function installPluginExample(): Promise<string> {
  const dir = await tempDir('meshbridge-plugin-');
  const npm = { cwd: dir, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } };
  await run('npm', ['pack', PLUGIN_EXAMPLE, '--pack-destination', dir, '--silent'], npm);
  const tarball = (await readdir(dir)).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball !== undefined, 'npm pack wrote a tarball');
  await run('npm', ['init', '-y'], npm);
  await run('npm', ['install', '--offline', '--no-save', join(dir, tarball)], npm);
  await copyFile(join(PLUGIN_EXAMPLE, 'directory.txt'), join(dir, 'directory.txt'));
  return dir;
}

/** A `kind: plugin` registry entry (YAML list item) of the example plug-in. */
export function pluginRegistry(name: string, settings: string, pkg = PLUGIN_PACKAGE): string {
  return `  - name: ${name}\n    kind: plugin\n    namespace: shop\n    plugin:\n      package: "${pkg}"\n      settings: ${settings}`;
}
