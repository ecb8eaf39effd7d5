import { sortStrings } from '../util/sort.js';
import { isDnsSubdomain, isLabelValue, MAX_DNS_LABEL } from './names.js';

/** The label-name part of a key (after the optional `prefix/`): <= 63, alphanumeric ends. */
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Istio's per-endpoint label limit (CRD `maxProperties` of endpoint and WorkloadEntry labels). */
export const MAX_ENDPOINT_LABELS = 256;

/**
 * Label prefixes Meshbridge keeps for itself: instance metadata may not set them (it could
 * otherwise forge the WorkloadEntry selector or ownership).
 */
export const RESERVED_LABEL_PREFIX = 'meshbridge.io';

/** Why one label was dropped. */
export const LabelDropReason = {
  KEY: 'key',
  VALUE: 'value',
  RESERVED: 'reserved',
  TOO_MANY: 'tooMany',
} as const;
export type LabelDropReason = (typeof LabelDropReason)[keyof typeof LabelDropReason];

export interface SanitizedLabels {
  /** The labels that survived, keys sorted. */
  readonly labels: Readonly<Record<string, string>>;
  /** How many labels were dropped. */
  readonly dropped: number;
  /** The dropped keys with the reason, in key order (for diagnostics). */
  readonly droppedKeys: ReadonlyArray<{ readonly key: string; readonly reason: LabelDropReason }>;
}

/** True when `key` is a Kubernetes label key: `[prefix/]name`, prefix a DNS subdomain. */
export function isLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (slash >= 0 && !isDnsSubdomain(key.slice(0, slash))) return false;
  return name.length <= MAX_DNS_LABEL && LABEL_NAME.test(name);
}

function isReserved(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return false;
  const prefix = key.slice(0, slash);
  return prefix === RESERVED_LABEL_PREFIX || prefix.endsWith(`.${RESERVED_LABEL_PREFIX}`);
}

/**
 * Small bounded memo of a pure string predicate/classifier. Contract: `get` returns what `compute`
 * gives for the same string; the table is emptied when it reaches `limit` entries, so memory stays
 * bounded whatever the input (label keys repeat across endpoints, values mostly across a service).
 */
class Memo<T> {
  private readonly table = new Map<string, T>();
  constructor(
    private readonly compute: (s: string) => T,
    private readonly limit: number,
  ) {}

  get(s: string): T {
    const hit = this.table.get(s);
    if (hit !== undefined || this.table.has(s)) return hit as T;
    const v = this.compute(s);
    if (this.table.size >= this.limit) this.table.clear();
    this.table.set(s, v);
    return v;
  }
}

/** Why a key is refused (KEY or RESERVED), or null for a usable key. */
const keyVerdict = new Memo<LabelDropReason | null>(
  (key) => (!isLabelKey(key) ? LabelDropReason.KEY : isReserved(key) ? LabelDropReason.RESERVED : null),
  4096,
);
const valueOk = new Memo<boolean>(isLabelValue, 16384);

/**
 * Keeps the entries of raw instance metadata that are valid Kubernetes labels, as they are (keys
 * and values are never rewritten: a rewritten value would silently match a different subset).
 *
 * Contract: pure, never throws. Dropped, and counted: keys that are not `[prefix/]name` label
 * keys (prefix a lowercase DNS subdomain <= 253, name <= 63 of `[A-Za-z0-9_.-]` with alphanumeric
 * ends), values that are not empty or <= 63 of the same charset, keys under the reserved
 * `meshbridge.io/` prefix, and everything after the first `max` (default 256) keys in sorted order.
 * When every entry is kept and `raw`'s keys are already in sorted order, `raw` itself is returned
 * (not a copy): the model is immutable, and 100,000 endpoints then hold one labels object each,
 * not two.
 */
export function sanitizeLabels(raw: Readonly<Record<string, string>>, max: number = MAX_ENDPOINT_LABELS): SanitizedLabels {
  const own = Object.keys(raw);
  if (allKept(raw, own, max)) return { labels: raw, dropped: 0, droppedKeys: [] };
  const labels: Record<string, string> = {};
  const droppedKeys: Array<{ key: string; reason: LabelDropReason }> = [];
  let kept = 0;
  const keys = sortStrings(own);
  for (const key of keys) {
    const value = raw[key];
    const verdict = keyVerdict.get(key);
    if (verdict !== null) droppedKeys.push({ key, reason: verdict });
    else if (typeof value !== 'string' || !valueOk.get(value)) droppedKeys.push({ key, reason: LabelDropReason.VALUE });
    else if (kept >= max) droppedKeys.push({ key, reason: LabelDropReason.TOO_MANY });
    else {
      kept++;
      // A data property even for "__proto__" (plain assignment would set the prototype).
      if (key === '__proto__') Object.defineProperty(labels, key, { value, enumerable: true, writable: true, configurable: true });
      else labels[key] = value;
    }
  }
  return { labels, dropped: droppedKeys.length, droppedKeys };
}

/** True when `sanitizeLabels` would keep every key of `raw` in its present (sorted) order. */
function allKept(raw: Readonly<Record<string, string>>, keys: readonly string[], max: number): boolean {
  if (keys.length > max) return false;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (i > 0 && (keys[i - 1] as string) >= key) return false;
    const value = raw[key];
    if (keyVerdict.get(key) !== null || typeof value !== 'string' || !valueOk.get(value)) return false;
  }
  return true;
}
