/** How many distinct records one SharedRecords keeps for sharing (endpoints of a service rarely differ more). */
const MAX_CANDIDATES = 8;

/**
 * Shares equal records between the endpoints of one host: `of(r)` returns an earlier record with
 * the same keys in the same order and the same values, else `r` (remembered for the next ones).
 * 100,000 endpoints whose services label their instances alike then hold a few label objects per
 * service instead of one each.
 *
 * Contract: records are never mutated after conversion (the snapshot is immutable), so sharing is
 * invisible to readers; key order is part of equality, so serialisation and hashing are unchanged.
 * Cost: at most MAX_CANDIDATES shallow comparisons per record, no strings built.
 */
export class SharedRecords<V> {
  private readonly seen: Array<Readonly<Record<string, V>>> = [];

  of(r: Readonly<Record<string, V>>): Readonly<Record<string, V>> {
    const keys = Object.keys(r);
    for (const c of this.seen) if (sameRecord(c, r, keys)) return c;
    if (this.seen.length < MAX_CANDIDATES) this.seen.push(r);
    return r;
  }
}

function sameRecord<V>(a: Readonly<Record<string, V>>, b: Readonly<Record<string, V>>, bKeys: readonly string[]): boolean {
  if (a === b) return true;
  let i = 0;
  for (const k in a) {
    if (!Object.hasOwn(a, k)) continue;
    if (bKeys[i] !== k || a[k] !== b[k]) return false;
    i++;
  }
  return i === bKeys.length;
}
