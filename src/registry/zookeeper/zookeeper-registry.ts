import { ErrorCode, MeshbridgeError } from '../../errors/index.js';
import { serviceKey } from '../../model/index.js';
import type { Logger } from '../../observability/index.js';
import { ServiceSetRegistry } from '../service-set.js';
import { buildService, type EndpointPart } from './build-service.js';
import { parseCuratorInstance, type CuratorParse } from './curator-instance.js';
import { DubboLevels, ZOOKEEPER_REGISTRY_KIND, type ZookeeperRegistryOptions } from './options.js';
import { interfaceServiceName, parseProviderNode, providerPart, type ProviderParse } from './providers.js';
import { ReadQueue } from './read-queue.js';
import { openSession, type ReadResult, type SessionState, type Watcher, type ZkSession } from './zk-session.js';

/** Children of the Dubbo root that are not interfaces (Dubbo 3 writes them beside the interfaces). */
const NOT_INTERFACES: ReadonlySet<string> = new Set(['mapping', 'metadata', 'config']);
const DEFAULT_CONCURRENCY = 64;
const DEFAULT_FLUSH_MS = 200;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/** A Curator ServiceDiscovery tree: Dubbo's application level or plain Curator (Spring Cloud). */
interface CuratorTree {
  readonly index: number;
  readonly base: string;
  readonly level: 'application' | 'curator';
  readonly defaultProtocol: string;
  /** service name -> instance id -> [raw data, parse] (undefined until read). */
  readonly services: Map<string, Map<string, readonly [string, CuratorParse] | undefined>>;
  readonly emitted: Set<string>;
  readonly dirty: Set<string>;
}

interface InterfaceState {
  /** Provider node name -> its parse (node names never change content). */
  readonly nodes: Map<string, ProviderParse>;
}

/** One read, identified by its key (`op|tree|name|id`). Exists reads re-arm creation watches. */
type Task =
  | { readonly op: 'dubbo-root' | 'dubbo-root-exists' }
  | { readonly op: 'providers' | 'providers-exists'; readonly iface: string }
  | { readonly op: 'tree-root' | 'tree-root-exists'; readonly tree: CuratorTree }
  | { readonly op: 'tree-service'; readonly tree: CuratorTree; readonly name: string }
  | { readonly op: 'instance'; readonly tree: CuratorTree; readonly name: string; readonly id: string };

function taskKey(t: Task): string {
  switch (t.op) {
    case 'dubbo-root':
    case 'dubbo-root-exists':
      return t.op;
    case 'providers':
    case 'providers-exists':
      return `${t.op}|${t.iface}`;
    case 'tree-root':
    case 'tree-root-exists':
      return `${t.op}|${t.tree.index}`;
    case 'tree-service':
      return `${t.op}|${t.tree.index}|${t.name}`;
    case 'instance':
      return `${t.op}|${t.tree.index}|${t.name}|${t.id}`;
  }
}

/** The listing an exists task waits for (other tasks: themselves). */
function listTaskOf(t: Task): Task {
  switch (t.op) {
    case 'dubbo-root-exists':
      return { op: 'dubbo-root' };
    case 'providers-exists':
      return { op: 'providers', iface: t.iface };
    case 'tree-root-exists':
      return { op: 'tree-root', tree: t.tree };
    default:
      return t;
  }
}

function join(base: string, child: string): string {
  return base === '/' ? `/${child}` : `${base}/${child}`;
}

/**
 * Dubbo services (and optionally plain Curator services) from ZooKeeper, watched
 * (docs/mapping.md "ZooKeeper", docs/configuration.md "zookeeper").
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
 */
