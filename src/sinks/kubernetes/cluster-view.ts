/**
 * What the Kubernetes sink sees of the cluster: the watch-fed caches of both kinds.
 *
 * Contract:
 * - Targeted caches hold every ServiceEntry and WorkloadEntry of the watched namespaces (all
 *   namespaces when none are set), owned or not. With `cleanupClusterWide` and namespaces set,
 *   wide caches also hold this instance's objects cluster-wide (optional: a 403 leaves them
 *   empty), so ours in namespaces no longer targeted can be pruned.
 * - `objects()` is the view a reconcile plans against: the targeted objects plus the wide ones
 *   outside the targeted namespaces. `synced()` is true once every cache listed.
 * - `record` / `forget` put our own writes' outcome in the caches at once (before the watch
 *   event), so a reconcile never writes the same thing twice. Nothing is written here.
 */
import type { Logger } from '../../observability/index.js';
import { OwnershipLabel } from '../../snapshot/index.js';
import type { KubeClient } from './kube-client.js';
import { ObjectCache } from './object-cache.js';
import type { ObservedObject } from './observed.js';

type Kind = ObservedObject['kind'];

/** The plural resource name of each kind (API paths). */
export const PLURAL: Record<Kind, string> = {
  ServiceEntry: 'serviceentries',
  WorkloadEntry: 'workloadentries',
  Sidecar: 'sidecars',
};

/** The API path of one Istio object (networking.istio.io/v1). */
export function objectPath(o: { readonly kind: Kind; readonly namespace: string; readonly name: string }): string {
  return `/apis/networking.istio.io/v1/namespaces/${o.namespace}/${PLURAL[o.kind]}/${o.name}`;
}

export interface ClusterViewOptions {
  readonly client: KubeClient;
  readonly logger: Logger;
  readonly instance: string;
  /** Namespaces to watch; empty = cluster-wide watch. */
  readonly namespaces: readonly string[];
  readonly cleanupClusterWide?: boolean | undefined;
  /** Watch Sidecars too (some registry publishes them: `sidecars`); else only the two entry kinds. */
  readonly sidecars?: boolean | undefined;
  /** Called after every change to any cache. */
  readonly onChange: () => void;
}

export class ClusterView {
  private readonly caches: Partial<Record<Kind, ObjectCache>>;
  /** Cluster-wide caches of this instance's objects (cleanupClusterWide), else undefined. */
  private readonly wide: Partial<Record<Kind, ObjectCache>> | undefined;
  private readonly targeted: ReadonlySet<string>;

  constructor(options: ClusterViewOptions) {
    const cache = (kind: Kind, scope: { namespaces: readonly string[]; labelSelector?: string; optional?: boolean }): ObjectCache =>
      new ObjectCache({ client: options.client, kind, plural: PLURAL[kind], logger: options.logger, onChange: options.onChange, ...scope });
    const kinds: Kind[] = options.sidecars === true ? ['ServiceEntry', 'WorkloadEntry', 'Sidecar'] : ['ServiceEntry', 'WorkloadEntry'];
    const caches = (scope: Parameters<typeof cache>[1]): Partial<Record<Kind, ObjectCache>> => Object.fromEntries(kinds.map((k) => [k, cache(k, scope)]));
    this.caches = caches({ namespaces: options.namespaces });
    this.targeted = new Set(options.namespaces);
    const wide = {
      namespaces: [],
      // Only our instance's: a legacy object outside the targeted namespaces may be another
      // pre-instance deployment's (same registry names), so it is never adopted from here.
      labelSelector: `${OwnershipLabel.MANAGED_BY}=${OwnershipLabel.MANAGED_BY_VALUE},${OwnershipLabel.INSTANCE}=${options.instance}`,
      optional: true,
    };
    this.wide = options.cleanupClusterWide === true && options.namespaces.length > 0 ? caches(wide) : undefined;
  }

  start(signal: AbortSignal): void {
    for (const c of this.all()) c.start(signal);
  }

  synced(): boolean {
    return this.all().every((c) => c.hasSynced());
  }

  private all(): ObjectCache[] {
    return [...Object.values(this.caches), ...Object.values(this.wide ?? {})].filter((c): c is ObjectCache => c !== undefined);
  }

  /** Every object the reconcile considers: the targeted namespaces, plus ours elsewhere. */
  objects(): Map<string, ObservedObject> {
    const out = new Map<string, ObservedObject>();
    for (const c of Object.values(this.caches)) for (const [k, o] of c?.objects() ?? []) out.set(k, o);
    if (this.wide !== undefined) {
      for (const c of Object.values(this.wide)) {
        for (const [k, o] of c?.objects() ?? []) if (!this.targeted.has(o.namespace)) out.set(k, o);
      }
    }
    return out;
  }

  /** The API server's answer to our apply. */
  record(o: ObservedObject): void {
    this.caches[o.kind]?.record(o);
  }

  /** An object we deleted (or found gone). */
  forget(kind: Kind, key: string): void {
    this.caches[kind]?.forget(key);
    this.wide?.[kind]?.forget(key);
  }
}
