/**
 * The Kubernetes sink's writes of single objects: server-side apply, the release of a legacy
 * field manager after an adoption, and delete.
 *
 * Contract:
 * - Nothing is sent unless `isLeader()`; every request is fenced by it too (a write that waited
 *   in the rate limiter or a backoff past a lost lease is dropped: counted, not a failure).
 * - An apply sends the newest content of its object (pending.ts `newestContent`), stamped with
 *   our instance label and field manager; a delete carries the observed resourceVersion as a
 *   precondition, so an object changed since we saw it is never deleted (409, re-planned).
 * - Success clears the object's owed write, records the outcome in the ClusterView and
 *   `written` (generation of our last apply) at once; a 404 on delete counts as gone.
 * - Failures are logged and counted (`counts.failed`, meshbridge_kube_writes_total result
 *   error), never thrown.
 */
import { ErrorCode, MeshbridgeError } from '../../errors/index.js';
import type { Logger, Metrics } from '../../observability/index.js';
import { apiVersionOf, ContentHashAnnotation, type IstioResource, type Snapshot, type SnapshotStore } from '../../snapshot/index.js';
import { applyBody } from './apply-body.js';
import { objectPath, type ClusterView } from './cluster-view.js';
import { apiError, type KubeClient } from './kube-client.js';
import { observe, type ObservedObject } from './observed.js';
import { LEGACY_FIELD_MANAGER, fieldManagerFor } from './ownership.js';
import { newestContent, type PendingWrites } from './pending.js';

export interface ObjectWriterOptions {
  readonly client: KubeClient;
  readonly store: SnapshotStore;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly instance: string;
  readonly view: ClusterView;
  readonly pending: PendingWrites;
  /** Generation of our last successful apply, by object key (read by plan.ts). */
  readonly written: Map<string, number>;
  readonly isLeader: () => boolean;
  /** The sink's abort signal once started. */
  readonly signal: () => AbortSignal | undefined;
}

export class ObjectWriter {
  private readonly options: ObjectWriterOptions;
  readonly counts = { apply: 0, delete: 0, failed: 0 };
  /** Unix ms of the last write (apply or delete) the API server accepted. */
  lastWriteTime: number | undefined;

  constructor(options: ObjectWriterOptions) {
    this.options = options;
  }

  /** Server-side apply of `planned` (latest wins: newestContent) with our instance label; true when it succeeded. */
  async apply(planned: IstioResource, adopting: boolean, snap: Snapshot): Promise<boolean> {
    const { client, metrics } = this.options;
    if (!this.options.isLeader()) return false;
    const r = newestContent(planned, snap, this.options.store.current());
    if (r === undefined) return false;
    const body = applyBody(r, this.options.instance);
    this.options.view.expect(r.key, { contentHash: body.metadata.annotations[ContentHashAnnotation], labels: body.metadata.labels });
    try {
      const res = await client.request({
        method: 'PATCH',
        path: objectPath(r),
        query: { fieldManager: fieldManagerFor(this.options.instance), force: true },
        body,
        contentType: 'application/apply-patch+yaml',
        retryConflict: true,
        ...this.fencing(),
      });
      const obs = observe(r.kind, res);
      this.options.pending.done(r.key);
      if (obs !== undefined) {
        this.options.written.set(r.key, obs.generation);
        this.options.view.record(obs);
      }
      this.counts.apply++;
      this.lastWriteTime = Date.now();
      metrics.kubeWrites.inc({ op: 'apply', kind: r.kind, result: 'ok' });
      if (adopting) await this.releaseLegacyManager(r);
      return true;
    } catch (e) {
      if (this.fenced(e)) return false;
      this.counts.failed++;
      metrics.kubeWrites.inc({ op: 'apply', kind: r.kind, result: 'error' });
      this.options.logger.error({ resource: r.key, err: e instanceof Error ? e.message : String(e) }, 'server-side apply failed');
      return false;
    } finally {
      this.options.view.settled(r.key);
    }
  }

  /**
   * After adopting a legacy object: applies an empty configuration as the pre-instance field
   * manager, which gives up every field it co-owns with ours (the values stay, ours alone), so
   * that a field we later drop is really removed. Must run only after our own apply succeeded.
   * A failure is logged and left: the object is ours either way.
   */
  private async releaseLegacyManager(r: IstioResource): Promise<void> {
    try {
      await this.options.client.request({
        method: 'PATCH',
        path: objectPath(r),
        query: { fieldManager: LEGACY_FIELD_MANAGER },
        body: { apiVersion: apiVersionOf(r.kind), kind: r.kind, metadata: { name: r.name, namespace: r.namespace } },
        contentType: 'application/apply-patch+yaml',
        ...this.fencing(),
      });
    } catch (e) {
      if (this.fenced(e)) return;
      this.options.logger.warn({ resource: r.key, err: e instanceof Error ? e.message : String(e) }, 'adopted a legacy object but could not release its old field manager');
    }
  }

  async remove(o: ObservedObject): Promise<void> {
    const { metrics, pending, view } = this.options;
    if (!this.options.isLeader()) return;
    view.expect(o.key, undefined);
    try {
      await this.options.client.request({
        method: 'DELETE',
        path: objectPath(o),
        body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion: o.resourceVersion }, propagationPolicy: 'Background' },
        ...this.fencing(),
      });
      this.counts.delete++;
      this.lastWriteTime = Date.now();
      pending.done(o.key);
      this.options.written.delete(o.key);
      view.forget(o.kind, o.key);
      metrics.kubeWrites.inc({ op: 'delete', kind: o.kind, result: 'ok' });
    } catch (e) {
      if (this.fenced(e)) return;
      const status = apiError(e)?.status;
      if (status === 404) {
        pending.done(o.key);
        view.forget(o.kind, o.key);
        return;
      }
      // 409: changed since we saw it; the watch brings the new state and the next pass re-plans.
      this.counts.failed++;
      metrics.kubeWrites.inc({ op: 'delete', kind: o.kind, result: 'error' });
      this.options.logger.warn({ resource: o.key, status, err: e instanceof Error ? e.message : String(e) }, 'delete failed');
    } finally {
      view.settled(o.key);
    }
  }

  /** The leadership fence and abort signal every write carries. */
  private fencing(): { fence: () => boolean; signal?: AbortSignal } {
    const signal = this.options.signal();
    return { fence: () => this.options.isLeader(), ...(signal !== undefined ? { signal } : {}) };
  }

  /** A write the fence stopped (leadership lost while it waited): counted, not a failure. */
  private fenced(e: unknown): boolean {
    if (!(e instanceof MeshbridgeError) || e.code !== ErrorCode.KUBE_FENCED) return false;
    this.options.metrics.kubeWritesFenced.inc();
    this.options.logger.debug({ code: e.code }, e.message); // 'lost leadership' is logged once by the elector
    return true;
  }
}
