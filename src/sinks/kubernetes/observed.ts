import type { ResourceKind } from '../../snapshot/index.js';

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
    labels: o.metadata?.labels ?? {},
    contentHash: o.metadata?.annotations?.['meshbridge.io/content-hash'],
    generation: o.metadata?.generation ?? 0,
    resourceVersion: o.metadata?.resourceVersion ?? '',
    hosts,
    selector,
  };
}
