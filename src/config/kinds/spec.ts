import type { PathSegment } from '../path.js';

/** A JSON Schema (draft-07) node, as plain data. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** The helpers schema.ts offers every part of the schema (see Builder there). */
export interface SchemaBuilder {
  object(description: string, properties: Readonly<Record<string, JsonSchema>>, required?: readonly string[]): JsonSchema;
  /** A string; constrained ones also accept an `${ENV:...}` reference in the editor flavour. */
  str(description: string, constraints?: Readonly<Record<string, unknown>>): JsonSchema;
  int(description: string, constraints?: Readonly<Record<string, unknown>>): JsonSchema;
}

/** Reports one semantic problem at a key path below the registry (e.g. ['zookeeper', 'servers', 0]). */
export type AddProblem = (at: readonly PathSegment[], message: string) => void;

/**
 * One registry kind's part of the config: the settings block named after the kind
 * (`file: {...}`, `zookeeper: {...}`), how it is validated and how it is resolved.
 *
 * Contract: `schema` is pure and describes the block completely (additionalProperties false);
 * `check` runs only on schema-valid input and reports what a schema cannot say (addresses,
 * ranges between keys); `resolve` applies defaults and turns relative paths into absolute ones
 * against `base` (the config file's folder). Secrets arrive already substituted from the
 * environment and must never be put into problem messages.
 */
export interface RegistryKindSpec<Resolved> {
  /** The `kind` value and the name of the settings block. */
  readonly kind: string;
  /** One line for the schema and docs. */
  readonly description: string;
  schema(s: SchemaBuilder): JsonSchema;
  check?(block: unknown, add: AddProblem): void;
  resolve(block: unknown, base: string): Resolved;
}
