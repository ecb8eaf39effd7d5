/**
 * Random histories of registry views and faults (an empty answer, a partial one, a slow drain,
 * endpoints lost, a restart from the checkpoint, an operator release, time passing) checked
 * against a small reference model of what must be published (docs/safety.md). The model is
 * written from the rules, not from protect.ts: whole-history lists instead of a deque, sets
 * instead of cached merges. Each pass goes through applyChanges() when the pipeline would (only
 * the changed keys known) and falls back to apply() as the pipeline does: both must agree with
 * the model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtectGuard, type ProtectSettings } from './protect.js';
import { endpointKey, serviceKey, type Service } from '../model/index.js';
import { svc } from '../registry/testing/fake-registry.js';

const SERVICES = 12;
const ADDRESSES = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'];
const WINDOW = 10_000;

type View = ReadonlyMap<string, Service>;
type Event =
  | { readonly type: 'view'; readonly present: readonly boolean[]; readonly endpoints: readonly number[]; readonly dt: number }
  | { readonly type: 'release'; readonly dt: number }
  | { readonly type: 'restart'; readonly dt: number };

const cache = new Map<string, Service>();
/** Service i with the endpoints in bitmask `mask` (one object per shape, as adapters reuse them). */
function service(i: number, mask: number): Service {
  const id = `${i}/${mask}`;
  let s = cache.get(id);
  if (s === undefined) {
    s = svc('r', `s${i}`, ADDRESSES.filter((_, b) => (mask & (1 << b)) !== 0));
    cache.set(id, s);
  }
  return s;
}

function viewOf(e: Extract<Event, { type: 'view' }>): View {
  const m = new Map<string, Service>();
  e.present.forEach((p, i) => {
    if (p) {
      const s = service(i, e.endpoints[i] ?? 0);
      m.set(serviceKey(s), s);
    }
  });
  return m;
}

const eps = (v: View): number => [...v.values()].reduce((n, s) => n + s.endpoints.length, 0);

/** The rules of docs/safety.md, for one registry, in the plainest form. */
class Model {
  baseline: View | undefined;
  seeded = false;
  holding: number | undefined;
  /** While holding: since when the view has had at least the baseline's numbers. */
  backSince: number | undefined;
  releaseAsked = false;
  /** Released sizes since the window last restarted: [time, services, endpoints]. */
  history: Array<[number, number, number]> = [];
  constructor(private readonly cfg: ProtectSettings) {}

  /** The largest value that held at some time in [now - window, now]. */
  private peak(now: number, col: 1 | 2): number {
    let best = 0;
    this.history.forEach((h, i) => {
      const until = this.history[i + 1]?.[0] ?? Infinity;
      if (until >= now - this.cfg.windowMs) best = Math.max(best, h[col]);
    });
    return best;
  }

  private accept(current: View, now: number, restart: boolean): void {
    this.baseline = current;
    this.holding = undefined;
    this.releaseAsked = false;
    this.seeded = false;
    if (restart) this.history = [];
    this.history.push([now, current.size, eps(current)]);
  }

  pass(current: View, now: number): { keys: string[]; endpoints: Map<string, Set<string>>; holding: boolean } {
    const out = (view: View, holding: boolean) => ({
      keys: [...view.keys()].sort(),
      endpoints: new Map([...view].map(([k, s]) => [k, new Set(s.endpoints.map(endpointKey))])),
      holding,
    });
    const base = this.baseline;
    if (base === undefined) {
      this.accept(current, now, true);
      return out(current, false);
    }
    if (this.holding !== undefined) {
      const byTime = this.cfg.holdMaxMs > 0 && now - this.holding >= this.cfg.holdMaxMs;
      const complete = [...base].every(([k, b]) => {
        const c = current.get(k);
        const have = new Set(c?.endpoints.map(endpointKey));
        return c !== undefined && b.endpoints.every((e) => have.has(endpointKey(e)));
      });
      const numbersBack = current.size >= base.size && eps(current) >= eps(base);
      this.backSince = numbersBack ? (this.backSince ?? now) : undefined;
      const settled = this.backSince !== undefined && now - this.backSince >= this.cfg.settleMs;
      if (this.releaseAsked || byTime || complete || settled) {
        this.accept(current, now, true);
        return out(current, false);
      }
      return this.held(base, current, out);
    }
    const missing = [...base.keys()].filter((k) => !current.has(k)).length;
    const refS = Math.max(base.size, this.peak(now, 1));
    const refE = Math.max(eps(base), this.peak(now, 2));
    const lostS = Math.max(missing, refS - current.size);
    const lostE = refE - eps(current);
    const tripS = this.cfg.servicePercent < 100 && refS > 0 && lostS > 0 && lostS * 100 > this.cfg.servicePercent * refS;
    const tripE = this.cfg.endpointPercent < 100 && refE > 0 && lostE > 0 && lostE * 100 > this.cfg.endpointPercent * refE;
    if (tripS || tripE) {
      this.holding = now;
      this.backSince = current.size >= base.size && eps(current) >= eps(base) ? now : undefined;
      this.seeded = false;
      return this.held(base, current, out);
    }
    this.accept(current, now, this.seeded);
    return out(current, false);
  }

