/**
 * The process under test of the scale bench: FakeRegistries holding the generated services (or
 * one real ZooKeeper or etcd registry read through Meshbridge's own adapter), Meshbridge's Pipeline, the XdsServer and (optionally) the KubernetesSink against a real
 * kube-apiserver; or a baseline strategy (Mode). Forked by scale.ts with --expose-gc; the config
 * is argv[2] (JSON). Commands and figures travel over IPC (protocol.ts).
 *
 * Contract: a change is stamped (epoch ms, see raw-ads nowMs) right before the registry holds it;
 * the stamp is what every latency is measured from. With a real registry the bench writes and
 * stamps (apply, churn and resync are FakeRegistry-only). Nothing here asserts on time.
 */
import { resourceUsage } from 'node:process';
import { ConflictPolicy } from '../../src/core/aggregate.js';
import { Pipeline } from '../../src/core/pipeline.js';
import { convert, hostFor, type ConversionOptions } from '../../src/convert/index.js';
import type { Service } from '../../src/model/index.js';
import { Metrics, silentLogger } from '../../src/observability/index.js';
import { createEtcdRegistry } from '../../src/registry/etcd/index.js';
import { adapterCommon, kindSettings } from '../../src/registry/testing/adapter-options.js';
import { FakeRegistry } from '../../src/registry/testing/fake-registry.js';
import type { Registry, RegistryContext } from '../../src/registry/types.js';
import { DubboLevels, createZookeeperRegistry } from '../../src/registry/zookeeper/index.js';
import { ISTIO_API_VERSION, SnapshotStore, type IstioResource } from '../../src/snapshot/index.js';
import { KubeClient } from '../../src/sinks/kubernetes/kube-client.js';
import { FIELD_MANAGER, KubernetesSink } from '../../src/sinks/kubernetes/sink.js';
import { XdsServer } from '../../src/sinks/xds/index.js';
import { collect } from '../harness.js';
import { nowMs } from './raw-ads.js';
import {
  Mode,
  conversionOptions,
  registryName,
  registryOf,
  scaleService,
  type BridgeConfig,
  type BridgeStats,
  type Change,
  type FromBridge,
  type ToBridge,
} from './protocol.js';

const NEVER_MS = 3_600_000;

function send(m: FromBridge): void {
  process.send?.(m);
}

async function counter(
  c: { get(): Promise<{ values: Array<{ value: number; labels: Partial<Record<string, string | number>> }> }> },
  pred: (l: Partial<Record<string, string | number>>) => boolean = () => true,
): Promise<number> {
  const v = await c.get();
  return v.values.filter((x) => pred(x.labels)).reduce((a, x) => a + x.value, 0);
}

/** FakeRegistries holding the generated services (none when the source is a real registry). */
function fakeRegistries(cfg: BridgeConfig): FakeRegistry[] {
  const fake = cfg.source.kind === 'fake';
  const initial: Service[][] = Array.from({ length: fake ? cfg.registries : 0 }, () => []);
  if (fake) for (let i = 0; i < cfg.services; i++) initial[registryOf(i, cfg.registries)]?.push(scaleService(cfg, registryOf(i, cfg.registries), i));
  return initial.map((_, r) => new FakeRegistry(registryName(r), initial[r] ?? []));
}

/** What the registries report: counted, the first one kept. */
class Problems {
  count = 0;
  first: string | undefined;
  readonly context: RegistryContext = {
    report: (p) => {
      this.count += 1;
      this.first ??= `${p.code} ${p.message}`;
    },
  };
}

/** The registries the pipeline reads: one real adapter (ZooKeeper, etcd), or the FakeRegistries. */
function registriesOf(cfg: BridgeConfig, fakes: readonly FakeRegistry[], context: RegistryContext): Registry[] {
  const src = cfg.source;
  return src.kind === 'zookeeper'
    ? [
        createZookeeperRegistry({
          ...kindSettings('zookeeper', { servers: src.connectString, dubbo: { levels: DubboLevels.INTERFACE } }),
          ...adapterCommon(registryName(0), (e) => context.report(e)),
        }),
      ]
    : src.kind === 'etcd'
      ? [createEtcdRegistry({ ...kindSettings('etcd', { endpoints: [src.endpoint], prefix: src.prefix, layout: src.layout }), ...adapterCommon(registryName(0), (e) => context.report(e)) })]
      : [...fakes];
}

/** Meshbridge's pipeline with the mode's debounce (the baselines never flush on their own). */
function pipelineOf(cfg: BridgeConfig, registries: readonly Registry[], opts: ConversionOptions, store: SnapshotStore, metrics: Metrics): Pipeline {
  const debounce =
    cfg.mode === Mode.MESHBRIDGE || cfg.mode === Mode.TRAILING
      ? { quietPeriodMs: cfg.quietPeriodMs, maxDelayMs: cfg.maxDelayMs, leadingEdge: cfg.mode === Mode.MESHBRIDGE }
      : { quietPeriodMs: NEVER_MS, maxDelayMs: NEVER_MS };
  return new Pipeline({
    registries: [...registries],
    conversion: new Map(registries.map((f) => [f.name, opts])),
    protectPercent: new Map(),
    conflictPolicy: ConflictPolicy.MERGE,
    debounce,
    store,
    metrics,
    logger: silentLogger(),
    hostFor,
    convert,
  });
}

