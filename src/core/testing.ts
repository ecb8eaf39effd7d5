/**
 * Helpers for the pipeline's unit tests (not used by the service): a stand-in conversion and a
 * Pipeline over test registries with test defaults. Contract: endpointEntry gives one
 * ServiceEntry per host (namespace `ns`, named after the host) whose spec lists the endpoint
 * addresses, versioned by its spec's hash; testPipeline builds with the default conversion
 * options for every registry, no protect overrides, the `merge` policy, a 5/50 ms debounce, a
 * fresh store and metrics, a silent logger, host `<name>.mesh` and endpointEntry, each of
 * which `overrides` may replace.
 */
import { defaultConversionOptions, type ConvertInput } from '../convert/options.js';
import { Metrics, silentLogger } from '../observability/index.js';
import type { Registry } from '../registry/types.js';
import { SnapshotStore, resourceKey, type IstioResource } from '../snapshot/index.js';
import { hashOf } from '../util/hash.js';
import { Pipeline, type ConvertOutput, type PipelineOptions } from './pipeline.js';

/** A stand-in conversion: one ServiceEntry listing the host's endpoint addresses. */
export function endpointEntry(input: ConvertInput): ConvertOutput {
  const spec = { hosts: [input.host], endpoints: input.endpoints.map((e) => ({ address: e.address })) };
  const r: IstioResource = {
    kind: 'ServiceEntry',
    namespace: 'ns',
    name: input.host,
    key: resourceKey('ServiceEntry', 'ns', input.host),
    labels: {},
    annotations: {},
    spec,
    version: hashOf(spec),
  };
  return { resources: [r], problems: [], droppedLabels: 0 };
}

/** A Pipeline over `registries` with the test defaults (see the module contract). */
export function testPipeline(
  registries: readonly Registry[],
  overrides: Partial<PipelineOptions> = {},
): { p: Pipeline; store: SnapshotStore; metrics: Metrics } {
  const store = overrides.store ?? new SnapshotStore();
  const metrics = overrides.metrics ?? new Metrics();
  const p = new Pipeline({
    registries,
    conversion: new Map(registries.map((r) => [r.name, defaultConversionOptions])),
    protectPercent: new Map(),
    conflictPolicy: 'merge',
    debounce: { quietPeriodMs: 5, maxDelayMs: 50 },
    logger: silentLogger(),
    hostFor: (s) => `${s.name}.mesh`,
    convert: endpointEntry,
    ...overrides,
    store,
    metrics,
  });
  return { p, store, metrics };
}

/** The ServiceEntries of the store's current snapshot. */
export function serviceEntries(store: SnapshotStore): IstioResource[] {
  return [...(store.current()?.kinds.get('ServiceEntry')?.resources.values() ?? [])];
}
