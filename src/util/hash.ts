import { createHash } from 'node:crypto';

/** True when `keys` is already in the order `Array.prototype.sort()` gives (UTF-16 code units). */
function isSorted(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) {
    if ((keys[i - 1] as string) > (keys[i] as string)) return false;
  }
  return true;
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
    let out = '[';
    for (let i = 0; i < arr.length; i++) {
      if (i > 0) out += ',';
      if (i in arr) out += stableStringify(arr[i]);
    }
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (!isSorted(keys)) keys.sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += `${JSON.stringify(k)}:${stableStringify(v)}`;
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