/** The Kubernetes route: the KubernetesSink, or for the poll baseline a bare client it writes with. */
async function startKube(
  cfg: BridgeConfig,
  store: SnapshotStore,
  metrics: Metrics,
  registries: readonly Registry[],
  signal: AbortSignal,
): Promise<{ kube: KubeClient | undefined; sink: KubernetesSink | undefined }> {
  if (cfg.kubeconfig === undefined) return { kube: undefined, sink: undefined };
  const kube = new KubeClient({ kubeconfig: cfg.kubeconfig, qps: cfg.kubeQps, burst: cfg.kubeQps * 2 });
  if (cfg.mode === Mode.POLL) {
    await kube.init();
    return { kube, sink: undefined };
  }
  const sink = new KubernetesSink({
    instance: 'meshbridge',
    client: kube,
    store,
    logger: silentLogger(),
    metrics,
    registries: registries.map((f) => f.name),
    namespaces: [],
    maxDeletePercent: 50,
    concurrency: 8,
    leaderElection: undefined,
  });
  await sink.start(signal);
  return { kube, sink };
}

/** Poll baseline: list every registry, convert everything, publish, rewrite every object. */
class PollBaseline {
  /** Objects written to the API server so far. */
  writes = 0;
  private polling = false;

  constructor(
    private readonly fakes: readonly FakeRegistry[],
    private readonly opts: ConversionOptions,
    private readonly store: SnapshotStore,
    private readonly flushMs: number[],
    private readonly kube: KubeClient | undefined,
  ) {}

  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const t = performance.now();
      const opts = this.opts;
      const resources: IstioResource[] = [];
      for (const f of this.fakes) for (const s of f.services().values()) for (const r of convert({ host: hostFor(s, opts), primary: s, ports: s.ports, endpoints: s.endpoints, origins: [s.registry] }, opts).resources) resources.push(r);
      this.store.publish(resources);
      this.flushMs.push(performance.now() - t);
      if (this.kube !== undefined) await this.rewrite(this.kube, resources);
    } finally {
      this.polling = false;
    }
  }

  /** Server-side applies every object, 8 at a time. */
  private async rewrite(client: KubeClient, resources: readonly IstioResource[]): Promise<void> {
    let i = 0;
    const worker = async (): Promise<void> => {
      while (i < resources.length) {
        const r = resources[i++];
        if (r === undefined) continue;
        await client.request({
          method: 'PATCH',
          path: `/apis/networking.istio.io/v1/namespaces/${r.namespace}/${r.kind === 'ServiceEntry' ? 'serviceentries' : 'workloadentries'}/${r.name}`,
          query: { fieldManager: FIELD_MANAGER, force: true },
          body: { apiVersion: ISTIO_API_VERSION, kind: r.kind, metadata: { name: r.name, namespace: r.namespace, labels: r.labels, annotations: r.annotations }, spec: r.spec },
          contentType: 'application/apply-patch+yaml',
        });
        this.writes += 1;
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  }
}

/** What the bridge measures of each publish: how many, and each push's synchronous build time. */
class PublishTiming {
  readonly pushBuildMs: number[] = [];
  readonly flushMs: number[] = [];
  publishes = 0;
  private t0 = 0;

  /** Subscribes first, so the clock starts before the XdsServer's own subscriber runs. */
  constructor(private readonly store: SnapshotStore) {
    store.subscribe(() => {
      this.t0 = performance.now();
      this.publishes += 1;
    });
  }

  /** Subscribes after the XdsServer: the time since the first subscriber is the push build. */
  measurePushes(): void {
    this.store.subscribe(() => this.pushBuildMs.push(performance.now() - this.t0));
  }
}

interface Parts {
  readonly fakes: readonly FakeRegistry[];
  readonly pipeline: Pipeline;
  readonly store: SnapshotStore;
  readonly metrics: Metrics;
  readonly server: XdsServer;
  readonly sink: KubernetesSink | undefined;
  readonly poll: PollBaseline;
  readonly timing: PublishTiming;
  readonly problems: Problems;
  readonly abort: AbortController;
}

/** The bridge once synced: applies the bench's commands (protocol.ts). */
class BridgeProcess {
  private readonly cpu0 = process.cpuUsage();

  constructor(
    private readonly cfg: BridgeConfig,
    private readonly p: Parts,
  ) {}

  onMessage(m: ToBridge): void {
    void (async () => {
      switch (m.type) {
        case 'apply': {
          send({ type: 'applied', stamps: m.changes.map((c) => this.apply(c)) });
          break;
        }
        case 'churn':
          send({ type: 'applied', stamps: await this.churn(m.changes, m.perSecond) });
          break;
        case 'resync':
          send({ type: 'resynced', ...(await this.resync()) });
          break;
        case 'stats':
          send({ type: 'stats', ...(await this.stats()) });
          break;
        case 'stop':
          this.p.abort.abort();
          await this.p.server.stopped();
          process.disconnect();
          break;
      }
    })().catch((e: unknown) => send({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) }));
  }

  /** `scheduled`: when the change was due (churn); a bridge that falls behind applies it late. */
  private apply(c: Change, scheduled?: number): readonly [number, number] {
    const reg = this.p.fakes[c.reg];
    const s = scaleService(this.cfg, c.reg, c.svc, c.variant);
    const at = scheduled ?? nowMs();
    reg?.put(s);
    if (this.cfg.mode === Mode.NO_DEBOUNCE) {
      const f = performance.now();
      this.p.pipeline.flush();
      this.p.timing.flushMs.push(performance.now() - f);
    }
    return [c.id, at];
  }

  /**
   * Applied on this process's own clock in 10 ms ticks; each change is stamped with the time it
   * was due, so falling behind counts as latency.
   */
  private async churn(changes: readonly Change[], perSecond: number): Promise<Array<readonly [number, number]>> {
    const stamps: Array<readonly [number, number]> = [];
    const start = performance.now();
    const startEpoch = nowMs();
    let next = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const due = Math.min(changes.length, Math.floor(((performance.now() - start) / 1000) * perSecond) + 1);
        while (next < due) {
          const c = changes[next++];
          if (c !== undefined) stamps.push(this.apply(c, startEpoch + ((next - 1) / perSecond) * 1000));
        }
        if (next >= changes.length) resolve();
        else setTimeout(tick, 10);
      };
      tick();
    });
    return stamps;
  }

  /** A full re-list that finds nothing new (new objects, equal content), then a flush. */
  private async resync(): Promise<{ ms: number; published: boolean }> {
    const { store, fakes } = this.p;
    const r0 = performance.now();
    const seq = store.current()?.sequence;
    for (const f of fakes) f.set([...f.services().values()].map((s) => ({ ...s, endpoints: s.endpoints.map((e) => ({ ...e })) })));
    if (this.cfg.mode === Mode.POLL) await this.p.poll.poll();
    else this.p.pipeline.flush();
    return { ms: performance.now() - r0, published: store.current()?.sequence !== seq };
  }

  private async stats(): Promise<BridgeStats> {
    const { metrics, timing, problems } = this.p;
    collect();
    const m = process.memoryUsage();
    const cpu = process.cpuUsage(this.cpu0);
    const writes = this.p.sink?.debugState().writes;
    return {
      rss: m.rss,
      heapUsed: m.heapUsed,
      external: m.external,
      maxRss: resourceUsage().maxRSS * 1024,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      kubeWrites: (writes?.apply ?? 0) + (writes?.delete ?? 0) + this.p.poll.writes,
      kubeFailed: writes?.failed ?? 0,
      pushes: await counter(metrics.xdsPushes, (l) => String(l['type_url']).endsWith('/ServiceEntry')),
      pushBytes: await counter(metrics.xdsPushBytes),
      publishes: timing.publishes,
      pushBuildMs: timing.pushBuildMs.splice(0),
      flushMs: timing.flushMs.splice(0),
      registryProblems: problems.count,
      firstRegistryProblem: problems.first,
    };
  }
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as BridgeConfig;
  const opts = conversionOptions();
  const fakes = fakeRegistries(cfg);
  const problems = new Problems();
  const registries = registriesOf(cfg, fakes, problems.context);
  const metrics = new Metrics();
  const store = new SnapshotStore();
  const pipeline = pipelineOf(cfg, registries, opts, store, metrics);
  const abort = new AbortController();
  const timing = new PublishTiming(store);
  const server = new XdsServer({
    address: '127.0.0.1:0',
    store,
    metrics,
    logger: silentLogger(),
    ready: () => pipeline.ready(),
    readyPollMs: 10,
    shutdownGraceMs: 1000,
  });
  await server.start(abort.signal);
  timing.measurePushes();
  const { kube, sink } = await startKube(cfg, store, metrics, registries, abort.signal);
  const poll = new PollBaseline(fakes, opts, store, timing.flushMs, kube);

  // Registries -> first snapshot: FakeRegistries are synced when started; a real adapter lists in
  // the background (ZooKeeper) or before start resolves (etcd), and the pipeline publishes once
  // every registry synced.
  const firstPublish = new Promise<void>((resolve) => store.subscribe(() => resolve()));
  const t = performance.now();
  await pipeline.start(abort.signal);
  if (store.current() === undefined) await firstPublish;
  const fullSyncMs = performance.now() - t;
  if (cfg.mode === Mode.POLL) {
    const timer = setInterval(() => void poll.poll(), cfg.pollMs);
    abort.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  }
  const bridge = new BridgeProcess(cfg, { fakes, pipeline, store, metrics, server, sink, poll, timing, problems, abort });
  process.on('message', (raw: unknown) => bridge.onMessage(raw as ToBridge));
  send({ type: 'ready', port: server.port(), fullSyncMs });
}

main().catch((e: unknown) => {
  send({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  process.exitCode = 1;
});