export class ZookeeperRegistry extends ServiceSetRegistry {
  private readonly o: ZookeeperRegistryOptions;
  private readonly log: Logger;
  private readonly queue: ReadQueue;
  private readonly interfaceLevel: boolean;
  private readonly trees: CuratorTree[] = [];
  private readonly interfaces = new Map<string, InterfaceState>();
  /** Interface -> the service names (interfaceServiceName) last emitted for it. */
  private readonly emittedByInterface = new Map<string, Set<string>>();
  private readonly dirtyInterfaces = new Set<string>();
  private readonly tasks = new Map<string, Task>();
  private readonly watchers = new Map<string, Watcher>();
  /** Keys whose last read failed: read again after a backoff or the next reconnect. */
  private readonly failed = new Set<string>();
  /** Problems reported for a key (node path or service), so a persisting one is reported once. */
  private readonly reported = new Map<string, string>();
  private session: ZkSession | undefined;
  private sessions = 0;
  private readsOfClosedSessions = 0;
  private zkConnected = false;
  /** The next 'connected' is a new session: every node must be read (all watches are gone). */
  private needFullRead = true;
  private signal: AbortSignal | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private sessionTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private backoffMs = BACKOFF_MIN_MS;
  private outageReported = false;

  constructor(options: ZookeeperRegistryOptions) {
    super(options.name, ZOOKEEPER_REGISTRY_KIND);
    this.o = options;
    this.log = options.logger.child({ registry: options.name, kind: ZOOKEEPER_REGISTRY_KIND });
    this.queue = new ReadQueue({
      concurrency: options.maxConcurrentReads ?? DEFAULT_CONCURRENCY,
      run: (key) => this.runTask(key),
      onIdle: () => this.onQueueIdle(),
    });
    const levels = options.dubbo.levels;
    this.interfaceLevel = levels === DubboLevels.INTERFACE || levels === DubboLevels.BOTH;
    if (levels === DubboLevels.APPLICATION || levels === DubboLevels.BOTH) this.addTree(options.dubbo.servicesPath, 'application', 'dubbo');
    if (options.curator !== undefined) this.addTree(options.curator.basePath, 'curator', options.curator.protocol);
  }

  /** Diagnostics: reads sent over every session so far (each arms at most one watch), and sessions opened. */
  stats(): { readonly reads: number; readonly sessions: number; readonly queued: number } {
    return { reads: this.readsOfClosedSessions + (this.session?.reads ?? 0), sessions: this.sessions, queued: this.queue.size };
  }

  async start(signal: AbortSignal): Promise<void> {
    if (this.signal !== undefined) throw new MeshbridgeError(ErrorCode.INTERNAL, `registry ${this.name} started twice`);
    this.signal = signal;
    if (signal.aborted) return;
    signal.addEventListener('abort', () => this.shutdown(), { once: true });
    this.openNewSession();
    return Promise.resolve();
  }

  private addTree(base: string, level: CuratorTree['level'], defaultProtocol: string): void {
    this.trees.push({ index: this.trees.length, base, level, defaultProtocol, services: new Map(), emitted: new Set(), dirty: new Set() });
  }

  // ---- session lifecycle ----

  private openNewSession(): void {
    if (this.signal?.aborted !== false) return;
    this.sessions++;
    this.needFullRead = true;
    const session: ZkSession = openSession({
      connectString: this.o.connectString,
      sessionTimeoutMs: this.o.sessionTimeoutMs,
      ...(this.o.digest !== undefined ? { digest: this.o.digest } : {}),
      onState: (s) => {
        if (this.session === session) this.onSessionState(s);
      },
    });
    this.session = session;
    this.armWatchdog();
  }

