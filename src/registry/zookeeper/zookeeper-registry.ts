import { ErrorCode, MeshbridgeError } from '../../errors/index.js';
import { serviceKey } from '../../model/index.js';
import type { Logger } from '../../observability/index.js';
import { Backoff, type BackoffOptions } from '../../util/backoff.js';
import type { AdapterCommon } from '../kind.js';
import { ReportOnce } from '../report-once.js';
import { ServiceSetRegistry } from '../service-set.js';
import type { ListingProgress } from '../types.js';
import { serviceFromParts } from './build-service.js';
import { Listing } from './listing.js';
import { ReadQueue } from './read-queue.js';
import type { ServiceParts } from './service-parts.js';
import { SessionSupervisor } from './session-supervisor.js';
import { DubboLevels, ZOOKEEPER_REGISTRY_KIND, type ZookeeperSourceConfig } from './spec.js';
import { TaskFactory, type Task } from './tasks.js';
import { openSession, type ReadResult, type SessionOptions, type Watcher, type ZkSession } from './zk-session.js';

/** Knobs that are not configuration (tests tune them). */
export interface ZookeeperRegistryTuning {
  /** While a long listing runs, results are applied at least this often (default 200 ms). */
  readonly maxFlushDelayMs?: number;
  /** Backoff of session reopens and read retries (default 500 ms doubling to 30 s, with jitter). */
  readonly backoff?: BackoffOptions;
  /** Opens a ZooKeeper session: the real client by default, a fake in unit tests. */
  readonly openSession?: (o: SessionOptions) => ZkSession;
}

/** The resolved `zookeeper:` settings (spec.ts) plus the common adapter wiring. */
export type ZookeeperRegistryOptions = AdapterCommon & ZookeeperSourceConfig & ZookeeperRegistryTuning;

const DEFAULT_FLUSH_MS = 200;
const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000 };

/**
 * Dubbo services (and optionally plain Curator services) from ZooKeeper, watched
 * (docs/mapping.md "ZooKeeper", docs/configuration.md "zookeeper"). Session supervision is
 * session-supervisor.ts, the reads and paths tasks.ts, the tree bookkeeping listing.ts, service
 * assembly service-parts.ts; this class schedules the reads, applies them and emits the services.
 *
 * Contract:
 * - The constructor does no I/O. `start(signal)` opens the session and returns; the listing runs
 *   in the background. `hasSynced()` turns true once the first complete listing (every interface's
 *   providers, every instance's data) has been applied.
 * - Watches only: every read arms a one-shot watch, and a fired watch causes exactly one re-read
 *   of that node (which arms the next watch). An idle registry sends no reads at all.
 * - Reads run with bounded concurrency; results are applied when the read queue drains, and at
 *   least every `maxFlushDelayMs` during long listings. Only changed services are emitted.
 * - A lost connection or an expired session deletes nothing: the last known services stay
 *   (stale in status()); after a reconnect every watched folder is listed again, after a new
 *   session every node is read again, and the result converges to what ZooKeeper holds.
 * - Malformed provider URLs and instance data are reported once (stable MB_ENTRY_* codes, the
 *   node's path) and skipped; the other providers of the same interface still sync.
 * - With `watchConsumers` (the registry has a `sidecars` block), every interface's consumers
 *   folder is watched the same way, and its services carry their consuming applications;
 *   malformed consumer URLs are reported once and skipped like providers.
 */
export class ZookeeperRegistry extends ServiceSetRegistry {
  private readonly options: ZookeeperRegistryOptions;
  private readonly log: Logger;
  private readonly queue: ReadQueue;
  private readonly make: TaskFactory;
  private readonly backoff: Backoff;
  private readonly supervisor: SessionSupervisor;
  private readonly listing: Listing;
  private readonly tasks = new Map<string, Task>();
  private readonly watchers = new Map<string, Watcher>();
  /** Keys whose last read failed: read again after a backoff or the next reconnect. */
  private readonly failed = new Set<string>();
  /** Entry problems by node path or service; read failures by task key. */
  private readonly entryProblems: ReportOnce;
  private readonly readProblems: ReportOnce;
  private signal: AbortSignal | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private outageReported = false;

