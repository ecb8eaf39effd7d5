import type { AddProblem, AdapterModule, JsonSchema, RegistryKindSpec, SchemaBuilder } from '../kind.js';

/** An npm package name, scoped or not (npm's rules: lower case, no leading dot or underscore). */
const PACKAGE = '^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$';

/** Settings of a `plugin` registry (docs/plugins.md). */
export interface PluginSourceConfig {
  /** The npm package that exports `registryPlugin`. */
  readonly package: string;
  /** The `settings` block: as written until the config is completed, then as the plug-in resolved it. */
  readonly settings: unknown;
  /** The config file's folder: where the package is looked for first, and the plug-in's base for paths. */
  readonly base: string;
  /** Set when the config is completed (completeConfig): the plug-in's entry module and its kind. */
  readonly entry: string | undefined;
  readonly pluginKind: string | undefined;
}

interface RawPluginBlock {
  readonly package: string;
  readonly settings?: Readonly<Record<string, unknown>>;
}

/**
 * The built-in kind that loads a registry kind from an npm package (docs/plugins.md, ADR 0022).
 * Its schema says only `package` and `settings`; the settings are validated by the plug-in's own
 * JSON Schema in `prepare`, which runs at config load (loadConfig / completeConfig) because it
 * must import the package. Nothing here is imported until a plug-in is configured.
 */
export const pluginKind: RegistryKindSpec<PluginSourceConfig> = {
  kind: 'plugin',
  description: 'a registry kind from an npm package (docs/plugins.md)',
  schema(s: SchemaBuilder): JsonSchema {
    return s.object(
      'Settings of a `plugin` registry: the npm package of the plug-in and its own settings, validated by the plug-in\'s schema at load (docs/plugins.md).',
      {
        package: s.str('npm package that exports `registryPlugin` (e.g. @acme/meshbridge-registry-foo), installed beside Meshbridge or next to this config file.', {
          pattern: PACKAGE,
          maxLength: 214,
        }),
        settings: { type: 'object', description: "The plug-in's settings, checked against its own JSON Schema when the config is loaded.", default: {} },
      },
      ['package'],
    );
  },
  resolve(block: unknown, base: string): PluginSourceConfig {
    const b = block as RawPluginBlock; // schema-validated
    return { package: b.package, settings: structuredClone(b.settings ?? {}), base, entry: undefined, pluginKind: undefined };
  },
  async prepare(settings: PluginSourceConfig, add: AddProblem): Promise<PluginSourceConfig> {
    const { preparePlugin } = await import('./prepare.js');
    return preparePlugin(settings, add);
  },
  async load(configured: readonly PluginSourceConfig[]): Promise<AdapterModule<PluginSourceConfig>> {
    const { loadPlugins } = await import('./prepare.js');
    return loadPlugins(configured);
  },
};
