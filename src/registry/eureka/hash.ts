/**
 * Eureka's reconcile hash (Applications.getReconcileHashCode / populateInstanceCountMap in
 * Netflix/eureka): for every instance status present, `<STATUS>_<count>_`, concatenated in
 * status-name order (a TreeMap of String keys, i.e. by UTF-16 code units); "" for no instances.
 * Every instance counts, whatever its status, so the local copy must hold all of them.
 *
 *   reconcileHashCode(['UP', 'DOWN', 'UP']) === 'DOWN_1_UP_2_'
 */
export function reconcileHashCode(statuses: Iterable<string>): string {
  const counts = new Map<string, number>();
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  const keys = [...counts.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return keys.map((k) => `${k}_${String(counts.get(k))}_`).join('');
}
