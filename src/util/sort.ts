/**
 * Sorts `keys` in place in the order `Array.prototype.sort()` with no comparator gives for
 * strings (UTF-16 code units) and returns it. Short arrays (the usual label or field lists) use an
 * insertion sort that skips the generic sort's setup; already-sorted input costs one pass.
 */
export function sortStrings(keys: string[]): string[] {
  const n = keys.length;
  if (n > 16) return keys.sort();
  for (let i = 1; i < n; i++) {
    const k = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > k) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = k;
  }
  return keys;
}

/**
 * Orders two strings by UTF-16 code units (what `sort()` with no comparator does), never by
 * locale: output that is compared or hashed must not depend on the machine's locale.
 */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