  private held<T>(base: View, current: View, out: (v: View, holding: boolean) => T): T {
    const view = new Map<string, Service>(current);
    for (const [k, b] of base) {
      const c = current.get(k);
      if (c === undefined) view.set(k, b);
      else if (c !== b) {
        const have = new Set(c.endpoints.map(endpointKey));
        view.set(k, { ...c, endpoints: [...c.endpoints, ...b.endpoints.filter((e) => !have.has(endpointKey(e)))] });
      }
    }
    return out(view, true);
  }
}

const viewEvent = fc.record({
  type: fc.constant('view' as const),
  present: fc.array(fc.boolean(), { minLength: SERVICES, maxLength: SERVICES }),
  endpoints: fc.array(fc.integer({ min: 0, max: 15 }), { minLength: SERVICES, maxLength: SERVICES }),
  dt: fc.integer({ min: 0, max: 2 * WINDOW }),
});
/** Views that mostly differ a little from the one before (drains, blinks), sometimes a lot. */
const event: fc.Arbitrary<Event> = fc.oneof(
  { weight: 8, arbitrary: viewEvent },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('release' as const), dt: fc.integer({ min: 0, max: 1000 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('restart' as const), dt: fc.integer({ min: 0, max: 1000 }) }) },
);
const settings = fc.record({
  servicePercent: fc.constantFrom(0, 30, 50, 100),
  endpointPercent: fc.constantFrom(0, 50, 100),
  windowMs: fc.constantFrom(0, WINDOW),
  holdMaxMs: fc.constantFrom(0, 3 * WINDOW),
  settleMs: fc.constantFrom(0, WINDOW / 2),
});

/** Small steps between views: a service or an endpoint set flips, as registries really change. */
function drift(events: readonly Event[]): Event[] {
  let last: Extract<Event, { type: 'view' }> | undefined;
  return events.map((e) => {
    if (e.type !== 'view') return e;
    const next = last === undefined || e.dt % 3 === 0 ? e : { ...e, present: last.present.map((p, i) => (i === e.dt % SERVICES ? !p : p)), endpoints: last.endpoints };
    last = next;
    return next;
  });
}

test('random histories: the guard publishes exactly what the reference model says, through apply() and applyChanges()', () => {
  fc.assert(
    fc.property(settings, fc.array(event, { minLength: 1, maxLength: 40 }), fc.boolean(), (cfg, raw, incremental) => {
      const events = drift(raw);
      let guard = new ProtectGuard(() => cfg);
      let model = new Model(cfg);
      let now = 0;
      let previous: View | undefined;
      for (const e of events) {
        now += e.dt;
        if (e.type === 'release') {
          const asked = guard.requestRelease('r');
          assert.equal(asked, model.holding !== undefined, 'a release is accepted exactly while holding');
          if (asked) model.releaseAsked = true;
          continue;
        }
        if (e.type === 'restart') {
          // A restart: the checkpoint (the baseline) seeds a fresh guard.
          const base = guard.baseline('r');
          guard = new ProtectGuard(() => cfg);
          const next = new Model(cfg);
          if (base !== undefined) {
            guard.seed('r', new Map(base), now);
            next.baseline = new Map(base);
            next.seeded = true;
            next.history = [[now, base.size, eps(base)]];
          }
          model = next;
          previous = undefined;
          continue;
        }
        const current = viewOf(e);
        const want = model.pass(current, now);
        let got: { keys: string[]; endpoints: Map<string, Set<string>>; holding: boolean } | undefined;
        if (incremental && previous !== undefined) {
          const changed = new Set([...current.keys(), ...previous.keys()].filter((k) => current.get(k) !== previous?.get(k)));
          // Now and then an addition or deletion that was never announced: applyChanges must
          // notice and refuse (its contract: only the keys in `changed` may differ otherwise).
          if (e.dt % 7 === 0) changed.delete([...changed].find((k) => !current.has(k) || !previous?.has(k)) ?? '');
          if (guard.applyChanges('r', current, changed, now)) {
            got = { keys: [...current.keys()].sort(), endpoints: new Map([...current].map(([k, s]) => [k, new Set(s.endpoints.map(endpointKey))])), holding: false };
          }
        }
        if (got === undefined) {
          const r = guard.apply('r', current, now);
          got = { keys: r.view.map(serviceKey).sort(), endpoints: new Map(r.view.map((s) => [serviceKey(s), new Set(s.endpoints.map(endpointKey))])), holding: r.holding };
        }
        assert.deepEqual(got, want, `pass at ${now}`);
        // The promises themselves, whatever the model says: nothing in the registry is ever held
        // back, and a hold deletes nothing that was there before.
        for (const k of current.keys()) assert.ok(got.keys.includes(k), `${k} is in the registry and published`);
        previous = current;
      }
    }),
    { numRuns: 2000 },
  );
});
