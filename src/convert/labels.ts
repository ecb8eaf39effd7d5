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
 * Keeps the entries of raw instance metadata that are valid Kubernetes labels, as they are (keys
 * and values are never rewritten: a rewritten value would silently match a different subset).
 *
 * Contract: pure, never throws. Dropped, and counted: keys that are not `[prefix/]name` label
 * keys (prefix a lowercase DNS subdomain <= 253, name <= 63 of `[A-Za-z0-9_.-]` with alphanumeric
 * ends), values that are not empty or <= 63 of the same charset, keys under the reserved
 * `meshbridge.io/` prefix, and everything after the first `max` (default 256) keys in sorted order.
 */
export function sanitizeLabels(raw: Readonly<Record<string, string>>, max: number = MAX_ENDPOINT_LABELS): SanitizedLabels {
  const kept: Array<[string, string]> = [];
  const droppedKeys: Array<{ key: string; reason: LabelDropReason }> = [];
  for (const key of Object.keys(raw).sort()) {
    const value = raw[key];
    if (!isLabelKey(key)) droppedKeys.push({ key, reason: LabelDropReason.KEY });
    else if (isReserved(key)) droppedKeys.push({ key, reason: LabelDropReason.RESERVED });
    else if (typeof value !== 'string' || !isLabelValue(value)) droppedKeys.push({ key, reason: LabelDropReason.VALUE });
    else if (kept.length >= max) droppedKeys.push({ key, reason: LabelDropReason.TOO_MANY });
    else kept.push([key, value]);
  }
  // fromEntries makes own properties even for keys such as "__proto__".
  return { labels: Object.fromEntries(kept), dropped: droppedKeys.length, droppedKeys };
}
