import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConvertOutput } from './pipeline.js';
import { endpointEntry, serviceEntries, testPipeline } from './testing.js';
import type { SnapshotStore } from '../snapshot/index.js';
import { defaultConversionOptions, type ConvertInput } from '../convert/options.js';
import { convert as realConvert, formOf } from '../convert/convert.js';
import { FakeRegistry, svc } from '../registry/testing/fake-registry.js';

let converts = 0;
function convert(input: ConvertInput): ConvertOutput {
  converts++;
  return endpointEntry(input);
}

function build(registries: FakeRegistry[], quiet = 20, max = 200) {
  return testPipeline(registries, {
    debounce: { quietPeriodMs: quiet, maxDelayMs: max },
    hostFor: (s) => {
      if (s.name.includes(' ')) throw new Error('bad name');
      return `${s.name}.mesh`;
    },
    convert,
  });
}

function hosts(store: SnapshotStore): string[] {
  return serviceEntries(store).map((r) => r.name);
}

test('nothing is published before every registry synced', async () => {
  const a = new FakeRegistry('a', [svc('a', 'x', ['10.0.0.1'])]);
  const b = new FakeRegistry('b'); // never synced until set()
  const { p, store } = build([a, b]);
  const ac = new AbortController();
  await p.start(ac.signal);
  assert.equal(store.current(), undefined);
  assert.equal(p.ready(), false);
  assert.match(p.notReadyReasons().join(), /registry b has not synced/);
  b.set([svc('b', 'y', ['10.0.0.2'])]);
  assert.equal(p.ready(), true);
  assert.deepEqual(hosts(store), ['x.mesh', 'y.mesh']);
  ac.abort();
});

test('a burst of changes becomes one snapshot; no-op changes publish nothing', async () => {
  const a = new FakeRegistry('a', [svc('a', 'x', ['10.0.0.1'])]);
  const { p, store, metrics } = build([a]);
  const ac = new AbortController();
  await p.start(ac.signal);
  const first = store.current()!.sequence;
  for (let i = 2; i < 12; i++) a.put(svc('a', `s${i}`, [`10.0.0.${i}`]));
  await sleep(80);
  assert.equal(store.current()!.sequence, first + 1);
  assert.equal(hosts(store).length, 11);
  a.put(svc('a', 'x', ['10.0.0.1'])); // equal to what is held: no event at all
  await sleep(60);
  assert.equal(store.current()!.sequence, first + 1);
  assert.ok((await metrics.debounceMerged.get()).values[0]!.value >= 9);
  ac.abort();
});

test('unchanged hosts are not converted again', async () => {
  const services = Array.from({ length: 50 }, (_, i) => svc('a', `s${i}`, [`10.0.1.${i}`]));
  const a = new FakeRegistry('a', services);
  const { p } = build([a]);
  const ac = new AbortController();
  await p.start(ac.signal);
  const before = converts;
  a.put(svc('a', 's3', ['10.9.9.9']));
  p.flush();
  assert.equal(converts - before, 1);
  ac.abort();
});

test('a service with an invalid host is skipped and counted; neighbours publish', async () => {
  const a = new FakeRegistry('a', [svc('a', 'bad name', ['10.0.0.1']), svc('a', 'good', ['10.0.0.2'])]);
  const { p, store, metrics } = build([a]);
  const ac = new AbortController();
  await p.start(ac.signal);
  assert.deepEqual(hosts(store), ['good.mesh']);
  const skipped = await metrics.entriesSkipped.get();
  assert.equal(skipped.values[0]?.labels.code, 'MB_NAME_INVALID');
  ac.abort();
});

test('an unreachable registry keeps its services; a sudden empty answer deletes nothing', async () => {
  const services = Array.from({ length: 4 }, (_, i) => svc('a', `s${i}`, [`10.0.2.${i}`]));
  const a = new FakeRegistry('a', services);
  const { p, store, metrics } = build([a]);
  const ac = new AbortController();
  await p.start(ac.signal);
  a.disconnect();
  assert.equal(a.status().stale, true);
  a.set([]);
  p.flush();
  assert.equal(hosts(store).length, 4);
  assert.equal((await metrics.protectHeld.get()).values[0]?.value, 1);
  assert.equal(p.debugState().held['a']?.services.length, 4);
  ac.abort();
});

// Issue 10 case 8: the pipeline remembers each host's form and hands it to conversion.
test('a host hovering around the inline limit switches form once, not on every change', async () => {
  const a = new FakeRegistry('a', []);
  const addrs = (n: number): string[] => Array.from({ length: n }, (_, i) => `10.1.0.${i + 1}`);
  const opts = { ...defaultConversionOptions, maxInlineEndpoints: 10 };
  const { p, store } = testPipeline([a], {
    conversion: new Map([['a', opts]]),
    protectPercent: new Map([['a', 100]]),
    debounce: { quietPeriodMs: 1, maxDelayMs: 5 },
    convert: realConvert,
  });
  const ac = new AbortController();
  await p.start(ac.signal);
  a.set([svc('a', 'big', addrs(10))]);
  const forms: Array<string | undefined> = [];
  for (const n of [10, 11, 10, 11, 10, 9, 10, 11]) {
    a.put(svc('a', 'big', addrs(n)));
    await p.flushNow();
    forms.push(formOf(serviceEntries(store)));
  }
  assert.deepEqual(forms, ['inline', 'workloadEntry', 'workloadEntry', 'workloadEntry', 'workloadEntry', 'inline', 'inline', 'workloadEntry']);
  ac.abort();
});
