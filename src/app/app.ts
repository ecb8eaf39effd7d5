import { hostname } from 'node:os';
import type { Writable } from 'node:stream';
import type { CheckpointConfig, Config } from '../config/index.js';
import { kubeClientSettings, kubernetesSinkSettings, pipelineSettings, xdsServerSettings } from '../config/index.js';
import { convert, hostFor } from '../convert/index.js';
import { Pipeline } from '../core/pipeline.js';
import { ErrorCode, MeshbridgeError } from '../errors/index.js';
import type { Logger } from '../observability/index.js';
import { AdminServer, Metrics, registerConfigSecrets } from '../observability/index.js';
import type { Registry } from '../registry/types.js';
import { SnapshotStore } from '../snapshot/index.js';
import type { Sink } from '../sinks/types.js';
import type * as XdsModule from '../sinks/xds/index.js';
import type { ShardedXdsServer, XdsServer } from '../sinks/xds/index.js';
import { RenderSink } from '../sinks/render/index.js';
import { KubeClient } from '../sinks/kubernetes/kube-client.js';
import { KubernetesSink } from '../sinks/kubernetes/sink.js';
import { ProblemLog } from './context.js';
import { loadRegistryFactory, type RegistryFactory } from './registries.js';
import { adminActions, debugPages } from './pages.js';
import { statusEndpoints } from './status-pages.js';
import { logSyncProgress } from './sync-progress.js';
import { CheckpointWriter, ConfigMapCheckpointStore, FileCheckpointStore, readCheckpoint, type CheckpointStore } from '../checkpoint/index.js';

/** Which sinks to build: `run` builds the configured ones; `render` only a one-shot renderer. */
export type AppMode =
  | { readonly type: 'run' }
  | { readonly type: 'render'; readonly out: string | undefined; readonly stream?: Writable }
  | { readonly type: 'check' };

export interface AppOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly mode: AppMode;
  /** Injected for tests; default a fresh registry. */
  readonly metrics?: Metrics;
}

/** The modules a config needs, loaded before the App is built (App.create). */
export interface AppModules {
  readonly createRegistry: RegistryFactory;
  /** The xDS sink (grpc-js, protobufjs): loaded only when `run` serves MCP. */
  readonly xds: typeof XdsModule | undefined;
}

/**
 * Loads what `options` needs: the adapters of the configured registry kinds and, when served,
 * the xDS sink. A process does not load client libraries it is not configured with (measured in
 * bench/footprint: a ZooKeeper + Kubernetes deployment no longer loads etcd3, grpc-js, protobufjs).
 */
export async function loadAppModules(options: AppOptions): Promise<AppModules> {
  const serveXds = options.mode.type === 'run' && options.config.sinks.xds !== undefined;
  const [createRegistry, xds] = await Promise.all([
    loadRegistryFactory(options.config.registries),
    serveXds ? import('../sinks/xds/index.js') : Promise.resolve(undefined),
  ]);
  return { createRegistry, xds };
}

/**
 * The composition root's object graph: registries -> pipeline -> snapshot store -> sinks, plus the
 * admin server. Builds everything in the constructor without I/O; `start(signal)` starts the
 * admin server first (so /healthz and /readyz answer during a slow first sync), then the sinks
 * (the xDS server listens but holds requests until ready), then the registries.
 *
 * Contract: aborting the signal stops everything; `stopped()` resolves when every part is down.
 */
export class App {
  readonly metrics: Metrics;
  readonly store = new SnapshotStore();
  readonly pipeline: Pipeline;
  readonly problems: ProblemLog;
  readonly sinks: readonly Sink[];
  readonly xds: XdsServer | ShardedXdsServer | undefined;
  readonly render: RenderSink | undefined;
  readonly kubernetes: KubernetesSink | undefined;
  readonly admin: AdminServer | undefined;
  /** The admin server and sinks whose start succeeded (only those are waited for on shutdown). */
  private readonly started = new Set<object>();
  readonly checkpoint: CheckpointWriter | undefined;
  private checkpointStore: CheckpointStore | undefined;
  private readonly o: AppOptions;

  /** Loads the modules the config needs (loadAppModules), then builds the App. */
  static async create(options: AppOptions): Promise<App> {
    return new App(options, await loadAppModules(options));
  }

