import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pipeline } from './pipeline.js';
import { ConflictPolicy } from './aggregate.js';
import { convert, Annotation } from '../convert/convert.js';
import { defaultConversionOptions, type ConversionOptions } from '../convert/options.js';
import { SnapshotStore, SERVICE_NAME_LABEL, type IstioResource } from '../snapshot/index.js';
import { Metrics, silentLogger } from '../observability/index.js';
import { FakeRegistry, svc } from '../registry/testing/fake-registry.js';
import type { Service } from '../model/index.js';

const options: ConversionOptions = { ...defaultConversionOptions, namespace: 'ns', publish: { serviceEntries: true, kubernetesServices: true } };
// `Cart` and `cart` and the same name in both registries all want Service `cart`.
const NAMES = ['cart', 'Cart', 'orders', 'Orders', 'pay'];

function build(incremental: boolean) {
  const regs = ['r0', 'r1'].map((n) => new FakeRegistry(n, []));
  const store = new SnapshotStore();
  const p = new Pipeline({
    registries: regs,
    conversion: new Map(regs.map((r) => [r.name, options])),
    protectPercent: new Map(regs.map((r) => [r.name, 100])),
    protect: new Map(regs.map((r) => [r.name, { endpointPercent: 100 }])),
    conflictPolicy: ConflictPolicy.MERGE,
    debounce: { quietPeriodMs: 60_000, maxDelayMs: 60_000 },
    store,
    metrics: new Metrics(),
    logger: silentLogger(),
    hostFor: (s: Service) => `${s.name.toLowerCase()}-${s.name === s.name.toLowerCase() ? 'l' : 'u'}.${s.registry}.mesh`,
    convert,
    incremental,
  });
  return { regs, store, p };
}

function rng(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return (x >>> 12) % n;
  };
}

function kind(store: SnapshotStore, k: string): IstioResource[] {
  return [...(store.current()?.kinds.get(k as 'Service')?.resources.values() ?? [])];
}

test('Service clashes: every published Service has its slices from the same source, the first source of those that want it; incremental equals full', async () => {
  const inc = build(true);
  const full = build(false);
  const ac = new AbortController();
  await inc.p.start(ac.signal);
  await full.p.start(ac.signal);
  const next = rng(7);
  let clashesSeen = 0;
  for (let step = 0; step < 300; step++) {
    const reg = next(2);
    const name = NAMES[next(NAMES.length)] ?? 'cart';
    const apply = (f: (r: FakeRegistry) => void): void => {
      f(inc.regs[reg]!);
      f(full.regs[reg]!);
    };
    if (next(3) > 0) {
      const s = svc(`r${reg}`, name, Array.from({ length: 1 + next(2) }, () => `10.${reg}.${next(3)}.${next(3)}`));
      apply((r) => r.put(s));
    } else {
      const key = [...inc.regs[reg]!.services().keys()][0];
      if (key !== undefined) apply((r) => r.drop(key));
    }
    await inc.p.flushNow();
    await full.p.flushNow();
    assert.equal(inc.store.current()?.version, full.store.current()?.version, `step ${step}: incremental and full agree`);
    // Who wants which Service: every live service, by its Service name.
    const wanted = new Map<string, string[]>();
    for (const r of inc.regs) {
      for (const s of r.services().values()) {
        const n = s.name.toLowerCase();
        wanted.set(n, [...(wanted.get(n) ?? []), `${s.registry}//${s.name}`]);
      }
    }
    const services = kind(inc.store, 'Service');
    assert.deepEqual(services.map((s) => s.name).sort(), [...wanted.keys()].sort(), `step ${step}: one Service per wanted name`);
    for (const s of services) {
      const sources = (wanted.get(s.name) ?? []).sort();
      if (sources.length > 1) clashesSeen++;
      assert.equal(s.annotations[Annotation.SOURCE], sources[0], `step ${step}: ${s.name} kept by the first source`);
      for (const sl of kind(inc.store, 'EndpointSlice').filter((x) => x.labels[SERVICE_NAME_LABEL] === s.name)) {
        assert.equal(sl.annotations[Annotation.SOURCE], sources[0], `step ${step}: ${sl.name} from the Service's source`);
      }
    }
  }
  assert.ok(clashesSeen > 20, `clashes were exercised: ${clashesSeen}`);
  assert.ok(inc.p.debugState().flushes.incremental > 20, JSON.stringify(inc.p.debugState().flushes));
  ac.abort();
});
