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
import { ISTIO_WATCHED, PLURAL } from './api-paths.js';
import type { KubeClient } from './kube-client.js';
import { GONE, ObjectCache, type ExpectedWrite } from './object-cache.js';
import type { ObservedObject } from './observed.js';

type Kind = ObservedObject['kind'];

export { PLURAL, apiBase, collectionPath, objectPath, ISTIO_WATCHED, SERVICE_KINDS } from './api-paths.js';

export interface ClusterViewOptions {
  readonly client: KubeClient;
  readonly logger: Logger;
  readonly instance: string;
  /** Namespaces to watch; empty = cluster-wide watch. */
  readonly namespaces: readonly string[];
  readonly cleanupClusterWide?: boolean | undefined;
  /** Kinds to watch (default ISTIO_WATCHED; with Kubernetes Services also SERVICE_KINDS). */
  readonly kinds?: readonly Kind[] | undefined;
  /** Called after every change to any cache. */
  readonly onChange: () => void;
}

export class ClusterView {
  private readonly caches: Map<Kind, ObjectCache>;
  /** Cluster-wide caches of this instance's objects (cleanupClusterWide), else undefined. */
  private readonly wide: Map<Kind, ObjectCache> | undefined;
  private readonly targeted: ReadonlySet<string>;
  readonly kinds: readonly Kind[];
  private changes = 0;
  private readonly expected = new Map<string, ExpectedWrite>();

  constructor(options: ClusterViewOptions) {
    const onChange = (): void => {
      this.changes++;
      options.onChange();
    };
    const cache = (kind: Kind, scope: { namespaces: readonly string[]; labelSelector?: string; optional?: boolean }): ObjectCache =>
      new ObjectCache({ client: options.client, kind, plural: PLURAL[kind], logger: options.logger, onChange, expected: this.expected, ...scope });
    this.kinds = options.kinds ?? ISTIO_WATCHED;
    this.caches = new Map(this.kinds.map((k) => [k, cache(k, { namespaces: options.namespaces })]));
    this.targeted = new Set(options.namespaces);
    const wide = {
      namespaces: [],
      // Only our instance's: a legacy object outside the targeted namespaces may be another
      // pre-instance deployment's (same registry names), so it is never adopted from here.
      labelSelector: `${OwnershipLabel.MANAGED_BY}=${OwnershipLabel.MANAGED_BY_VALUE},${OwnershipLabel.INSTANCE}=${options.instance}`,
      optional: true,
    };
    this.wide = options.cleanupClusterWide === true && options.namespaces.length > 0 ? new Map(this.kinds.map((k) => [k, cache(k, wide)])) : undefined;
  }

  start(signal: AbortSignal): void {
    for (const c of this.caches.values()) c.start(signal);
    for (const c of this.wide?.values() ?? []) c.start(signal);
  }

  synced(): boolean {
    for (const c of this.caches.values()) if (!c.hasSynced()) return false;
    for (const c of this.wide?.values() ?? []) if (!c.hasSynced()) return false;
    return true;
  }

  /**
   * Counts the cluster's changes a plan can see (each onChange: a list, a watch event that
   * changed a field plans read). Our own writes' outcomes (`record`, `forget`) do not count:
   * they are what a plan decided.
   */
  epoch(): number {
    return this.changes;
  }

  /** Every object the reconcile considers: the targeted namespaces, plus ours elsewhere. */
  objects(): Map<string, ObservedObject> {
    const out = new Map<string, ObservedObject>();
    for (const c of this.caches.values()) for (const [k, o] of c.objects()) out.set(k, o);
    for (const c of this.wide?.values() ?? []) {
      for (const [k, o] of c.objects()) if (!this.targeted.has(o.namespace)) out.set(k, o);
    }
    return out;
  }

  /**
   * A write of ours is about to be sent: what an apply sends (content hash, labels), or undefined
   * for a delete. Its watch echo, should it come before the answer, is not a change (epoch).
   * `settled` ends it.
   */
  expect(key: string, sent: { readonly contentHash: string | undefined; readonly labels: Readonly<Record<string, string>> } | undefined): void {
    this.expected.set(key, sent ?? GONE);
  }

  /** The write of `key` was answered (or failed). */
  settled(key: string): void {
    this.expected.delete(key);
  }

  /** The API server's answer to our apply. */
  record(o: ObservedObject): void {
    this.caches.get(o.kind)?.record(o);
  }

  /** An object we deleted (or found gone). */
  forget(kind: Kind, key: string): void {
    this.caches.get(kind)?.forget(key);
    this.wide?.get(kind)?.forget(key);
  }
}