  constructor(options: ZookeeperRegistryOptions) {
    super(options.name, ZOOKEEPER_REGISTRY_KIND);
    this.options = options;
    this.log = options.logger.child({ registry: options.name, kind: ZOOKEEPER_REGISTRY_KIND });
    const report = (e: MeshbridgeError): void => options.context.report(e);
    this.entryProblems = new ReportOnce(report);
    this.readProblems = new ReportOnce(report);
    this.make = new TaskFactory(options.dubbo.root);
    this.backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF);
    this.queue = new ReadQueue({ concurrency: options.maxConcurrentReads, run: (key) => this.runTask(key), onIdle: () => this.onQueueIdle() });
    this.supervisor = new SessionSupervisor({
      connectString: options.connectString,
      sessionTimeoutMs: options.sessionTimeoutMs,
      digest: options.auth !== undefined ? { username: options.auth.username, password: options.auth.password } : undefined,
      open: options.openSession ?? openSession,
      backoff: this.backoff,
      logger: this.log,
      onConnected: (full) => this.onConnected(full),
      onDown: (message, always) => this.onDown(message, always),
    });
    const levels = options.dubbo.levels;
    const interfaceLevel = levels === DubboLevels.INTERFACE || levels === DubboLevels.BOTH;
    this.listing = new Listing(this.make, interfaceLevel, {
      read: (task) => this.push(task),
      forget: (task) => this.forget(task),
      problem: (code, path, message, details) => this.reportEntry(code, path, message, details),
      clearProblem: (path) => this.entryProblems.clear(path),
      changed: () => this.scheduleFlush(),
    }, options.watchConsumers === true);
    if (levels === DubboLevels.APPLICATION || levels === DubboLevels.BOTH) this.listing.addTree(options.dubbo.servicesPath, 'application', 'dubbo');
    if (options.curator !== undefined) this.listing.addTree(options.curator.basePath, 'curator', options.curator.protocol);
  }

  /** Diagnostics: reads sent over every session so far (each arms at most one watch), and sessions opened. */
  stats(): { readonly reads: number; readonly sessions: number; readonly queued: number } {
    return { ...this.supervisor.stats(), queued: this.queue.size };
  }

  /** While the first listing runs: the services built so far and the reads still queued. */
  protected override listingProgress(): ListingProgress {
    return { listed: this.services().size, unit: 'services', pending: this.queue.size };
  }

  start(signal: AbortSignal): Promise<void> {
    if (!this.claimStart(signal)) return Promise.resolve();
    this.signal = signal;
    signal.addEventListener('abort', () => this.shutdown(), { once: true });
    this.supervisor.start(signal);
    return Promise.resolve();
  }

  // ---- connection ----

  private onConnected(full: boolean): void {
    this.outageReported = false;
    this.clearError();
    this.relist(full);
    this.queue.resume();
    if (this.queue.idle) this.onQueueIdle();
  }

  private onDown(message: string, always: boolean): void {
    this.queue.pause();
    const error = new MeshbridgeError(ErrorCode.REGISTRY_UNREACHABLE, message, { path: this.name, details: { registry: this.name } });
    if (always || !this.outageReported) {
      this.outageReported = true;
      this.options.context.report(error);
    }
    this.markDisconnected(error);
  }

  private shutdown(): void {
    this.queue.pause();
    this.queue.clear();
    for (const t of [this.flushTimer, this.retryTimer]) clearTimeout(t);
  }

  // ---- reads ----

  /**
   * Queues the listing of every watched folder, the reads that failed, and the data of instances
   * not read yet; `full` (a new session: every watch is gone) re-reads every instance's data.
   */
  private relist(full: boolean): void {
    const failed = [...this.failed];
    this.failed.clear();
    for (const key of failed) this.queue.push(key);
    for (const task of this.listing.relistTasks(full)) this.push(task);
  }

  private push(task: Task): void {
    this.tasks.set(task.key, task);
    this.queue.push(task.key);
  }

  /** The one watcher of a task: a fired watch re-reads the node (an exists watch lists the folder). */
  private watcher(task: Task): Watcher {
    let w = this.watchers.get(task.key);
    if (w === undefined) {
      const target = task.op === 'exists' ? task.list : task;
      w = () => {
        if (this.signal?.aborted === false) this.push(target);
      };
      this.watchers.set(task.key, w);
    }
    return w;
  }

  private async runTask(key: string): Promise<void> {
    const task = this.tasks.get(key);
    const session = this.supervisor.current();
    if (task === undefined || session === undefined || !this.listing.tracked(task)) return;
    try {
      await this.read(session, task);
    } catch (e) {
      this.options.context.report(new MeshbridgeError(ErrorCode.INTERNAL, `zookeeper read ${key} failed: ${String(e)}`, { cause: e }));
    }
  }

  /** Reads one node and applies what it holds; a folder that is missing gets a creation watch. */
  private async read(session: ZkSession, t: Task): Promise<void> {
    if (t.op === 'exists') {
      const r = await session.exists(t.path, this.watcher(t));
      if (this.usable(r, t) && r.type === 'ok' && r.value) this.push(t.list);
      return;
    }
    if (t.op === 'instance') {
      const r = await session.getData(t.path, this.watcher(t));
      if (this.usable(r, t)) this.listing.applyInstance(t.tree, t.name, t.id, r.type === 'ok' ? r.value : undefined);
      return;
    }
    const r = await session.getChildren(t.path, this.watcher(t));
    if (!this.usable(r, t)) return;
    const children = r.type === 'ok' ? r.value : [];
    if (r.type === 'no-node' && t.op !== 'tree-service') this.push(this.make.exists(t));
    this.listing.applyChildren(t, children);
  }

  /** True for ok and no-node; a failed read is retried after a backoff or with the next relisting. */
  private usable<T>(r: ReadResult<T>, t: Task): r is Exclude<ReadResult<T>, { type: 'error' }> {
    if (r.type !== 'error') {
      if (this.readProblems.clear(t.key)) this.log.info({ path: t.path }, 'zookeeper read works again');
      return true;
    }
    this.failed.add(t.key);
    if (r.failure === 'no-auth' || r.failure === 'other') {
      const message = `cannot read ${t.path}: ${r.message}; the last known state of it is kept, retrying`;
      this.readProblems.problem(t.key, new MeshbridgeError(ErrorCode.REGISTRY_UNREACHABLE, message, { path: this.name, details: { registry: this.name, node: t.path } }), message);
    }
    this.scheduleRetry();
    return false;
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.supervisor.connected()) return; // the reconnect lists everything again
      const keys = [...this.failed];
      this.failed.clear();
      for (const k of keys) this.queue.push(k);
    }, this.backoff.next());
  }

  /** Drops the bookkeeping of a task whose node is gone (a late watch then finds no task). */
  private forget(t: Task): void {
    this.tasks.delete(t.key);
    this.watchers.delete(t.key);
    this.failed.delete(t.key);
    this.readProblems.clear(t.key);
  }

  private reportEntry(code: ErrorCode, path: string, message: string, details: Record<string, string>): void {
    this.entryProblems.problem(path, new MeshbridgeError(code, message, { path: `${this.name}: ${path}`, details: { registry: this.name, ...details } }), `${code} ${message}`);
  }

  // ---- turning state into services ----

  private scheduleFlush(): void {
    if (this.flushTimer !== undefined) return;
    this.flushTimer = setTimeout(() => this.flush(), this.options.maxFlushDelayMs ?? DEFAULT_FLUSH_MS);
  }

  private onQueueIdle(): void {
    if (!this.queue.idle || this.signal?.aborted !== false) return;
    this.flush();
    if (!this.supervisor.connected()) return;
    const first = !this.hasSynced();
    this.markSyncedNow();
    if (first) {
      const st = this.status();
      this.log.info({ services: st.services, endpoints: st.endpoints, reads: this.stats().reads }, 'zookeeper registry synced');
    }
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.listing.flush({ apply: (s) => this.apply(s), remove: (name) => this.remove(serviceKey({ registry: this.name, name })) });
  }

  /** Builds and upserts one service; false (nothing upserted) when no endpoint is left. */
  private apply(s: ServiceParts): boolean {
    const { value: service, problems } = serviceFromParts({ registry: this.name, kind: ZOOKEEPER_REGISTRY_KIND, ...s });
    for (const p of problems) this.reportEntry(p.code, s.name, p.reason, { service: s.name });
    if (service === undefined) return false;
    this.upsert(service);
    return true;
  }
}

/** Factory for the composition root: builds (no I/O) a ZooKeeper registry. */
export function createZookeeperRegistry(options: ZookeeperRegistryOptions): ZookeeperRegistry {
  return new ZookeeperRegistry(options);
}
