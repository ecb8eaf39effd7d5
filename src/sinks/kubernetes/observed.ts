import type { ResourceKind } from '../../snapshot/index.js';
import { SharedRecords } from '../../util/shared-records.js';

/**
 * Label records of observed objects, shared across the whole view: Meshbridge's own objects carry
 * a handful of distinct ownership label sets (managed-by, instance, registry, shared), so 20,000
 * watched objects hold a few records instead of one fresh record (and strings) each from the
 * watch JSON. Records are never mutated (ObservedObject is read-only); at most 8 shallow
 * comparisons per observed object.
 */
const sharedLabels = new SharedRecords<string>();
const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * What the Kubernetes sink remembers of an Istio object in the cluster: enough to decide whether
 * to write, whether it may be deleted, and which hosts it claims.
 */
export interface ObservedObject {
  readonly kind: ResourceKind;
  readonly namespace: string;
  readonly name: string;
  /** `${kind}/${namespace}/${name}`, the same key as snapshot resources. */
  readonly key: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The meshbridge.io/content-hash annotation, if any. */
  readonly contentHash: string | undefined;
  readonly generation: number;
  readonly resourceVersion: string;
  /** spec.hosts of a ServiceEntry; empty for WorkloadEntries. */
  readonly hosts: readonly string[];
  /**
   * spec.workloadSelector.labels of a ServiceEntry in WorkloadEntry form; undefined for an
   * inline ServiceEntry and for WorkloadEntries (whose selector label is in `labels`).
   */
  readonly selector: Readonly<Record<string, string>> | undefined;
}

/**
 * True when `a` and `b` agree on every field a plan reads (labels, content hash, generation,
 * hosts, selector): a status write (istiod's auto-allocated addresses), the echo of our own
 * write, or a bare resourceVersion bump is no reason to plan again.
 */
export function samePlanFields(a: ObservedObject, b: ObservedObject): boolean {
  return (
    a.contentHash === b.contentHash &&
    a.generation === b.generation &&
    sameRecord(a.labels, b.labels) &&
    a.hosts.length === b.hosts.length &&
    a.hosts.every((h, i) => h === b.hosts[i]) &&
    (a.selector === undefined ? b.selector === undefined : b.selector !== undefined && sameRecord(a.selector, b.selector))
  );
}

/** Same keys, same values. */
export function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

interface RawObject {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    generation?: number;
    resourceVersion?: string;
  };
  spec?: { hosts?: unknown; workloadSelector?: { labels?: unknown } };
}

export function observe(kind: ObservedObject['kind'], raw: unknown): ObservedObject | undefined {
  const o = raw as RawObject;
  const name = o.metadata?.name;
  const namespace = o.metadata?.namespace;
  if (name === undefined || namespace === undefined) return undefined;
  const hosts = Array.isArray(o.spec?.hosts) ? o.spec.hosts.filter((h): h is string => typeof h === 'string') : [];
  const sel = o.spec?.workloadSelector?.labels;
  const selector = kind === 'ServiceEntry' && sel !== null && typeof sel === 'object' ? (sel as Record<string, string>) : undefined;
  return {
    kind,
    namespace,
    name,
    key: `${kind}/${namespace}/${name}`,
    labels: sharedLabels.of(o.metadata?.labels ?? NO_LABELS),
    contentHash: o.metadata?.annotations?.['meshbridge.io/content-hash'],
    generation: o.metadata?.generation ?? 0,
    resourceVersion: o.metadata?.resourceVersion ?? '',
    hosts,
    selector,
  };
}
