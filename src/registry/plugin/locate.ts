import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeError, ErrorCode, MeshbridgeError } from '../../errors/index.js';
import { contractProblems, type RegistryPlugin } from './contract.js';

/** Meshbridge's own folder (dist/src/registry/plugin/ -> the package root): `npm install` beside it. */
export const MESHBRIDGE_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** A plug-in found and loaded. */
export interface LocatedPlugin {
  /** Absolute path of its entry module. */
  readonly entry: string;
  readonly plugin: RegistryPlugin;
}

/**
 * Finds a plug-in package the way Node finds a dependency: node_modules from the config file's
 * folder up, then from Meshbridge's own folder up, then NODE_PATH (Node's global folders). The
 * package's entry must be reachable without the `import` condition only (`"exports": "./x.js"`
 * or a `default` condition), as require.resolve does it; the module itself may be ESM.
 *
 * @throws MB_PLUGIN_NOT_FOUND naming the package and how to install it; MB_PLUGIN_INVALID when it
 *   cannot be loaded or does not export a `registryPlugin` that keeps the contract (contract.ts).
 */
export async function locatePlugin(pkg: string, base: string): Promise<LocatedPlugin> {
  const req = createRequire(join(base, 'meshbridge.config'));
  let entry: string;
  try {
    entry = req.resolve(pkg, { paths: [base, MESHBRIDGE_ROOT] });
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') {
      throw new MeshbridgeError(ErrorCode.PLUGIN_INVALID, `registry plug-in "${pkg}": its package.json "exports" offers no entry without the import condition; export "./index.js" or add a "default" condition (docs/plugins.md)`, { cause: e });
    }
    throw new MeshbridgeError(
      ErrorCode.PLUGIN_NOT_FOUND,
      `registry plug-in package "${pkg}" is not installed: install it beside Meshbridge (cd ${MESHBRIDGE_ROOT} && npm install ${pkg}) or next to the config file (cd ${base} && npm install ${pkg}), or put its folder on NODE_PATH (docs/plugins.md)`,
      { cause: e, details: { package: pkg } },
    );
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
  } catch (e) {
    throw new MeshbridgeError(ErrorCode.PLUGIN_INVALID, `registry plug-in "${pkg}" failed to load: ${describeError(e)}`, { path: entry, cause: e });
  }
  const plugin = mod['registryPlugin'] ?? (mod['default'] as Record<string, unknown> | undefined)?.['registryPlugin'];
  const problems = contractProblems(plugin);
  if (problems.length > 0) {
    throw new MeshbridgeError(ErrorCode.PLUGIN_INVALID, `registry plug-in "${pkg}" does not keep the plug-in contract: ${problems.join('; ')}`, { path: entry, details: { package: pkg, problems } });
  }
  return { entry, plugin: plugin as RegistryPlugin };
}
