import type { Protocol } from '../model/index.js';
import type { Logger } from '../observability/index.js';
import type { Registry, RegistryContext } from './types.js';

/** A JSON Schema (draft-07) node, as plain data. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** The helpers the config schema offers every kind's part of it (src/config/schema.ts). */
export interface SchemaBuilder {
  object(description: string, properties: Readonly<Record<string, JsonSchema>>, required?: readonly string[]): JsonSchema;
  /** A string; constrained ones also accept an `${ENV:...}` reference in the editor flavour. */
  str(description: string, constraints?: Readonly<Record<string, unknown>>): JsonSchema;
  int(description: string, constraints?: Readonly<Record<string, unknown>>): JsonSchema;
}

/** Reports one semantic problem at a key path below the kind's block (e.g. ['servers', 0]). */
export type AddProblem = (at: readonly (string | number)[], message: string) => void;

/** What every adapter gets besides its kind's settings: the registry-level config and wiring. */
export interface AdapterCommon {
  /** Configured registry name: Service.registry and Endpoint.origin. */
  readonly name: string;
  /** Protocol of ports no instance states and whose name implies none. */
  readonly defaultProtocol: Protocol;
  /** Where coded problems go (counted and logged by the caller, never by the adapter). */
  readonly context: RegistryContext;
  readonly logger: Logger;
  /** The registry has a `sidecars` block: report consumers (Service.consumers) if the kind can. */
  readonly watchConsumers?: boolean;
}

/** A loaded adapter: builds one registry from its resolved settings, with no I/O. */
export interface AdapterModule<Settings> {
  create(settings: Settings, common: AdapterCommon): Registry;
}

/**
 * One registry kind, the way a resolver registers with its scheme: the settings block named
 * after the kind (`zookeeper: {...}`), how it is validated and resolved, and how its adapter is
 * built. Each kind's spec lives in its adapter's folder (src/registry/<kind>/spec.ts) and is
 * registered once in src/registry/kinds.ts; nothing else in the app knows the kinds.
 *
 * Contract: `schema` is pure and describes the block completely (additionalProperties false);
 * `check` runs only on schema-valid input and reports what a schema cannot say (addresses,
 * ranges between keys); `resolve` applies every default (the adapter has none of its own) and
 * turns relative paths into absolute ones against `base` (the config file's folder). Secrets
 * arrive already substituted from the environment and are never put into problem messages.
 * `load` imports the adapter on first use, so a process pays for the client libraries of the
 * kinds it is configured with only (etcd3 alone is ~27 MB RSS, bench/footprint); a spec file
 * itself imports nothing heavy.
 */
export interface RegistryKindSpec<Settings> {
  /** The `kind` value and the name of the settings block. */
  readonly kind: string;
  /** One line for the schema and docs. */
  readonly description: string;
  /** The kind reports consumers (Service.consumers), so a registry of it may set `sidecars`. */
  readonly reportsConsumers?: boolean;
  schema(s: SchemaBuilder): JsonSchema;
  check?(block: unknown, add: AddProblem): void;
  resolve(block: unknown, base: string): Settings;
  /**
   * Optional: completes resolved settings at config load with what needs I/O (a plug-in kind
   * imports its package and validates its settings with the package's own schema). Runs in
   * loadConfig / completeConfig, after `resolve`; reports problems below the kind's block like
   * `check` (the config is then refused) and returns the completed settings (plain data).
   */
  prepare?(settings: Settings, add: AddProblem): Promise<Settings>;
  /** `configured`: the settings of every registry of this kind in the config (built-in kinds ignore it). */
  load(configured: readonly Settings[]): Promise<AdapterModule<Settings>>;
}
