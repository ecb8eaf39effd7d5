import { resolve } from 'node:path';
import type { JsonSchema, RegistryKindSpec, SchemaBuilder } from '../kind.js';

/** Defaults of the `file:` block (the only place they are stated). */
export const FileDefaults = {
  pollIntervalMs: 5000,
  maxBytes: 32 * 1024 * 1024,
} as const;

/** Settings of a `file` registry (docs/file-registry.md). */
export interface FileSourceConfig {
  /** Absolute path of the registry file. */
  readonly path: string;
  /** Safety re-stat interval; 0 disables. */
  readonly pollIntervalMs: number;
  readonly maxBytes: number;
}

interface RawFileBlock {
  readonly path: string;
  readonly pollIntervalMs?: number;
  readonly maxBytes?: number;
}

export const fileKind: RegistryKindSpec<FileSourceConfig> = {
  kind: 'file',
  description: 'one watched YAML/JSON file listing services, docs/file-registry.md',
  schema(s: SchemaBuilder): JsonSchema {
    return s.object(
      'Settings of a `file` registry: one YAML/JSON file listing services (docs/file-registry.md).',
      {
        path: s.str('The registry file; relative paths resolve against the folder of this config file.', { minLength: 1 }),
        pollIntervalMs: s.int('Safety re-stat interval in ms, for filesystems where file watching misses events; 0 disables.', {
          minimum: 0,
          default: FileDefaults.pollIntervalMs,
        }),
        maxBytes: s.int('Larger registry files are refused (MB_SOURCE_READ).', { minimum: 1, default: FileDefaults.maxBytes }),
      },
      ['path'],
    );
  },
  resolve(block: unknown, base: string): FileSourceConfig {
    const b = block as RawFileBlock; // schema-validated
    return {
      path: resolve(base, b.path),
      pollIntervalMs: b.pollIntervalMs ?? FileDefaults.pollIntervalMs,
      maxBytes: b.maxBytes ?? FileDefaults.maxBytes,
    };
  },
  async load() {
    const { FileRegistry } = await import('./file-registry.js');
    return { create: (settings, common) => new FileRegistry({ ...settings, ...common }) };
  },
};