  /**
   * The client retries its servers by itself, but hangs on a connection that was accepted and
   * never answered. Not connected for two session timeouts, the session is expired on the server
   * anyway: open a new one.
   */
  private armWatchdog(): void {
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => {
      if (this.zkConnected || this.signal?.aborted !== false) return;
      this.unreachable(`cannot reach ${this.serversForMessages()} for ${2 * this.o.sessionTimeoutMs} ms; keeping the last known services, opening a new session`);
      this.retireSession();
      clearTimeout(this.sessionTimer);
      this.sessionTimer = setTimeout(() => this.openNewSession(), this.nextBackoff());
    }, 2 * this.o.sessionTimeoutMs);
  }

  private onSessionState(s: SessionState): void {
    switch (s) {
      case 'connected': {
        clearTimeout(this.connectTimer);
        this.zkConnected = true;
        this.outageReported = false;
        this.backoffMs = BACKOFF_MIN_MS;
        this.clearError();
        const full = this.needFullRead;
        this.needFullRead = false;
        this.log.info({ full, sessions: this.sessions }, full ? 'zookeeper session established; listing everything' : 'zookeeper reconnected; listing again');
        this.relist(full);
        this.queue.resume();
        if (this.queue.idle) this.onQueueIdle();
        break;
      }
      case 'disconnected':
        if (!this.zkConnected) break;
        this.zkConnected = false;
        this.queue.pause();
        this.armWatchdog();
        this.unreachable(`lost the connection to ${this.serversForMessages()}; keeping the last known services, reconnecting`);
        break;
      case 'expired':
      case 'auth-failed': {
        this.zkConnected = false;
        this.queue.pause();
        clearTimeout(this.connectTimer);
        this.retireSession();
        const why =
          s === 'expired'
            ? 'zookeeper session expired; keeping the last known services, opening a new session'
            : `authentication failed at ${this.serversForMessages()} (check zookeeper.auth); retrying`;
        this.unreachable(why, s === 'auth-failed');
        const delay = this.nextBackoff();
        clearTimeout(this.sessionTimer);
        this.sessionTimer = setTimeout(() => this.openNewSession(), delay);
        break;
      }
    }
  }

  private retireSession(): void {
    if (this.session === undefined) return;
    this.readsOfClosedSessions += this.session.reads;
    this.session.close();
    this.session = undefined;
  }

  private unreachable(message: string, always = false): void {
    const error = new MeshbridgeError(ErrorCode.REGISTRY_UNREACHABLE, message, { path: this.name, details: { registry: this.name } });
    if (always || !this.outageReported) {
      this.outageReported = true;
      this.o.context.report(error);
      this.log.warn({ code: error.code, synced: this.hasSynced() }, message);
    }
    this.markDisconnected(error);
  }

  private nextBackoff(): number {
    const d = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    return Math.round(d / 2 + Math.random() * d);
  }

  private shutdown(): void {
    this.zkConnected = false;
    this.queue.pause();
    this.queue.clear();
    for (const t of [this.flushTimer, this.retryTimer, this.sessionTimer, this.connectTimer]) clearTimeout(t);
    this.retireSession();
  }

  /** The folder a listing task reads. */
  private listPath(t: Task): string {
    const root = this.o.dubbo.root;
    switch (t.op) {
      case 'dubbo-root':
      case 'dubbo-root-exists':
        return root;
      case 'providers':
      case 'providers-exists':
        return join(join(root, t.iface), 'providers');
      case 'tree-root':
      case 'tree-root-exists':
        return t.tree.base;
      case 'tree-service':
        return join(t.tree.base, t.name);
      case 'instance':
        return join(join(t.tree.base, t.name), t.id);
    }
  }

  private serversForMessages(): string {
    return this.o.connectString;
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
    if (this.interfaceLevel) {
      this.push({ op: 'dubbo-root' });
      for (const iface of this.interfaces.keys()) this.push({ op: 'providers', iface });
    }
    for (const tree of this.trees) {
      this.push({ op: 'tree-root', tree });
      for (const [name, instances] of tree.services) {
        this.push({ op: 'tree-service', tree, name });
        for (const [id, entry] of instances) if (full || entry === undefined) this.push({ op: 'instance', tree, name, id });
      }
    }
  }

  private push(task: Task): void {
    const key = taskKey(task);
    this.tasks.set(key, task);
    this.queue.push(key);
  }

  /** The one watcher of a key: a fired watch re-reads the key (exists watches re-list the folder). */
  private watcher(task: Task): Watcher {
    const key = taskKey(task);
    let w = this.watchers.get(key);
    if (w === undefined) {
      const target = listTaskOf(task);
      w = () => {
        if (this.signal?.aborted === false) this.push(target);
      };
      this.watchers.set(key, w);
    }
    return w;
  }

  private async runTask(key: string): Promise<void> {
    const task = this.tasks.get(key);
    const session = this.session;
    if (task === undefined || session === undefined || !this.zkConnected || !this.tracked(task)) return;
    try {
      await this.read(session, task, key);
    } catch (e) {
      this.o.context.report(new MeshbridgeError(ErrorCode.INTERNAL, `zookeeper read ${key} failed: ${String(e)}`, { cause: e }));
    }
  }

  /** Whether the task's node still matters (its parent still lists it). */
  private tracked(t: Task): boolean {
    switch (t.op) {
      case 'dubbo-root':
      case 'dubbo-root-exists':
      case 'tree-root':
      case 'tree-root-exists':
        return true;
      case 'providers':
      case 'providers-exists':
        return this.interfaces.has(t.iface);
      case 'tree-service':
        return t.tree.services.has(t.name);
      case 'instance':
        return t.tree.services.get(t.name)?.has(t.id) === true;
    }
  }

  private async read(session: ZkSession, t: Task, key: string): Promise<void> {
    const root = this.o.dubbo.root;
    switch (t.op) {
      case 'dubbo-root': {
        const r = await session.getChildren(root, this.watcher(t));
        if (!this.usable(r, key, root)) return;
        const names = r.type === 'ok' ? r.value : [];
        if (r.type === 'no-node') this.push({ op: 'dubbo-root-exists' });
        this.applyInterfaces(names);
        return;
      }
      case 'providers': {
        const path = join(join(root, t.iface), 'providers');
        const r = await session.getChildren(path, this.watcher(t));
        if (!this.usable(r, key, path)) return;
        if (r.type === 'no-node') this.push({ op: 'providers-exists', iface: t.iface });
        this.applyProviders(t.iface, r.type === 'ok' ? r.value : []);
        return;
      }
      case 'dubbo-root-exists':
      case 'providers-exists':
      case 'tree-root-exists': {
        const list = listTaskOf(t);
        const path = this.listPath(list);
        const r = await session.exists(path, this.watcher(t));
        if (!this.usable(r, key, path)) return;
        if (r.type === 'ok' && r.value) this.push(list);
        return;
      }
      case 'tree-root': {
        const r = await session.getChildren(t.tree.base, this.watcher(t));
        if (!this.usable(r, key, t.tree.base)) return;
        if (r.type === 'no-node') this.push({ op: 'tree-root-exists', tree: t.tree });
        this.applyTreeServices(t.tree, r.type === 'ok' ? r.value : []);
        return;
      }
      case 'tree-service': {
        const path = join(t.tree.base, t.name);
        const r = await session.getChildren(path, this.watcher(t));
        if (!this.usable(r, key, path)) return;
        this.applyTreeInstances(t.tree, t.name, r.type === 'ok' ? r.value : []);
        return;
      }
      case 'instance': {
        const path = join(join(t.tree.base, t.name), t.id);
        const r = await session.getData(path, this.watcher(t));
        if (!this.usable(r, key, path)) return;
        this.applyInstance(t.tree, t.name, t.id, r.type === 'ok' ? r.value : undefined);
        return;
      }
    }
  }

  /** True for ok and no-node; a failed read is retried after a backoff or with the next relisting. */
  private usable<T>(r: ReadResult<T>, key: string, path: string): r is Exclude<ReadResult<T>, { type: 'error' }> {
    if (r.type !== 'error') {
      if (this.reported.delete(`read|${key}`)) this.log.info({ path }, 'zookeeper read works again');
      return true;
    }
    this.failed.add(key);
    if (r.failure === 'no-auth' || r.failure === 'other') {
      const message = `cannot read ${path}: ${r.message}; the last known state of it is kept, retrying`;
      if (this.reported.get(`read|${key}`) !== message) {
        this.reported.set(`read|${key}`, message);
        this.o.context.report(new MeshbridgeError(ErrorCode.REGISTRY_UNREACHABLE, message, { path: this.name, details: { registry: this.name, node: path } }));
        this.log.warn({ path, failure: r.failure }, message);
      }
    }
    this.scheduleRetry();
    return false;
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.zkConnected) return; // the reconnect lists everything again
      const keys = [...this.failed];
      this.failed.clear();
      for (const k of keys) this.queue.push(k);
    }, this.nextBackoff());
  }

  // ---- applying listings ----

  private applyInterfaces(names: readonly string[]): void {
    const now = new Set(names.filter((n) => !NOT_INTERFACES.has(n)));
    for (const iface of now) {
      if (this.interfaces.has(iface)) continue;
      this.interfaces.set(iface, { nodes: new Map() });
      this.push({ op: 'providers', iface });
    }
    for (const iface of [...this.interfaces.keys()]) {
      if (now.has(iface)) continue;
      this.interfaces.delete(iface);
      for (const op of ['providers', 'providers-exists'] as const) this.forget({ op, iface });
      this.markInterfaceDirty(iface);
    }
  }

  /** Drops the bookkeeping of a task whose node is gone (a late watch then finds no task). */
  private forget(t: Task): void {
    const key = taskKey(t);
    this.tasks.delete(key);
    this.watchers.delete(key);
    this.failed.delete(key);
    this.reported.delete(`read|${key}`);
  }

  private applyProviders(iface: string, nodeNames: readonly string[]): void {
    const state = this.interfaces.get(iface);
    if (state === undefined) return;
    const now = new Set(nodeNames);
    let changed = false;
    for (const node of now) {
      if (state.nodes.has(node)) continue;
      const parsed = parseProviderNode(node);
      state.nodes.set(node, parsed);
      changed = true;
      if (parsed.type === 'invalid') {
        const path = join(join(join(this.o.dubbo.root, iface), 'providers'), node);
        this.reportEntry(parsed.code, path, parsed.message, { interface: iface });
      }
    }
    for (const node of [...state.nodes.keys()]) {
      if (now.has(node)) continue;
      state.nodes.delete(node);
      this.reported.delete(`entry|${join(join(join(this.o.dubbo.root, iface), 'providers'), node)}`);
      changed = true;
    }
    if (changed) this.markInterfaceDirty(iface);
  }

  private applyTreeServices(tree: CuratorTree, names: readonly string[]): void {
    const now = new Set(names);
    for (const name of now) {
      if (tree.services.has(name)) continue;
      tree.services.set(name, new Map());
      this.push({ op: 'tree-service', tree, name });
    }
    for (const name of [...tree.services.keys()]) {
      if (now.has(name)) continue;
      for (const id of tree.services.get(name)?.keys() ?? []) this.forget({ op: 'instance', tree, name, id });
      tree.services.delete(name);
      this.forget({ op: 'tree-service', tree, name });
      this.markTreeDirty(tree, name);
    }
  }

  private applyTreeInstances(tree: CuratorTree, name: string, ids: readonly string[]): void {
    const instances = tree.services.get(name);
    if (instances === undefined) return;
    const now = new Set(ids);
    for (const id of now) {
      if (instances.has(id)) continue;
      instances.set(id, undefined);
      this.push({ op: 'instance', tree, name, id });
    }
    for (const id of [...instances.keys()]) {
      if (now.has(id)) continue;
      instances.delete(id);
      this.forget({ op: 'instance', tree, name, id });
      this.reported.delete(`entry|${join(join(tree.base, name), id)}`);
      this.markTreeDirty(tree, name);
    }
  }

  private applyInstance(tree: CuratorTree, name: string, id: string, data: Buffer | undefined): void {
    const instances = tree.services.get(name);
    if (instances === undefined || !instances.has(id)) return;
    if (data === undefined) {
      // Deleted between the listing and the read: the folder's watch lists it again.
      instances.delete(id);
      this.markTreeDirty(tree, name);
      return;
    }
    const text = data.toString('utf8');
    const old = instances.get(id);
    if (old !== undefined && old[0] === text) return;
    const parsed = parseCuratorInstance(text, { defaultProtocol: tree.defaultProtocol });
    instances.set(id, [text, parsed]);
    if (parsed.type === 'invalid') this.reportEntry(parsed.code, join(join(tree.base, name), id), parsed.message, { service: name });
    this.markTreeDirty(tree, name);
  }

  private reportEntry(code: ErrorCode, path: string, message: string, details: Record<string, string>): void {
    const key = `entry|${path}`;
    const text = `${code} ${message}`;
    if (this.reported.get(key) === text) return;
    this.reported.set(key, text);
    this.o.context.report(new MeshbridgeError(code, message, { path: `${this.name}: ${path}`, details: { registry: this.name, ...details } }));
  }

  // ---- turning state into services ----

  private markInterfaceDirty(iface: string): void {
    this.dirtyInterfaces.add(iface);
    this.scheduleFlush();
  }

  private markTreeDirty(tree: CuratorTree, name: string): void {
    tree.dirty.add(name);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer !== undefined) return;
    this.flushTimer = setTimeout(() => this.flush(), this.o.maxFlushDelayMs ?? DEFAULT_FLUSH_MS);
  }

  private onQueueIdle(): void {
    if (!this.queue.idle || this.signal?.aborted !== false) return;
    this.flush();
    if (this.zkConnected) {
      const first = !this.hasSynced();
      this.markSyncedNow();
      if (first) {
        const st = this.status();
        this.log.info({ services: st.services, endpoints: st.endpoints, reads: this.stats().reads }, 'zookeeper registry synced');
      }
    }
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    for (const iface of this.dirtyInterfaces) this.rebuildInterface(iface);
    this.dirtyInterfaces.clear();
    for (const tree of this.trees) {
      for (const name of tree.dirty) this.rebuildTreeService(tree, name);
      tree.dirty.clear();
    }
  }

  private rebuildInterface(iface: string): void {
    const groups = new Map<string, { group: string; version: string; parts: EndpointPart[] }>();
    for (const parsed of this.interfaces.get(iface)?.nodes.values() ?? []) {
      if (parsed.type !== 'ok') continue;
      const e = parsed.entry;
      const name = interfaceServiceName(iface, e.group, e.version);
      let g = groups.get(name);
      if (g === undefined) groups.set(name, (g = { group: e.group, version: e.version, parts: [] }));
      g.parts.push(providerPart(e));
    }
    const emitted = this.emittedByInterface.get(iface) ?? new Set<string>();
    const now = new Set<string>();
    for (const [name, g] of groups) {
      const attributes: Record<string, string> = { interface: iface };
      if (g.group !== '') attributes['group'] = g.group;
      if (g.version !== '') attributes['version'] = g.version;
      if (this.apply(name, attributes, g.parts)) now.add(name);
    }
    for (const name of emitted) if (!now.has(name)) this.remove(serviceKey({ registry: this.name, name }));
    if (now.size > 0) this.emittedByInterface.set(iface, now);
    else this.emittedByInterface.delete(iface);
  }

  private rebuildTreeService(tree: CuratorTree, name: string): void {
    const parts: EndpointPart[] = [];
    const entries = [...(tree.services.get(name)?.entries() ?? [])].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    entries.forEach(([, entry], order) => {
      if (entry === undefined || entry[1].type !== 'ok') return;
      const i = entry[1].instance;
      // One instance is one process: its ports share `order` and so one endpoint.
      for (const p of i.ports) {
        parts.push({ address: i.address, protocol: p.protocol, port: p.port, labels: i.labels, id: i.id, order, ...(i.weight !== undefined ? { weight: i.weight } : {}) });
      }
    });
    const attributes: Record<string, string> = tree.level === 'application' ? { application: name } : {};
    if (this.apply(name, attributes, parts)) tree.emitted.add(name);
    else if (tree.emitted.delete(name)) this.remove(serviceKey({ registry: this.name, name }));
  }

  /** Builds and upserts one service; false (nothing upserted) when no endpoint is left. */
  private apply(name: string, attributes: Record<string, string>, parts: readonly EndpointPart[]): boolean {
    const { service, problems } = buildService({ registry: this.name, kind: ZOOKEEPER_REGISTRY_KIND, name, attributes, parts });
    for (const p of problems) this.reportEntry(p.code, name, p.message, { service: name });
    if (service === undefined) return false;
    this.upsert(service);
    return true;
  }
}

/** Factory for the composition root: builds (no I/O) a ZooKeeper registry. */
export function createZookeeperRegistry(options: ZookeeperRegistryOptions): ZookeeperRegistry {
  return new ZookeeperRegistry(options);
}