  constructor(options: AppOptions, modules: AppModules) {
    this.o = options;
    registerConfigSecrets(options.config); // logs, admin pages and CLI output redact them
    const { config, logger, mode } = options;
    // A served process exports its own memory, CPU and event-loop delay (meshbridge_process_*, meshbridge_nodejs_*).
    this.metrics = options.metrics ?? (mode.type === 'run' ? new Metrics().withProcessMetrics() : new Metrics());
    this.problems = new ProblemLog(logger, this.metrics);
    this.pipeline = new Pipeline({
      registries: config.registries.map((rc) => modules.createRegistry(rc, this.problems.contextFor(rc.name), logger)),
      ...pipelineSettings(config),
      // render and check never publish a partial view: they wait (MESHBRIDGE_SYNC_TIMEOUT_MS) or fail.
      ...(mode.type === 'run' ? {} : { syncTimeoutMs: 0 }),
      store: this.store,
      metrics: this.metrics,
      logger,
      hostFor,
      convert,
    });
    const ready = (): boolean => this.pipeline.ready();
    const x = mode.type === 'run' ? config.sinks.xds : undefined;
    const xds = modules.xds;
    if (x !== undefined && xds === undefined) throw new Error('App: the xDS sink is configured but its module was not loaded (use App.create)');
    // grpc-js's own stderr lines become debug logs (failures reach the user coded).
    if (x !== undefined) xds?.routeGrpcLogs(logger);
    this.xds =
      x === undefined || xds === undefined
        ? undefined
        : x.shards > 1
          ? new xds.ShardedXdsServer({ ...xdsServerSettings(x), store: this.store, metrics: this.metrics, logger: logger.child({ sink: 'xds' }), ready })
          : new xds.XdsServer({ ...xdsServerSettings(x), store: this.store, metrics: this.metrics, logger: logger.child({ sink: 'xds' }), ready });
    this.render = this.buildRender(mode, config, logger);
    this.checkpoint = this.buildCheckpoint(config, logger);
    this.kubernetes = mode.type === 'run' ? this.buildKubernetes(config, logger) : undefined;
    this.sinks = [this.xds, this.kubernetes, this.render].filter((s): s is NonNullable<typeof s> => s !== undefined);
    this.admin = mode.type === 'run' && config.admin !== undefined ? this.buildAdmin(config.admin.address, logger.child({ component: 'admin' })) : undefined;
  }

  /** The admin server: probes, metrics, /debug pages and actions, the status page and its event stream. */
  private buildAdmin(address: string, logger: Logger): AdminServer {
    const status = statusEndpoints(this, pipelineSettings(this.o.config).conversion, hostFor, logger);
    return new AdminServer({
      address,
      metrics: this.metrics,
      logger,
      readiness: () => this.readiness(),
      pages: new Map([...debugPages(this), ...status.pages]),
      actions: adminActions(this),
      events: status.events,
    });
  }

  /** The configured registries, in config order (a config reload changes them: src/app/reload.ts). */
  get registries(): readonly Registry[] {
    return this.pipeline.registries();
  }

  private buildCheckpoint(config: Config, logger: Logger): CheckpointWriter | undefined {
    const c = config.checkpoint;
    if (c === undefined || this.o.mode.type !== 'run') return undefined;
    this.checkpointStore = checkpointStore(c, config.instance);
    return new CheckpointWriter({
      store: this.checkpointStore,
      intervalMs: c.intervalSeconds * 1000,
      source: () => ({ sequence: this.store.current()?.sequence, data: this.pipeline.checkpointData() }),
      // With leader election only the leader writes (the standby's view is the same, its writes noise).
      shouldWrite: () => config.sinks.kubernetes?.leaderElection === undefined || this.kubernetes?.isLeader() !== false,
      logger: logger.child({ component: 'checkpoint' }),
      metrics: this.metrics,
    });
  }

  private buildRender(mode: AppMode, config: Config, logger: Logger): RenderSink | undefined {
    const common = { store: this.store, logger: logger.child({ sink: 'render' }), metrics: this.metrics };
    if (mode.type === 'render') {
      return new RenderSink({
        ...common,
        once: true,
        ...(mode.out !== undefined ? { out: mode.out } : {}),
        ...(mode.stream !== undefined ? { stream: mode.stream } : {}),
      });
    }
    if (mode.type === 'run' && config.sinks.render !== undefined) {
      const out = config.sinks.render.out;
      return new RenderSink({ ...common, once: false, ...(out !== undefined ? { out } : {}) });
    }
    return undefined;
  }

  private buildKubernetes(config: Config, logger: Logger): KubernetesSink | undefined {
    const k = config.sinks.kubernetes;
    if (k === undefined) return undefined;
    return new KubernetesSink({
      ...kubernetesSinkSettings(config, k, process.env['POD_NAME'] ?? `${hostname()}-${process.pid}`),
      client: new KubeClient(kubeClientSettings(k)),
      store: this.store,
      logger: logger.child({ sink: 'kubernetes' }),
      metrics: this.metrics,
      problems: this.problems, // clashes show at /debug/problems and in meshbridge_registry_errors_total
    });
  }

