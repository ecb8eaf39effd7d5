/**
 * memory: retained heap, off-heap (external: Buffers) and RSS of the app-level state for 10,000
 * services x 3 endpoints, layer by layer: the registry model (FakeRegistry holding the services),
 * the pipeline (per-host conversion cache + the snapshot; resources are shared between them),
 * and the xDS ResourceCache (one encoded Any per resource plus the kind's concatenated block).
 *
 * Each reading follows a full GC (run.ts forks benches with --expose-gc). The whole build is
 * repeated; medians of the per-layer deltas are reported. Baseline: the registry model itself,
 * the input every other layer is derived from; ratios are (heap + external) / model's.
 */
import { ConflictPolicy } from '../src/core/aggregate.js';
import { Pipeline } from '../src/core/pipeline.js';
import { convert, hostFor } from '../src/convert/index.js';
import { Metrics, silentLogger } from '../src/observability/index.js';
import { FakeRegistry } from '../src/registry/testing/fake-registry.js';
import { SnapshotStore } from '../src/snapshot/index.js';
import { ResourceCache } from '../src/sinks/xds/resource-cache.js';
import { benchServices, options, REGISTRY, SERVICES } from './data.js';
import { Compare, Role, formatBytes, hasGc, median, readMemory, summarise, type Bench, type CaseResult, type MemoryReading } from './harness.js';

interface Layer {
  readonly label: string;
  readonly role: (typeof Role)[keyof typeof Role];
  readonly unit: string;
  readonly n: number;
}

const LAYERS: readonly Layer[] = [
  { label: 'registry model: 10,000 services x 3 endpoints (FakeRegistry)', role: Role.BASELINE, unit: 'services', n: SERVICES },
  { label: 'pipeline: conversion cache + snapshot', role: Role.SUBJECT, unit: 'ServiceEntries', n: SERVICES },
  { label: 'xds: ResourceCache (kind frame of encoded Anys)', role: Role.SUBJECT, unit: 'ServiceEntries', n: SERVICES },
  { label: 'total app-level state (all three)', role: Role.SUBJECT, unit: 'services', n: SERVICES },
];

const WARMUP = 1;
const ITERATIONS = 4;

interface Round {
  readonly readings: readonly MemoryReading[];
  readonly ms: readonly number[];
  readonly blockBytes: number;
}

async function round(): Promise<Round> {
  const readings: MemoryReading[] = [readMemory()];
  const ms: number[] = [];
  const abort = new AbortController();
  let t = process.hrtime.bigint();
  const lap = (): void => {
    const now = process.hrtime.bigint();
    ms.push(Number(now - t) / 1e6);
    t = now;
  };

  const registry = new FakeRegistry(REGISTRY);
  registry.set(benchServices());
  lap();
  readings.push(readMemory());

  t = process.hrtime.bigint();
  const store = new SnapshotStore();
  const pipeline = new Pipeline({
    registries: [registry],
    conversion: new Map([[REGISTRY, options]]),
    protectPercent: new Map(),
    prewarmMinServices: Infinity, // the cold first pass is what these figures measure
    conflictPolicy: ConflictPolicy.MERGE,
    debounce: { quietPeriodMs: 3_600_000, maxDelayMs: 3_600_000 },
    store,
    metrics: new Metrics(),
    logger: silentLogger(),
    hostFor,
    convert,
  });
  await pipeline.start(abort.signal);
  lap();
  readings.push(readMemory());

  t = process.hrtime.bigint();
  const cache = new ResourceCache();
  const ks = store.current()?.kinds.get('ServiceEntry');
  if (ks === undefined) throw new Error('no snapshot');
  const enc = cache.encodeKind(ks);
  lap();
  readings.push(readMemory());
  abort.abort();
  // Everything above stays reachable until here.
  if (registry.services().size !== SERVICES || cache.stats().entries !== SERVICES || !pipeline.ready()) throw new Error('incomplete state');
  return { readings, ms, blockBytes: enc.block.length };
}

function delta(a: MemoryReading | undefined, b: MemoryReading | undefined): MemoryReading {
  if (a === undefined || b === undefined) throw new Error('missing reading');
  return { heapUsed: b.heapUsed - a.heapUsed, external: b.external - a.external, rss: b.rss - a.rss };
}

export const memoryBench: Bench = {
  name: 'memory',
  title: 'Memory of the app-level state for 10,000 services x 3 endpoints',
  description:
    'Retained V8 heap, external (Buffer) memory and RSS after a full GC, layer by layer: the registry model (FakeRegistry holding 10,000 ' +
    'services x 3 endpoints), the pipeline (per-host conversion cache and the snapshot, which share the resource objects), and the xDS ' +
    'ResourceCache (the kind\'s frame: every resource\'s encoded Any once, in one buffer with room for the response fields; entries are ranges of it). Built from nothing ' +
    `${WARMUP + ITERATIONS} times (first one is warm-up), medians reported; the time column is the build time of the layer. Baseline: the registry model ` +
    'itself; ratios are (heap + external) of the layer over the model\'s. Why: this is what one replica holds per 10k services.',
  compare: Compare.MEMORY,
  async run(): Promise<CaseResult[]> {
    const rounds: Round[] = [];
    for (let i = 0; i < WARMUP + ITERATIONS; i++) {
      const r = await round();
      if (i >= WARMUP) rounds.push(r);
    }
    const zero: MemoryReading = { heapUsed: 0, external: 0, rss: 0 };
    const blockBytes = rounds[0]?.blockBytes ?? 0;
    return LAYERS.map((layer, li) => {
      const from = li === 3 ? 0 : li;
      const to = li === 3 ? 3 : li + 1;
      const ds = rounds.map((r) => delta(r.readings[from], r.readings[to]));
      const ms = rounds.map((r) => (li === 3 ? r.ms.reduce((a, b) => a + b, 0) : (r.ms[li] ?? Number.NaN)));
      const med: MemoryReading = {
        heapUsed: median(ds.map((d) => d.heapUsed)),
        external: median(ds.map((d) => d.external)),
        rss: median(ds.map((d) => d.rss)),
      };
      const notes = [`${formatBytes((med.heapUsed + med.external) / layer.n)} per ${layer.unit === 'services' ? 'service' : 'resource'}`];
      if (li === 2) notes.push(`encoded bytes ${formatBytes(blockBytes)}, kept once, as the kind frame (entries are ranges of it)`);
      if (!hasGc()) notes.push('no --expose-gc: readings include garbage');
      return summarise(
        {
          label: layer.label,
          role: layer.role,
          ...(layer.role === Role.SUBJECT ? { baseline: LAYERS[0]?.label ?? '' } : {}),
          n: layer.n,
          unit: layer.unit,
          warmup: WARMUP,
          iterations: ITERATIONS,
        },
        ms,
        zero,
        med,
        notes,
      );
    });
  },
};
