/**
 * pipeline-flush: a Pipeline over a FakeRegistry of 10,000 services with the real hostFor and
 * convert. One service changes per iteration; the figure is the flush that follows (merge by
 * host, per-host conversion cache, snapshot build) — what a small registry change costs.
 *
 * Baseline: the same flush with the conversion cache defeated — a fresh Pipeline (empty host and
 * conversion caches) over a registry holding the same services, publishing into a store that
 * already holds the previous snapshot, so only the caches differ.
 */
import { ConflictPolicy } from '../src/core/aggregate.js';
import { Pipeline } from '../src/core/pipeline.js';
import { convert, hostFor } from '../src/convert/index.js';
import type { Service } from '../src/model/index.js';
import { Metrics, silentLogger } from '../src/observability/index.js';
import type { Registry } from '../src/registry/types.js';
import { FakeRegistry } from '../src/registry/testing/fake-registry.js';
import { SnapshotStore } from '../src/snapshot/index.js';
import { benchService, benchServices, options, REGISTRY, SERVICES } from './data.js';
import { Compare, Role, runCase, timeAsync, type Bench, type CaseResult } from './harness.js';

/** Debounce long enough never to fire on its own: the bench flushes explicitly. */
const NEVER_MS = 3_600_000;

function pipelineOver(registry: Registry, store: SnapshotStore): Pipeline {
  return new Pipeline({
    registries: [registry],
    conversion: new Map([[REGISTRY, options]]),
    protectPercent: new Map(),
    prewarmMinServices: Infinity, // the cold first pass is what these figures measure
    conflictPolicy: ConflictPolicy.MERGE,
    debounce: { quietPeriodMs: NEVER_MS, maxDelayMs: NEVER_MS },
    store,
    metrics: new Metrics(),
    logger: silentLogger(),
    hostFor,
    convert,
  });
}

const BASELINE = 'cold flush: fresh Pipeline, caches empty (1 change)';

export const pipelineFlush: Bench = {
  name: 'pipeline-flush',
  title: 'Pipeline flush after one of 10,000 services changed',
  description:
    'Pipeline (src/core/pipeline.ts) over a FakeRegistry of 10,000 services with the real hostFor and convert. Each iteration replaces one ' +
    'service (one endpoint moved) and times the debounced flush (flushNow): protect guard, merge by host, per-host conversion cache, ' +
    'snapshot build and hash. Baseline: the same flush with the caches defeated: a fresh Pipeline over a registry with the same ' +
    'services publishing into a store that holds the previous snapshot, so every host is converted again. Also shown: a flush with no ' +
    'change at all: the incremental flush hands the store a delta of the changed hosts (publishChanges), so this is the fixed cost of a ' +
    'flush. Why: registries change one instance at a time; a flush should cost what changed, not the ' +
    'whole registry.',
  compare: Compare.TIME,
  async run(): Promise<CaseResult[]> {
    const services: Service[] = benchServices();
    let variant = 0;
    const changeOne = (): Service => {
      variant += 1;
      const idx = (variant * 7919) % SERVICES;
      const s = benchService(idx, variant);
      services[idx] = s;
      return s;
    };
    const out: CaseResult[] = [];

    const abort = new AbortController();
    const registry = new FakeRegistry(REGISTRY, services);
    const store = new SnapshotStore();
    const pipeline = pipelineOver(registry, store);
    await pipeline.start(abort.signal);
    try {
      let published = 0;
      out.push(
        await runCase({
          label: 'flush after 1 change (per-host cache)',
          role: Role.SUBJECT,
          baseline: BASELINE,
          n: SERVICES,
          unit: 'services',
          warmup: 5,
          iterations: 30,
          step: async () => {
            registry.put(changeOne());
            const seq = store.current()?.sequence ?? 0;
            const ns = await timeAsync(() => pipeline.flushNow());
            if ((store.current()?.sequence ?? 0) === seq + 1) published += 1;
            return ns;
          },
          notes: () => [`${published} of 35 flushes published a new snapshot`],
        }),
      );
      out.push(
        await runCase({
          label: 'flush with no change (the fixed cost of a flush)',
          role: Role.SUBJECT,
          baseline: BASELINE,
          n: SERVICES,
          unit: 'services',
          warmup: 5,
          iterations: 30,
          step: () => timeAsync(() => Promise.resolve(pipeline.flush())),
        }),
      );
    } finally {
      abort.abort();
    }

    const coldStore = new SnapshotStore();
    coldStore.publish(store.current()?.kinds.get('ServiceEntry')?.resources.values() ?? []);
    const cold: Pipeline[] = [];
    out.push(
      await runCase({
        label: BASELINE,
        role: Role.BASELINE,
        n: SERVICES,
        unit: 'services',
        warmup: 2,
        iterations: 10,
        step: async () => {
          changeOne();
          const reg = new FakeRegistry(REGISTRY); // unsynced until set(); emits to no one yet
          reg.set(services);
          const p = pipelineOver(reg, coldStore);
          const ac = new AbortController();
          // start() registers handlers, starts the (already synced) registry and flushes once.
          const ns = await timeAsync(() => p.start(ac.signal));
          ac.abort();
          cold.length = 0;
          cold.push(p); // keep only the latest alive
          return ns;
        },
      }),
    );
    return out;
  },
};
