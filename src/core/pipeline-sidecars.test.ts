import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConversionOptions, defaultSidecarOptions, type ConversionOptions } from '../convert/options.js';
import { ErrorCode } from '../errors/index.js';
import type { Service } from '../model/index.js';
import { FakeRegistry, svc } from '../registry/testing/fake-registry.js';
import type { SnapshotStore } from '../snapshot/index.js';
import { testPipeline } from './testing.js';

const SIDECARS: ConversionOptions = { ...defaultConversionOptions, sidecars: { ...defaultSidecarOptions, namespaces: { web: 'apps', cart: 'carts' } } };

const consumed = (name: string, ip: string, consumers: string[]): Service => ({ ...svc('zk', name, [ip]), ...(consumers.length > 0 ? { consumers } : {}) });

function sidecars(store: SnapshotStore): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of store.current()?.kinds.get('Sidecar')?.resources.values() ?? []) out[r.key] = (r.spec['egress'] as Array<{ hosts: string[] }>)[0]?.hosts ?? [];
  return out;
}

for (const incremental of [true, false]) {
  test(`pipeline (${incremental ? 'incremental' : 'full'} passes): Sidecars follow consumers and published hosts`, async () => {
    const zk = new FakeRegistry('zk', [consumed('a', '10.0.0.1', ['web']), consumed('b', '10.0.0.2', []), consumed('c', '10.0.0.3', ['cart', 'web', 'lost'])]);
    const { p, store, metrics } = testPipeline([zk], { conversion: new Map([['zk', SIDECARS]]), incremental });
    const ac = new AbortController();
    await p.start(ac.signal);
    assert.deepEqual(sidecars(store), {
      'Sidecar/apps/web': ['istio-system/*', 'ns/a.mesh', 'ns/c.mesh'],
      'Sidecar/carts/cart': ['istio-system/*', 'ns/c.mesh'],
    });
    // lost has no namespace: skipped, counted once however many passes run.
    const skipped = async (): Promise<number> => (await metrics.registry.getSingleMetric('meshbridge_entries_skipped_total')?.get())?.values.find((v) => v.labels['code'] === ErrorCode.SIDECAR_SKIPPED)?.value ?? 0;
    assert.equal(await skipped(), 1);

    // web starts consuming b.
    zk.put(consumed('b', '10.0.0.2', ['web']));
    await p.flushNow();
    assert.deepEqual(sidecars(store)['Sidecar/apps/web'], ['istio-system/*', 'ns/a.mesh', 'ns/b.mesh', 'ns/c.mesh']);
    // An endpoint change of a consumed service leaves the Sidecars as they were.
    const before = store.current()?.kinds.get('Sidecar')?.version;
    zk.put(consumed('a', '10.0.0.9', ['web']));
    await p.flushNow();
    assert.equal(store.current()?.kinds.get('Sidecar')?.version, before);
    // c's last provider goes: its host leaves every Sidecar, and cart (consuming only c) loses its Sidecar.
    zk.drop('zk//c');
    await p.flushNow();
    assert.deepEqual(sidecars(store), { 'Sidecar/apps/web': ['istio-system/*', 'ns/a.mesh', 'ns/b.mesh'] });
    // The last consumer of web goes from a and b: no Sidecar at all.
    zk.put(consumed('a', '10.0.0.9', []));
    zk.put(consumed('b', '10.0.0.2', []));
    await p.flushNow();
    assert.deepEqual(sidecars(store), {});
    assert.equal(await skipped(), 1, 'lost was reported once');
    if (incremental) assert.ok(p.debugState().flushes.incremental >= 3, JSON.stringify(p.debugState().flushes));
    ac.abort();
  });
}