  /**
   * /readyz: ready means "can serve": every registry synced (the pipeline's rule) and the xDS
   * server, when configured, started with a working codec and not shutting down.
   */
  readiness(): { ready: boolean; reasons: string[]; notes: string[] } {
    const reasons = [...this.pipeline.notReadyReasons()];
    const xdsOk = this.xds === undefined || this.xds.canServe();
    if (!xdsOk) reasons.push('xds: not serving (not started, or shutting down)');
    // Not reasons: readiness, once reached, stays (docs/operations.md "/readyz").
    const notes = this.registries.flatMap((r) => {
      const st = r.status();
      if (!st.stale) return [];
      const error = st.lastError !== undefined ? ` (${st.lastError.code})` : '';
      return [`registry ${r.name} (${r.kind}) is stale: unreachable${error}, serving its last known ${st.services} services`];
    });
    return { ready: this.pipeline.ready() && xdsOk, reasons, notes };
  }

  /** Starts admin, sinks, then registries; rejects (coded) if a listener cannot bind. */
  async start(signal: AbortSignal): Promise<void> {
    if (this.admin !== undefined) {
      await this.admin.start(signal);
      this.started.add(this.admin);
    }
    for (const sink of this.sinks) {
      await sink.start(signal);
      this.started.add(sink);
    }
    if (this.checkpoint !== undefined && this.checkpointStore !== undefined) {
      for (const [name, services] of await readCheckpoint(this.checkpointStore, this.o.logger, this.metrics)) this.pipeline.seedFromCheckpoint(name, services);
      this.checkpoint.start(signal);
      // The last state is written on shutdown too (before the process exits).
      signal.addEventListener('abort', () => void this.checkpoint?.write(), { once: true });
    }
    await this.pipeline.start(signal);
    if (this.o.mode.type === 'run') logSyncProgress(() => this.registries, this.o.logger, signal); // render/check print their own
    this.o.logger.info(
      {
        registries: this.registries.map((r) => `${r.kind}:${r.name}`),
        sinks: this.sinks.map((s) => s.name),
        ...(this.xds !== undefined ? { xds: ('ports' in this.xds ? this.xds.ports() : [this.xds.port()]).map((p) => `${this.xdsHost()}:${p}`).join(',') } : {}),
        ...(this.admin !== undefined ? { admin: this.admin.port() } : {}),
      },
      'meshbridge started',
    );
  }

  private xdsHost(): string {
    const a = this.o.config.sinks.xds?.address ?? '';
    return a.slice(0, a.lastIndexOf(':'));
  }

  /** Resolves when every started part is down (call after aborting the start signal). */
  async stopped(): Promise<void> {
    // A part whose start failed (a port in use) has nothing to stop: waiting for it would hang.
    const started = <T extends object>(part: T | undefined): T | undefined => (part !== undefined && this.started.has(part) ? part : undefined);
    await Promise.all([started(this.admin)?.closed(), started(this.xds)?.stopped(), this.checkpoint?.write()]);
  }

  /**
   * Resolves once every registry synced and the first snapshot is published; rejects with the
   * not-ready reasons after `timeoutMs` or when `signal` aborts.
   */
  whenReady(signal: AbortSignal, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.pipeline.ready()) {
        resolve();
        return;
      }
      const unsubscribe = this.store.subscribe(() => {
        if (!this.pipeline.ready()) return;
        done();
        resolve();
      });
      const timer = setTimeout(() => {
        done();
        reject(
          new MeshbridgeError(
            ErrorCode.REGISTRY_SYNC_TIMEOUT,
            `not ready after ${timeoutMs} ms: ${this.pipeline.notReadyReasons().join('; ')}`,
          ),
        );
      }, timeoutMs);
      const onAbort = (): void => {
        done();
        reject(new Error('aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      function done(): void {
        clearTimeout(timer);
        unsubscribe();
        signal.removeEventListener('abort', onAbort);
      }
    });
  }
}

/** The store a checkpoint config names (no I/O). */
function checkpointStore(c: CheckpointConfig, instance: string): CheckpointStore {
  const cm = c.configMap;
  if (cm === undefined) return new FileCheckpointStore(c.path ?? '');
  const client = new KubeClient({
    qps: 5,
    burst: 10,
    userAgent: 'meshbridge-checkpoint',
    ...(cm.kubeconfig !== undefined ? { kubeconfig: cm.kubeconfig } : {}),
    ...(cm.context !== undefined ? { context: cm.context } : {}),
  });
  return new ConfigMapCheckpointStore({ client, namespace: cm.namespace, name: cm.name, instance });
}
