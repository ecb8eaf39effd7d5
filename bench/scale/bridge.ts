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
import { convert, hostFor } from '../../src/convert/index.js';
import type { Service } from '../../src/model/index.js';
import { Metrics, silentLogger } from '../../src/observability/index.js';
import { adapterCommon, kindSettings } from '../../src/registry/testing/adapter-options.js';
import { createEtcdRegistry } from '../../src/registry/etcd/index.js';
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

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as BridgeConfig;
  const opts = conversionOptions();
  const fake = cfg.source.kind === 'fake';
  const initial: Service[][] = Array.from({ length: fake ? cfg.registries : 0 }, () => []);
  if (fake) for (let i = 0; i < cfg.services; i++) initial[registryOf(i, cfg.registries)]?.push(scaleService(cfg, registryOf(i, cfg.registries), i));
  const fakes = initial.map((_, r) => new FakeRegistry(registryName(r), initial[r] ?? []));
  let registryProblems = 0;
  let firstRegistryProblem: string | undefined;
  const context: RegistryContext = {
    report: (p) => {
      registryProblems += 1;
      firstRegistryProblem ??= `${p.code} ${p.message}`;
    },
  };
  const src = cfg.source;
  const registries: Registry[] =
    src.kind === 'zookeeper'
      ? [
          createZookeeperRegistry({
            name: registryName(0),
            connectString: src.connectString,
            sessionTimeoutMs: 30_000,
            dubbo: { levels: DubboLevels.INTERFACE, root: '/dubbo', servicesPath: '/services' },
            context,
            logger: silentLogger(),
          }),
        ]
      : src.kind === 'etcd'
        ? [createEtcdRegistry({ ...kindSettings('etcd', { endpoints: [src.endpoint], prefix: src.prefix, layout: src.layout }), ...adapterCommon(registryName(0), (e) => context.report(e)) })]
        : fakes;
  const metrics = new Metrics();
  const store = new SnapshotStore();
  const debounce =
    cfg.mode === Mode.MESHBRIDGE || cfg.mode === Mode.TRAILING
      ? { quietPeriodMs: cfg.quietPeriodMs, maxDelayMs: cfg.maxDelayMs, leadingEdge: cfg.mode === Mode.MESHBRIDGE }
      : { quietPeriodMs: NEVER_MS, maxDelayMs: NEVER_MS };
  const pipeline = new Pipeline({
    registries,
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
  const abort = new AbortController();
  const pushBuildMs: number[] = [];
  const flushMs: number[] = [];
  let publishes = 0;
  let t0 = 0;
  store.subscribe(() => {
    t0 = performance.now();
    publishes += 1;
  });
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
  store.subscribe(() => pushBuildMs.push(performance.now() - t0));

  let kube: KubeClient | undefined;
  let sink: KubernetesSink | undefined;
  let pollWrites = 0;
  if (cfg.kubeconfig !== undefined) {
    kube = new KubeClient({ kubeconfig: cfg.kubeconfig, qps: cfg.kubeQps, burst: cfg.kubeQps * 2 });
    if (cfg.mode !== Mode.POLL) {
      sink = new KubernetesSink({
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
      await sink.start(abort.signal);
    } else await kube.init();
  }

  /** Poll baseline: list every registry, convert everything, publish, rewrite every object. */
  let polling = false;
  const poll = async (): Promise<void> => {
    if (polling) return;
    polling = true;
    try {
      const t = performance.now();
      const resources: IstioResource[] = [];
      for (const f of fakes) for (const s of f.services().values()) for (const r of convert({ host: hostFor(s, opts), primary: s, ports: s.ports, endpoints: s.endpoints, origins: [s.registry] }, opts).resources) resources.push(r);
      store.publish(resources);
      flushMs.push(performance.now() - t);
      if (kube !== undefined) {
        const client = kube;
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
            pollWrites += 1;
          }
        };
        await Promise.all(Array.from({ length: 8 }, worker));
      }
    } finally {
      polling = false;
    }
  };

  // Registries -> first snapshot: FakeRegistries are synced when started; a real adapter lists in
  // the background (ZooKeeper) or before start resolves (etcd), and the pipeline publishes once
  // every registry synced.
  const firstPublish = new Promise<void>((resolve) => store.subscribe(() => resolve()));
  const t = performance.now();
  await pipeline.start(abort.signal);
  if (store.current() === undefined) await firstPublish;
  const fullSyncMs = performance.now() - t;
  if (cfg.mode === Mode.POLL) {
    const timer = setInterval(() => void poll(), cfg.pollMs);
    abort.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  }
  const cpu0 = process.cpuUsage();

  /** `scheduled`: when the change was due (churn); a bridge that falls behind applies it late. */
  const apply = (c: Change, scheduled?: number): readonly [number, number] => {
    const reg = fakes[c.reg];
    const s = scaleService(cfg, c.reg, c.svc, c.variant);
    const at = scheduled ?? nowMs();
    reg?.put(s);
    if (cfg.mode === Mode.NO_DEBOUNCE) {
      const f = performance.now();
      pipeline.flush();
      flushMs.push(performance.now() - f);
    }
    return [c.id, at];
  };

  const stats = async (): Promise<BridgeStats> => {
    collect();
    const m = process.memoryUsage();
    const cpu = process.cpuUsage(cpu0);
    const writes = sink?.debugState().writes;
    return {
      rss: m.rss,
      heapUsed: m.heapUsed,
      external: m.external,
      maxRss: resourceUsage().maxRSS * 1024,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      kubeWrites: (writes?.apply ?? 0) + (writes?.delete ?? 0) + pollWrites,
      kubeFailed: writes?.failed ?? 0,
      pushes: await counter(metrics.xdsPushes, (l) => String(l['type_url']).endsWith('/ServiceEntry')),
      pushBytes: await counter(metrics.xdsPushBytes),
      publishes,
      pushBuildMs: pushBuildMs.splice(0),
      flushMs: flushMs.splice(0),
      registryProblems,
      firstRegistryProblem,
    };
  };

  process.on('message', (raw: unknown) => {
    const m = raw as ToBridge;
    void (async () => {
      switch (m.type) {
        case 'apply': {
          send({ type: 'applied', stamps: m.changes.map((c) => apply(c)) });
          break;
        }
        case 'churn': {
          // Applied on this process's own clock in 10 ms ticks; each change is stamped with the
          // time it was due, so falling behind counts as latency.
          const stamps: Array<readonly [number, number]> = [];
          const start = performance.now();
          const startEpoch = nowMs();
          let next = 0;
          await new Promise<void>((resolve) => {
            const tick = (): void => {
              const due = Math.min(m.changes.length, Math.floor(((performance.now() - start) / 1000) * m.perSecond) + 1);
              while (next < due) {
                const c = m.changes[next++];
                if (c !== undefined) stamps.push(apply(c, startEpoch + ((next - 1) / m.perSecond) * 1000));
              }
              if (next >= m.changes.length) resolve();
              else setTimeout(tick, 10);
            };
            tick();
          });
          send({ type: 'applied', stamps });
          break;
        }
        case 'resync': {
          // A full re-list that finds nothing new (new objects, equal content), then a flush.
          const r0 = performance.now();
          const seq = store.current()?.sequence;
          for (const f of fakes) f.set([...f.services().values()].map((s) => ({ ...s, endpoints: s.endpoints.map((e) => ({ ...e })) })));
          if (cfg.mode === Mode.POLL) await poll();
          else pipeline.flush();
          send({ type: 'resynced', ms: performance.now() - r0, published: store.current()?.sequence !== seq });
          break;
        }
        case 'stats':
          send({ type: 'stats', ...(await stats()) });
          break;
        case 'stop':
          abort.abort();
          await server.stopped();
          process.disconnect();
          break;
      }
    })().catch((e: unknown) => send({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) }));
  });
  send({ type: 'ready', port: server.port(), fullSyncMs });
}

main().catch((e: unknown) => {
  send({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  process.exitCode = 1;
});
