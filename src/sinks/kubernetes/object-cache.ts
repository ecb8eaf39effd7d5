import type { Logger } from '../../observability/index.js';
import { apiError, type KubeClient } from './kube-client.js';
import { collectionPath } from './api-paths.js';
import { observe, sameRecord, samePlanFields, type ObservedObject } from './observed.js';

export interface ObjectCacheOptions {
  readonly client: KubeClient;
  readonly kind: ObservedObject['kind'];
  /** Plural resource name, e.g. serviceentries. */
  readonly plural: string;
  /** Namespaces to watch; empty = all namespaces. */
  readonly namespaces: readonly string[];
  /** Only objects with these labels (a Kubernetes label selector); undefined: every object. */
  readonly labelSelector?: string | undefined;
  /**
   * True: a 403 on the list is not retried; the cache counts as synced and stays empty
   * (`forbidden()` says so). For an optional, wider view the RBAC may not grant.
   */
  readonly optional?: boolean | undefined;
  readonly logger: Logger;
  /** Objects per list page (default LIST_PAGE). */
  readonly listPage?: number | undefined;
  /**
   * Called after every change to the cache a plan can see (after the initial list too): not for
   * events that change none of the fields plans read (observed.ts samePlanFields).
   */
  readonly onChange: () => void;
  /**
   * Writes of ours in flight, by key: what an apply sent (content hash and labels), or GONE for
   * a delete. A watch event that is their echo arriving before the API server's answer is no
   * change (it is what a plan decided); shared by every cache of a view.
   */
  readonly expected?: ReadonlyMap<string, ExpectedWrite> | undefined;
}

/** A write of ours in flight (object-cache's `expected`). */
export type ExpectedWrite = { readonly contentHash: string | undefined; readonly labels: Readonly<Record<string, string>> } | typeof GONE;

/** `expected` value of a delete in flight. */
export const GONE = 'gone';

/**
 * A list+watch cache of one Istio kind, fed by the API server (the informer pattern: list, then
 * watch from the list's resourceVersion; a 410 Gone re-lists). Holds every object of the kind in
 * the watched namespaces, owned or not: unowned ServiceEntries matter for host clashes.
 *
 * Contract: `hasSynced()` is true once every namespace was listed; `objects()` is the current
 * view; no write ever happens here.
 */
export class ObjectCache {
  private readonly options: ObjectCacheOptions;
  private readonly items = new Map<string, ObservedObject>();
  private syncedNamespaces = new Set<string>();
  private denied = false;

  constructor(options: ObjectCacheOptions) {
    this.options = options;
  }

  hasSynced(): boolean {
    const wanted = this.options.namespaces.length === 0 ? 1 : this.options.namespaces.length;
    return this.syncedNamespaces.size >= wanted;
  }

  /** True when an optional cache was refused (403) and gave up. */
  forbidden(): boolean {
    return this.denied;
  }

  objects(): ReadonlyMap<string, ObservedObject> {
    return this.items;
  }

  /**
   * Puts the API server's answer to our own write into the cache at once, so the next
   * reconcile does not write again before the watch event arrives.
   */
  record(obj: ObservedObject): void {
    const old = this.items.get(obj.key);
    if (old !== undefined && newer(old.resourceVersion, obj.resourceVersion)) return;
    this.items.set(obj.key, obj);
  }

  forget(key: string): void {
    this.items.delete(key);
  }

  /** Starts one list+watch loop per namespace (or one cluster-wide); returns at once. */
  start(signal: AbortSignal): void {
    const scopes = this.options.namespaces.length === 0 ? [undefined] : this.options.namespaces;
    for (const ns of scopes) void this.loop(ns, signal);
  }

  private selector(): Record<string, string> {
    return this.options.labelSelector === undefined ? {} : { labelSelector: this.options.labelSelector };
  }

  private path(ns: string | undefined): string {
    return collectionPath(this.options.kind, ns);
  }

