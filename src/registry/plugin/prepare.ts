import { ErrorCode, MeshbridgeError } from '../../errors/index.js';
import type { AddProblem, AdapterModule } from '../kind.js';
import { registryKit } from '../kit/runtime.js';
import { registryProblems, type RegistryPlugin } from './contract.js';
import { locatePlugin } from './locate.js';
import { checkPluginSettings } from './settings.js';
import type { PluginSourceConfig } from './spec.js';

/**
 * Completes a plug-in registry's settings at config load: finds and loads the package, validates
 * `settings` with the plug-in's schema and `check` (problems at `settings.<key>`), and resolves
 * them with its `resolve`. Returns the settings unchanged when there were problems (the caller
 * refuses the config).
 *
 * @throws MB_PLUGIN_NOT_FOUND / MB_PLUGIN_INVALID (locate.ts), MB_PLUGIN_INVALID when `resolve`
 *   throws or returns what is not plain data.
 */
export async function preparePlugin(s: PluginSourceConfig, add: AddProblem): Promise<PluginSourceConfig> {
  const { entry, plugin } = await locatePlugin(s.package, s.base);
  let failed = false;
  const note: AddProblem = (at, m) => {
    failed = true;
    add(at, m);
  };
  checkPluginSettings(s.package, plugin.settingsSchema, s.settings, note);
  if (!failed) plugin.check?.(s.settings, (at, m) => note(['settings', ...at], m));
  if (failed) return s;
  let resolved: unknown;
  try {
    resolved = plugin.resolve !== undefined ? plugin.resolve(structuredClone(s.settings), s.base) : s.settings;
    resolved = structuredClone(resolved);
  } catch (e) {
    throw new MeshbridgeError(ErrorCode.PLUGIN_INVALID, `registry plug-in "${s.package}": resolve failed or returned more than plain data: ${String(e)}`, { cause: e });
  }
  return { ...s, settings: resolved, entry, pluginKind: plugin.kind };
}

/**
 * The adapter module of every configured plug-in (each package imported once; the import from
 * `prepare` is Node's cached module). `create` calls the plug-in's `create` with the host's kit
 * and checks that it returned a Registry of the configured name and the plug-in's kind.
 */
export async function loadPlugins(configured: readonly PluginSourceConfig[]): Promise<AdapterModule<PluginSourceConfig>> {
  const plugins = new Map<string, RegistryPlugin>();
  for (const s of configured) {
    if (plugins.has(s.package)) continue;
    plugins.set(s.package, (await locatePlugin(s.package, s.base)).plugin);
  }
  return {
    create(settings, common) {
      const plugin = plugins.get(settings.package);
      if (plugin === undefined || settings.entry === undefined) {
        throw new MeshbridgeError(ErrorCode.INTERNAL, `registry plug-in "${settings.package}" was not prepared (the config must be completed: completeConfig)`);
      }
      const reg = plugin.create(settings.settings, common, registryKit);
      const problems = registryProblems(reg, plugin.kind, common.name);
      if (problems.length > 0) throw new MeshbridgeError(ErrorCode.PLUGIN_INVALID, `registry plug-in "${settings.package}": ${problems.join('; ')}`);
      return reg;
    },
  };
}
