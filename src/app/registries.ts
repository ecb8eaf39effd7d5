import type { RegistryConfig } from '../config/index.js';
import type { Logger } from '../observability/index.js';
import type { AdapterModule } from '../registry/kind.js';
import { registryKindSpec, type KindSettings, type RegistryKind } from '../registry/kinds.js';
import type { Registry, RegistryContext } from '../registry/types.js';

/** Builds one configured registry's adapter (no I/O) once its kind is loaded. */
export type RegistryFactory = (rc: RegistryConfig, context: RegistryContext, logger: Logger) => Registry;

/** The resolved settings block of `rc` (the block named after its kind). */
function settingsOf(rc: RegistryConfig): KindSettings<RegistryKind> {
  return (rc as unknown as Record<string, KindSettings<RegistryKind>>)[rc.kind] as KindSettings<RegistryKind>;
}

/**
 * Loads the adapters of the kinds in `configs` (only those: each kind's spec imports its adapter
 * on first use) and returns the factory for them. Every kind is built the same way, from its
 * resolved settings and the common registry fields; src/registry/kinds.ts is the one table.
 */
export async function loadRegistryFactory(configs: readonly RegistryConfig[]): Promise<RegistryFactory> {
  const kinds = [...new Set(configs.map((c) => c.kind))];
  const modules = new Map<RegistryKind, AdapterModule<KindSettings<RegistryKind>>>();
  await Promise.all(kinds.map(async (k) => modules.set(k, await registryKindSpec(k).load(configs.filter((c) => c.kind === k).map(settingsOf)))));
  return (rc, context, logger) => {
    const adapter = modules.get(rc.kind);
    if (adapter === undefined) throw new Error(`registry kind ${rc.kind} was not loaded`);
    return adapter.create(settingsOf(rc), { name: rc.name, defaultProtocol: rc.defaultProtocol, context, logger, watchConsumers: rc.sidecars !== undefined });
  };
}
