import { createHash } from 'node:crypto';
import { sortStrings } from './sort.js';

/** True when `keys` is already in the order `Array.prototype.sort()` gives (UTF-16 code units). */
function isSorted(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) {
    if ((keys[i - 1] as string) > (keys[i] as string)) return false;
  }
  return true;
}

/** A value `JSON.stringify` writes exactly as stableStringify does (no undefined, function, symbol). */
function isFlat(v: unknown): boolean {
  const t = typeof v;
  return t === 'string' || t === 'number' || t === 'boolean' || v === null;
}

/** No `toJSON` method for JSON.stringify to call instead of reading the object. */
function noToJSON(o: object): boolean {
  return typeof (o as { toJSON?: unknown }).toJSON !== 'function';
}

/** JSON text of object keys already seen (field and label names repeat); bounded, emptied when full. */
const quotedKeys = new Map<string, string>();

/** `JSON.stringify(k)`, memoised. */
function quoteKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (quotedKeys.size >= 4096) quotedKeys.clear();
    quotedKeys.set(k, q);
  }
  return q;
}

/**
 * JSON with object keys sorted at every level, so equal content gives equal text whatever the
 * insertion order. Arrays keep their order (order is meaningful in Istio specs).
 *
 * Contract (the text is hashed into resource versions, so it never changes): primitives as
 * `JSON.stringify` gives them, `undefined`, functions and symbols as `null`; arrays element by
 * element (an undefined element is `null`, a hole is empty text); any other object by its own
 * enumerable string keys in `sort()` order, entries whose value is undefined left out, without
 * calling `toJSON`. Built in one pass with no intermediate arrays (hot: every resource version).
 */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    const arr: readonly unknown[] = value;
    // Fast path: an array of strings/numbers/booleans/nulls without holes is what JSON.stringify writes.
    let flat = noToJSON(arr);
    for (let i = 0; flat && i < arr.length; i++) flat = i in arr && isFlat(arr[i]);
    if (flat) return JSON.stringify(arr);
    let out = '[';
    for (let i = 0; i < arr.length; i++) {
      if (i > 0) out += ',';
      if (i in arr) out += stableStringify(arr[i]);
    }
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (isSorted(keys)) {
    // Fast path: sorted keys (JSON.stringify keeps Object.keys order) and flat values only.
    let flat = noToJSON(obj);
    for (let i = 0; flat && i < keys.length; i++) flat = isFlat(obj[keys[i] as string]);
    if (flat) return JSON.stringify(obj);
  } else {
    sortStrings(keys);
  }
  let out = '{';
  let first = true;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += `${quoteKey(k)}:${stableStringify(v)}`;
  }
  return `${out}}`;
}

/** A short, stable content hash (first 16 hex digits of SHA-256). */
export function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export function hashOf(value: unknown): string {
  return contentHash(stableStringify(value));
}