test('pipeline: a registry without sidecars publishes no Sidecar, whatever its services say', async () => {
  const zk = new FakeRegistry('zk', [consumed('a', '10.0.0.1', ['web'])]);
  const { p, store } = testPipeline([zk]);
  const ac = new AbortController();
  await p.start(ac.signal);
  assert.equal(store.current()?.kinds.get('Sidecar')?.resources.size ?? 0, 0);
  assert.equal(store.current()?.kinds.get('ServiceEntry')?.resources.size, 1);
  ac.abort();
});

test('pipeline: incremental and full passes publish the same Sidecars (random history, two registries)', async () => {
  const opts = (ns: string): ConversionOptions => ({ ...defaultConversionOptions, sidecars: { ...defaultSidecarOptions, namespace: ns, namespaces: { app2: 'special' } } });
  const build = (incremental: boolean) => {
    const regs = [new FakeRegistry('r0', []), new FakeRegistry('r1', [])];
    const t = testPipeline(regs, { conversion: new Map([['r0', opts('n0')], ['r1', opts('n1')]]), incremental, debounce: { quietPeriodMs: 60_000, maxDelayMs: 60_000 }, protectPercent: new Map([['r0', 100], ['r1', 100]]), protect: new Map([['r0', { endpointPercent: 100 }], ['r1', { endpointPercent: 100 }]]) });
    return { regs, ...t };
  };
  const inc = build(true);
  const full = build(false);
  const ac = new AbortController();
  await inc.p.start(ac.signal);
  await full.p.start(ac.signal);
  let x = 7;
  const next = (n: number): number => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return (x >>> 12) % n;
  };
  const names = ['s0', 's1', 's2', 's3', 's4', 's5'];
  const apps = ['app0', 'app1', 'app2', 'app3'];
  let withSidecars = 0;
  for (let step = 0; step < 300; step++) {
    const reg = next(2);
    const name = names[next(names.length)] ?? 's0';
    const both = (f: (r: FakeRegistry) => void): void => {
      f(inc.regs[reg]!);
      f(full.regs[reg]!);
    };
    if (next(4) === 0) both((r) => r.drop(`r${reg}//${name}`));
    else {
      const consumers = apps.filter(() => next(3) === 0);
      const s: Service = { ...svc(`r${reg}`, name, [`10.${reg}.0.${next(3) + 1}`]), ...(consumers.length > 0 ? { consumers } : {}) };
      both((r) => r.put(s));
    }
    if (next(2) === 0) continue;
    await inc.p.flushNow();
    await full.p.flushNow();
    assert.deepEqual(sidecars(inc.store), sidecars(full.store), `step ${step}`);
    assert.equal(inc.store.current()?.kinds.get('Sidecar')?.version, full.store.current()?.kinds.get('Sidecar')?.version, `step ${step}: version`);
    if (Object.keys(sidecars(inc.store)).length > 1) withSidecars += 1;
  }
  assert.ok(withSidecars > 20, `steps compared with several Sidecars: ${withSidecars}`);
  assert.ok(inc.p.debugState().flushes.incremental > 50, JSON.stringify(inc.p.debugState().flushes));
  ac.abort();
});

test('pipeline: a reload that changes only the sidecars settings rebuilds the Sidecars in place', async () => {
  const zk = new FakeRegistry('zk', [consumed('a', '10.0.0.1', ['web'])]);
  const { p, store } = testPipeline([zk], { conversion: new Map([['zk', SIDECARS]]) });
  const ac = new AbortController();
  await p.start(ac.signal);
  assert.deepEqual(sidecars(store), { 'Sidecar/apps/web': ['istio-system/*', 'ns/a.mesh'] });
  const next: ConversionOptions = { ...defaultConversionOptions, sidecars: { ...defaultSidecarOptions, namespaces: { web: 'web-ns' }, alwaysInclude: ['./*'] } };
  await p.reconfigure({ registries: [zk], conversion: new Map([['zk', next]]), protectPercent: new Map(), conflictPolicy: 'merge' });
  await p.flushNow();
  assert.deepEqual(sidecars(store), { 'Sidecar/web-ns/web': ['./*', 'ns/a.mesh'] });
  ac.abort();
});
