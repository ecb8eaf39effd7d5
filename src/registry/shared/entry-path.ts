import { ErrorCode, MeshbridgeError } from '../../errors/index.js';

/** A plain mapping parsed from YAML/JSON (not an array, not null). */
export type RawMap = Readonly<Record<string, unknown>>;

export function isRawMap(v: unknown): v is RawMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const SIMPLE_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * The path of a child inside an entry path, in the notation the error messages use:
 * `services[2].instances[0].labels["app.kubernetes.io/name"]`.
 */
export function child(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  if (base === '' && SIMPLE_KEY.test(key)) return key;
  return `${base}${keySuffix(key)}`;
}

/** The key part of a path: `.http` or `["app.kubernetes.io/name"]`. */
export function keySuffix(key: string): string {
  return SIMPLE_KEY.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/**
 * Collects the coded problems of one validation pass. Each problem's `path` is
 * `<file>: <entry path>`, so a message reads `examples/services.yaml: services[2].ports[0].number: ...`.
 */
export class Problems {
  readonly list: MeshbridgeError[] = [];

  constructor(
    private readonly file: string,
    private readonly registry: string,
  ) {}

  add(code: ErrorCode, at: string, message: string): void {
    this.list.push(
      new MeshbridgeError(code, message, {
        path: `${this.file}: ${at}`,
        details: { registry: this.registry, file: this.file, entry: at },
      }),
    );
  }

  /** Reports every key of `raw` not in `known`; the key is ignored, the entry kept. */
  unknownKeys(raw: RawMap, known: ReadonlySet<string>, at: string): void {
    for (const k of Object.keys(raw)) {
      if (!known.has(k)) this.add(ErrorCode.ENTRY_INVALID, child(at, k), `unknown key "${k}" ignored`);
    }
  }
}

/** Text of a scalar for a string-valued field (labels, attributes, ids); undefined for non-scalars. */
export function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'boolean') return String(v);
  return undefined;
}

/** Short description of a value's type for messages. */
export function typeName(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `"${v.length > 40 ? `${v.slice(0, 40)}...` : v}"`;
  return `${typeof v} ${scalarText(v) ?? ''}`;
}

export function isPortNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;
}