  private async loop(ns: string | undefined, signal: AbortSignal): Promise<void> {
    let rv: string | undefined;
    let backoff = 500;
    while (!signal.aborted) {
      try {
        if (rv === undefined) rv = await this.list(ns, signal);
        let lastRv: string = rv;
        await this.options.client.watch(
          this.path(ns),
          { resourceVersion: rv, timeoutSeconds: 300, ...this.selector() },
          (ev) => {
            const meta = (ev.object as { metadata?: { resourceVersion?: string } }).metadata;
            if (meta?.resourceVersion !== undefined) lastRv = meta.resourceVersion;
            if (ev.type === 'BOOKMARK') return;
            const obj = observe(this.options.kind, ev.object);
            if (obj === undefined) return;
            const old = this.items.get(obj.key);
            // onChange only for what can change a plan: not a status write, the echo of our
            // own write (record() put it here already) or an event older than what we hold.
            let changed: boolean;
            if (ev.type === 'DELETED') {
              changed = old !== undefined;
              this.items.delete(obj.key);
            } else if (old === undefined || !newer(old.resourceVersion, obj.resourceVersion)) {
              changed = old === undefined || !samePlanFields(old, obj);
              this.items.set(obj.key, obj);
            } else changed = false;
            const mine = this.options.expected?.get(obj.key);
            if (mine !== undefined && (ev.type === 'DELETED' ? mine === GONE : mine !== GONE && isEcho(obj, mine))) changed = false;
            if (changed) this.options.onChange();
          },
          signal,
        );
        rv = lastRv;
        backoff = 500;
      } catch (e) {
        if (signal.aborted) return;
        const api = apiError(e);
        if (api?.status === 410) {
          rv = undefined; // too old: re-list
          continue;
        }
        if (api?.status === 403 && this.options.optional === true) {
          this.denied = true;
          this.syncedNamespaces.add(ns ?? '*');
          this.options.logger.warn({ kind: this.options.kind, namespace: ns, labelSelector: this.options.labelSelector }, 'list forbidden; this optional view stays empty');
          this.options.onChange();
          return;
        }
        this.options.logger.warn({ kind: this.options.kind, namespace: ns, err: e instanceof Error ? e.message : String(e) }, 'watch failed; retrying');
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  /**
   * Lists the scope in pages of `listPage` objects (one consistent snapshot across pages, as
   * informers do): a restart against 10,000 existing objects parses 20 small responses instead
   * of one of ~30 MB. An expired continue token (410) fails the list; the loop lists again.
   */
  private async list(ns: string | undefined, signal: AbortSignal): Promise<string> {
    const fresh = new Map<string, ObservedObject>();
    let rv = '';
    let cont: string | undefined;
    do {
      const res: ListPage = await this.options.client.request<ListPage>({
        method: 'GET',
        path: this.path(ns),
        query: { ...this.selector(), limit: this.options.listPage ?? LIST_PAGE, ...(cont !== undefined ? { continue: cont } : {}) },
        signal,
      });
      for (const raw of res.items ?? []) {
        const obj = observe(this.options.kind, raw);
        if (obj !== undefined) fresh.set(obj.key, obj);
      }
      rv = res.metadata?.resourceVersion ?? rv;
      cont = res.metadata?.continue !== undefined && res.metadata.continue !== '' ? res.metadata.continue : undefined;
    } while (cont !== undefined);
    // Replace this scope's entries with the fresh list.
    for (const [k, v] of this.items) if ((ns === undefined || v.namespace === ns) && !fresh.has(k)) this.items.delete(k);
    for (const [k, v] of fresh) this.items.set(k, v);
    this.syncedNamespaces.add(ns ?? '*');
    this.options.onChange();
    return rv;
  }
}

/** Objects per list page. */
export const LIST_PAGE = 500;

interface ListPage {
  readonly metadata?: { readonly resourceVersion?: string; readonly continue?: string };
  readonly items?: unknown[];
}

/** The event carries what our apply in flight sent: same content hash, same labels. */
function isEcho(obj: ObservedObject, sent: { readonly contentHash: string | undefined; readonly labels: Readonly<Record<string, string>> }): boolean {
  return obj.contentHash === sent.contentHash && sameRecord(obj.labels, sent.labels);
}

/** True when resourceVersion `a` is known to be newer than `b` (both numeric, as etcd's are). */
function newer(a: string, b: string): boolean {
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) > BigInt(b);
}
