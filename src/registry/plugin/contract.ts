import type { AddProblem, AdapterCommon, JsonSchema } from '../kind.js';
import type { RegistryKit } from '../kit/runtime.js';
import type { Registry } from '../types.js';

/**
 * What a registry plug-in package exports as `registryPlugin` (docs/plugins.md): a registry kind
 * shipped outside Meshbridge, the counterpart of a built-in RegistryKindSpec (src/registry/kind.ts).
 *
 * Contract (the same as a built-in kind's): `settingsSchema` is a plain JSON Schema (draft-07)
 * describing the `settings` block completely; Meshbridge validates the block with it at config
 * load. `check` runs only on schema-valid settings and reports what a schema cannot say;
 * `resolve` applies every default and makes paths absolute against `base` (the config file's
 * folder); its result must be plain data (JSON). `create` builds the adapter with no I/O; the
 * adapter emits the neutral model (src/registry/types.ts, Registry) with `registryKind` = `kind`,
 * reports coded problems through `common.context` and extends `kit.ServiceSetRegistry`.
 */
export interface RegistryPlugin<Settings = unknown> {
  /** The contract version it was written for: PLUGIN_API_VERSION (1). */
  readonly apiVersion: number;
  /** Service.registryKind of its services and RegistryStatus.kind: a lower-case word (`foo`, `acme-dir`). */
  readonly kind: string;
  /** One line for logs and docs. */
  readonly description: string;
  readonly settingsSchema: JsonSchema;
  check?(settings: unknown, add: AddProblem): void;
  resolve?(settings: unknown, base: string): Settings;
  create(settings: Settings, common: AdapterCommon, kit: RegistryKit): Registry;
}

/** What a plug-in's module must look like; each problem is one sentence. */
export function contractProblems(x: unknown): string[] {
  if (typeof x !== 'object' || x === null) return ['it does not export `registryPlugin` (an object: docs/plugins.md)'];
  const p = x as Record<string, unknown>;
  const out: string[] = [];
  if (p['apiVersion'] !== 1) out.push(`registryPlugin.apiVersion must be 1 (this Meshbridge's plug-in contract), got ${JSON.stringify(p['apiVersion'])}`);
  if (typeof p['kind'] !== 'string' || !/^[a-z][a-z0-9-]{0,62}$/.test(p['kind'])) out.push('registryPlugin.kind must be a lower-case word (letters, digits, -)');
  if (typeof p['description'] !== 'string') out.push('registryPlugin.description must be a string');
  const schema = p['settingsSchema'];
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) out.push('registryPlugin.settingsSchema must be a JSON Schema object');
  for (const f of ['check', 'resolve'] as const) if (p[f] !== undefined && typeof p[f] !== 'function') out.push(`registryPlugin.${f} must be a function when present`);
  if (typeof p['create'] !== 'function') out.push('registryPlugin.create must be a function (settings, common, kit) => Registry');
  return out;
}

/** What `create` returned must be a Registry; each problem is one sentence. */
export function registryProblems(r: unknown, kind: string, name: string): string[] {
  if (typeof r !== 'object' || r === null) return ['create did not return an object'];
  const reg = r as Record<string, unknown>;
  const out: string[] = [];
  for (const m of ['onEvent', 'start', 'hasSynced', 'services', 'status']) if (typeof reg[m] !== 'function') out.push(`the registry has no ${m}()`);
  if (reg['name'] !== name) out.push(`registry.name must be the configured name "${name}" (common.name), got ${JSON.stringify(reg['name'])}`);
  if (reg['kind'] !== kind) out.push(`registry.kind must be the plug-in's kind "${kind}", got ${JSON.stringify(reg['kind'])}`);
  return out;
}

