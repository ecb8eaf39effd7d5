import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pipeline, type ConvertOutput } from './pipeline.js';
import { ConflictPolicy } from './aggregate.js';
import { SnapshotStore, resourceKey, type IstioResource } from '../snapshot/index.js';
import { Metrics, silentLogger } from '../observability/index.js';
import { defaultConversionOptions, type ConvertInput } from '../convert/options.js';
import { serviceKey, type Service } from '../model/index.js';
import { FakeRegistry, svc } from '../registry/testing/fake-registry.js';
import { hashOf } from '../util/hash.js';

/** A conversion that shows every input field in its output, so any merge difference shows. */
function convert(input: ConvertInput): ConvertOutput {
  const spec = {
    hosts: [input.host],
    primary: `${input.primary.registry}/${input.primary.name}`,
    ports: input.ports.map((p) => `${p.name}:${p.number}`),
    endpoints: input.endpoints.map((e) => `${e.origin}/${e.address}`),
    origins: input.origins,
  };
  const name = input.host.replace(/\./g, '-');
  const r: IstioResource = {
    kind: 'ServiceEntry',
    namespace: 'ns',
    name,
    key: resourceKey('ServiceEntry', 'ns', name),
    labels: {},
    annotations: {},
    spec,
    version: hashOf(spec),
  };
  return { resources: [r], problems: [], droppedLabels: 0 };
}

/** Case-insensitive hosts (same-registry collisions), shared names across registries (conflicts), invalid names. */
function hostFor(s: Service): string {
  if (s.name.includes(' ')) throw new Error('bad name');
  return `${s.name.toLowerCase()}.mesh`;
}

const NAMES = ['alpha', 'Alpha', 'beta', 'gamma', 'delta', 'eps', 'zeta', 'eta', 'theta', 'bad name', 'iota', 'kappa'];

/** The tests' clock: a step of the random history is a second. */
const clock = { now: 0 };

function build(incremental: boolean, policy: ConflictPolicy, regs = ['r0', 'r1', 'r2'].map((n) => new FakeRegistry(n, []))) {
  const store = new SnapshotStore();
  const p = new Pipeline({
    registries: regs,
    conversion: new Map(regs.map((r) => [r.name, defaultConversionOptions])),
    protectPercent: new Map([['r2', 100]]),
    // r2 unguarded; r0 and r1 guarded over a 10 s window, their holds released by time after 5 s.
    protect: new Map([
      ['r0', { windowMs: 10_000, holdMaxMs: 5_000 }],
      ['r1', { windowMs: 10_000, holdMaxMs: 5_000 }],
      ['r2', { endpointPercent: 100 }],
    ]),
    now: () => clock.now,
    conflictPolicy: policy,
    debounce: { quietPeriodMs: 60_000, maxDelayMs: 60_000 },
    store,
    metrics: new Metrics(),
    logger: silentLogger(),
    hostFor,
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

for (const policy of [ConflictPolicy.MERGE, ConflictPolicy.PRECEDENCE]) {
  test(`incremental flushes publish what full flushes publish (random history, ${policy})`, async () => {
    const inc = build(true, policy);
    const full = build(false, policy);
    const ac = new AbortController();
    await inc.p.start(ac.signal);
    await full.p.start(ac.signal);
    const next = rng(policy === ConflictPolicy.MERGE ? 11 : 29);
    const service = (reg: number): Service => {
      const addrs = Array.from({ length: 1 + next(3) }, () => `10.0.${next(4)}.${next(4)}`);
      const ports = next(2) === 0 ? undefined : [{ number: 8000 + next(3), name: `p${next(3)}`, protocol: 'HTTP' as const }];
      return svc(`r${reg}`, NAMES[next(NAMES.length)] ?? 'x', addrs, ports === undefined ? {} : { ports });
    };
    for (let step = 0; step < 400; step++) {
      clock.now += 1000;
      const reg = next(3);
      const op = next(20);
      const apply = (f: (r: FakeRegistry) => void): void => {
        f(inc.regs[reg]!);
        f(full.regs[reg]!);
      };
      if (op < 12) {
        const s = service(reg);
        apply((r) => r.put(s));
      } else if (op < 18) {
        const keys = [...inc.regs[reg]!.services().keys()];
        const key = keys[next(Math.max(1, keys.length))];
        if (key !== undefined) apply((r) => r.drop(key));
      } else {
        // A whole re-list: a random subset (may trip the protect threshold of r0/r1), plus a new one.
        const kept = [...inc.regs[reg]!.services().values()].filter(() => next(3) !== 0);
        const all = [...kept, service(reg)];
        apply((r) => r.set(all));
      }
      if (next(3) === 0) continue; // let changes pile up across several steps
      await inc.p.flushNow();
      await full.p.flushNow();
      const a = inc.store.current();
      const b = full.store.current();
      assert.equal(a?.version, b?.version, `step ${step}: snapshot version`);
      assert.deepEqual(
        [...(a?.kinds.get('ServiceEntry')?.resources.values() ?? [])].map((r) => r.spec),
        [...(b?.kinds.get('ServiceEntry')?.resources.values() ?? [])].map((r) => r.spec),
        `step ${step}: resources`,
      );
      const da = inc.p.debugState();
      const db = full.p.debugState();
      assert.deepEqual(da.conflicts, db.conflicts, `step ${step}: conflicts`);
      assert.deepEqual(da.collisions, db.collisions, `step ${step}: collisions`);
      assert.deepEqual(da.held, db.held, `step ${step}: held`);
    }
    const counts = inc.p.debugState().flushes;
    assert.ok(counts.incremental > 50, `many flushes were incremental: ${JSON.stringify(counts)}`);
    assert.ok(counts.full > 1, `some flushes fell back to a full pass (holds): ${JSON.stringify(counts)}`);
    assert.equal(full.p.debugState().flushes.incremental, 0);
    ac.abort();
  });
}

test('a change the registry never announced sends the next flush through a full pass', async () => {
  const r = new FakeRegistry('r0', [svc('r0', 'a', ['10.0.0.1']), svc('r0', 'b', ['10.0.0.2'])]);
  const { p, store } = build(true, ConflictPolicy.MERGE, [r]);
  const ac = new AbortController();
  await p.start(ac.signal);
  // Bypass the events: services() now holds a service no event named.
  const held = r.services() as Map<string, Service>;
  const sneaky = svc('r0', 'c', ['10.0.0.3']);
  held.set(serviceKey(sneaky), sneaky);
  r.put(svc('r0', 'a', ['10.0.0.9']));
  await p.flushNow();
  assert.deepEqual(p.debugState().flushes, { full: 2, incremental: 0 });
  assert.equal(store.current()?.kinds.get('ServiceEntry')?.resources.size, 3);
  ac.abort();
});
