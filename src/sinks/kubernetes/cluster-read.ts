/**
 * A one-shot, read-only look at the cluster as the Kubernetes sink sees it, for `meshbridge diff`.
 *
 * Contract:
 * - `readClusterView` builds the sink's own ClusterView (same namespaces, instance and cluster-wide
 *   cleanup view), waits until every cache listed, and returns `objects()`: exactly the map a
 *   reconcile plans against. Before that, one small list per kind and scope checks access, so a
 *   missing CRD, a 403 or an unreachable API server fails at once (MB_DIFF_CLUSTER_READ) instead
 *   of being retried forever as the sink does; the optional cluster-wide view keeps the sink's
 *   rule (a 403 leaves it empty).
 * - `readLive` GETs whole objects (for the YAML diff); one gone meanwhile is left out.
 * - `ReadOnlyKubeClient` refuses every request but GET: nothing here can write.
 */
import { ErrorCode, MeshbridgeError } from '../../errors/index.js';
import type { Logger } from '../../observability/index.js';
import { ClusterView, ISTIO_WATCHED, PLURAL, collectionPath, objectPath } from './cluster-view.js';
import { apiError, KubeClient, type RequestArgs } from './kube-client.js';
import type { ObservedObject } from './observed.js';

/** A KubeClient that sends GETs only (lists, watches, reads); any other method is a bug. */
export class ReadOnlyKubeClient extends KubeClient {
  override request<T = unknown>(args: RequestArgs): Promise<T> {
    if (args.method !== 'GET') return Promise.reject(new MeshbridgeError(ErrorCode.INTERNAL, `read-only Kubernetes client: refused to send ${args.method} ${args.path}`));
    return super.request<T>(args);
  }
}

export interface ClusterReadOptions {
  readonly client: KubeClient;
  readonly logger: Logger;
  readonly instance: string;
  /** The sink's namespaces; empty = cluster-wide. */
  readonly namespaces: readonly string[];
  readonly cleanupClusterWide?: boolean | undefined;
  /** Give up (MB_DIFF_CLUSTER_READ) when the view has not listed within this time. */
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

const POLL_MS = 20;

export async function readClusterView(o: ClusterReadOptions): Promise<Map<string, ObservedObject>> {
  await probe(o);
  const inner = new AbortController();
  const stop = (): void => inner.abort();
  o.signal.addEventListener('abort', stop, { once: true });
  const view = new ClusterView({ client: o.client, logger: o.logger, instance: o.instance, namespaces: o.namespaces, cleanupClusterWide: o.cleanupClusterWide, onChange: () => undefined });
  view.start(inner.signal);
  try {
    const end = Date.now() + o.timeoutMs;
    while (!view.synced()) {
      if (o.signal.aborted) throw new MeshbridgeError(ErrorCode.DIFF_CLUSTER_READ, 'aborted while listing the cluster');
      if (Date.now() > end) throw new MeshbridgeError(ErrorCode.DIFF_CLUSTER_READ, `the cluster's ServiceEntries and WorkloadEntries were not listed within ${o.timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    return view.objects();
  } finally {
    inner.abort();
    o.signal.removeEventListener('abort', stop);
  }
}

async function probe(o: ClusterReadOptions): Promise<void> {
  const scopes = o.namespaces.length === 0 ? [undefined] : o.namespaces;
  for (const ns of scopes) {
    for (const kind of ISTIO_WATCHED) {
      const plural = PLURAL[kind];
      const path = collectionPath(kind, ns);
      try {
        await o.client.request({ method: 'GET', path, query: { limit: 1 }, signal: o.signal });
      } catch (e) {
        const api = apiError(e);
        const hint = api?.status === 404 ? ' (are Istio\'s CRDs installed?)' : api?.status === 403 ? ' (RBAC: diff needs list and watch on them)' : '';
        const text = e instanceof Error ? e.message : String(e);
        throw new MeshbridgeError(ErrorCode.DIFF_CLUSTER_READ, `cannot list ${plural}${ns === undefined ? ' cluster-wide' : ` in namespace ${ns}`}: ${text}${hint}`);
      }
    }
  }
}

/** The live objects of `objects`, by key, as the API server returns them. */
export async function readLive(client: KubeClient, objects: readonly ObservedObject[], signal: AbortSignal): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for (const o of objects) {
    try {
      out.set(o.key, await client.request({ method: 'GET', path: objectPath(o), signal }));
    } catch (e) {
      if (apiError(e)?.status === 404) continue;
      throw new MeshbridgeError(ErrorCode.DIFF_CLUSTER_READ, `cannot read ${o.key}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return out;
}
