import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConversionOptions, type ConversionOptions } from '../convert/options.js';
import type { SelectionRules } from '../convert/selection.js';
import { FakeRegistry, svc } from '../registry/testing/fake-registry.js';
import { Health, type Service } from '../model/index.js';
import type { Metrics } from '../observability/index.js';
import { serviceEntries, testPipeline } from './testing.js';
import type { SnapshotStore } from '../snapshot/index.js';

// Selection in the pipeline: excluded services are not published, narrowed ones publish only
// their kept endpoints, the guard judges the unselected view, and the gauges and /debug agree.

const opts = (selection: SelectionRules | undefined): ConversionOptions => ({ ...defaultConversionOptions, ...(selection !== undefined ? { selection } : {}) });

function labelled(reg: string, name: string, envs: readonly string[]): Service {
  const base = svc(reg, name, []);
  return { ...base, endpoints: envs.map((env, i) => ({ address: `10.9.0.${i + 1}`, ports: {}, labels: { env }, health: Health.HEALTHY, origin: reg })) };
}

/** host -> endpoint addresses published. */
function published(store: SnapshotStore): Map<string, string[]> {
  return new Map(serviceEntries(store).map((r) => [r.name, (r.spec['endpoints'] as Array<{ address: string }>).map((e) => e.address)]));
}

async function gauge(metrics: Metrics, name: string, registry: string): Promise<number | undefined> {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return m?.values.find((v) => v.labels['registry'] === registry)?.value;
}

const many = (reg: string, n: number): Service[] => Array.from({ length: n }, (_, i) => svc(reg, `${reg}.keep${i}`, [`10.1.0.${i}`]));

for (const incremental of [true, false]) {
  test(`excluded services are not published, narrowed ones keep only matching endpoints (incremental ${incremental})`, async () => {
    const rules: SelectionRules = { services: { exclude: ['*.internal.*'] }, endpoints: { metadata: { env: { include: ['prod'] } }, scope: 'endpoints' } };
    const a = new FakeRegistry('a', [labelled('a', 'shop.cart', ['prod', 'test', 'prod']), labelled('a', 'shop.internal.audit', ['prod'])]);
    const { p, store, metrics } = testPipeline([a], { conversion: new Map([['a', opts(rules)]]), incremental });
    const ac = new AbortController();
    await p.start(ac.signal);
    await p.flushNow();
    assert.deepEqual([...published(store)], [['shop.cart.mesh', ['10.9.0.1', '10.9.0.3']]]);
    assert.equal(await gauge(metrics, 'meshbridge_selection_excluded_services', 'a'), 1);
    assert.equal(await gauge(metrics, 'meshbridge_selection_excluded_endpoints', 'a'), 2, 'audit\'s one endpoint and cart\'s test one');
    const st = p.selectionState();
    assert.deepEqual(st[0]?.services, [
      { service: 'shop.cart', rule: undefined, endpoints: 1 },
      { service: 'shop.internal.audit', rule: 'services.exclude "*.internal.*"', endpoints: 1 },
    ]);
    // Changes go through the rules too: a new excluded service, cart loses its test endpoint.
    a.put(labelled('a', 'shop.internal.ledger', ['prod']));
    a.put(labelled('a', 'shop.cart', ['prod']));
    a.put(labelled('a', 'shop.orders', ['test', 'prod']));
    await p.flushNow();
    assert.deepEqual([...published(store)].sort(), [
      ['shop.cart.mesh', ['10.9.0.1']],
      ['shop.orders.mesh', ['10.9.0.2']],
    ]);
    assert.equal(await gauge(metrics, 'meshbridge_selection_excluded_services', 'a'), 2);
    assert.equal(await gauge(metrics, 'meshbridge_selection_excluded_endpoints', 'a'), 3);
    a.drop('a//shop.internal.audit');
    await p.flushNow();
    assert.equal(await gauge(metrics, 'meshbridge_selection_excluded_services', 'a'), 1, 'a deleted excluded service is no longer counted');
    ac.abort();
  });
}

test('a reload that excludes most services removes them at once: the guard does not hold, and widening brings them back', async () => {
  const a = new FakeRegistry('a', [...many('a', 8), svc('a', 'a.other', ['10.2.0.1'])]);
  const { p, store, metrics } = testPipeline([a], { conversion: new Map([['a', opts(undefined)]]), protect: new Map([['a', { servicePercent: 10 }]]) });
  const ac = new AbortController();
  await p.start(ac.signal);
  await p.flushNow();
  assert.equal(published(store).size, 9);
  const narrow = { registries: [a], conversion: new Map([['a', opts({ services: { include: ['a.other'] } })]]), protectPercent: new Map(), protect: new Map([['a', { servicePercent: 10 }]]), conflictPolicy: 'merge' as const };
  await p.reconfigure(narrow);
  await p.flushNow();
  assert.deepEqual([...published(store).keys()], ['a.other.mesh'], '8 of 9 services gone in one pass, far above the 10% guard: a deliberate config change');
  assert.equal(p.guardState().find((g) => g.registry === 'a')?.hold, undefined);
  assert.equal(await gauge(metrics, 'meshbridge_selection_excluded_services', 'a'), 8);
  await p.reconfigure({ ...narrow, conversion: new Map([['a', opts(undefined)]]) });
  await p.flushNow();
  assert.equal(published(store).size, 9);
  assert.equal(await gauge(metrics, 'meshbridge_selection_excluded_services', 'a'), 0);
  ac.abort();
});

test('the guard still judges the registry: losing excluded services counts as a loss of the registry', async () => {
  const a = new FakeRegistry('a', [...many('a', 8), svc('a', 'a.other', ['10.2.0.1'])]);
  const rules: SelectionRules = { services: { include: ['a.other'] } };
  const { p, store } = testPipeline([a], { conversion: new Map([['a', opts(rules)]]), protect: new Map([['a', { servicePercent: 50 }]]) });
  const ac = new AbortController();
  await p.start(ac.signal);
  await p.flushNow();
  a.set([svc('a', 'a.other', ['10.2.0.2'])]);
  await p.flushNow();
  assert.notEqual(p.guardState().find((g) => g.registry === 'a')?.hold, undefined, '8 of 9 registry services vanished: held, though none of them was published');
  const other = published(store);
  assert.deepEqual([...other.keys()], ['a.other.mesh'], 'the excluded ones are not published while held either');
  assert.deepEqual([...(other.get('a.other.mesh') ?? [])].sort(), ['10.2.0.1', '10.2.0.2'], 'the new endpoint is published (the lost one held, as the guard does)');
  ac.abort();
});
