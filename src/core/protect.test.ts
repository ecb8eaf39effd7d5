import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtectGuard, type ProtectSettings } from './protect.js';
import { serviceKey, type Service } from '../model/index.js';
import { svc } from '../registry/testing/fake-registry.js';

function mapOf(services: readonly Service[]): Map<string, Service> {
  return new Map(services.map((s) => [serviceKey(s), s]));
}
const hundred = Array.from({ length: 100 }, (_, i) => svc('r', `s${i}`, [`10.0.${i >> 8}.${i & 255}`]));
const ten = hundred.slice(0, 10);
const S = (over: Partial<ProtectSettings> = {}): (() => ProtectSettings) => () => ({ servicePercent: 50, endpointPercent: 50, windowMs: 300_000, holdMaxMs: 0, settleMs: 30_000, ...over });
const endpointsOf = (view: readonly Service[]): number => view.reduce((n, s) => n + s.endpoints.length, 0);

test('first view is released as is; an empty answer is held; a full recovery releases', () => {
  const g = new ProtectGuard(S());
  assert.equal(g.apply('r', mapOf(ten), 0).view.length, 10);
  const empty = g.apply('r', new Map(), 1000);
  assert.equal(empty.view.length, 10, 'an empty answer deletes nothing');
  assert.equal(empty.held.length, 10);
  assert.equal(empty.holding, true);
  const back = g.apply('r', mapOf(ten), 2000);
  assert.equal(back.holding, false);
  assert.equal(back.released, 'recovered');
});

// Issue 10 case 1: the guard compared with the last *released* view, so once 55 of 100 services
// had re-registered the other 45 were deleted.
test('a registry restarting empty: partial re-registration keeps every missing service held', () => {
  const g = new ProtectGuard(S());
  g.apply('r', mapOf(hundred), 0);
  assert.equal(g.apply('r', new Map(), 1000).view.length, 100);
  for (const n of [20, 55, 90, 99]) {
    const r = g.apply('r', mapOf(hundred.slice(0, n)), 1000 + n * 10);
    assert.equal(r.view.length, 100, `${n} re-registered: still 100 published`);
    assert.equal(r.held.length, 100 - n);
  }
  const all = g.apply('r', mapOf(hundred), 5000);
  assert.equal(all.released, 'recovered');
  // After recovery a legitimate small deletion goes through.
  assert.equal(g.apply('r', mapOf(hundred.slice(0, 90)), 6000).view.length, 90);
});

// The fault matrix's Nacos restart (CI, stop 24): services register again one by one and the
// subscriptions answer in any order, so a newcomer brought the numbers back to the baseline's
// while one old service was still missing, and the release by numbers removed it.
test('a newcomer filling the numbers does not release a hold while an old service is missing', () => {
  const g = new ProtectGuard(S());
  const twenty = hundred.slice(0, 20);
  const newcomer = svc('r', 'after-restart', ['10.7.0.1']);
  g.apply('r', mapOf(twenty), 0);
  assert.equal(g.apply('r', new Map(), 1000).holding, true);
  const early = g.apply('r', mapOf([...twenty.slice(0, 7), ...twenty.slice(8), newcomer]), 2000);
  assert.equal(early.holding, true, '20 services and 20 endpoints, but s7 is not back');
  assert.deepEqual(early.held, [serviceKey(twenty[7]!)]);
  assert.equal(early.view.length, 21, 's7 stays published beside the newcomer');
  assert.equal(g.nextTimedRelease(), 2000 + 30_000, 'the numbers are back: settles in 30 s');
  const all = g.apply('r', mapOf([...twenty, newcomer]), 2100);
  assert.equal(all.released, 'recovered', 'back complete: released at once');
  assert.equal(g.nextTimedRelease(), undefined);
});

test('a hold back to its numbers but not complete settles: the numbers must hold settleMs without interruption', () => {
  const g = new ProtectGuard(S({ settleMs: 10_000 }));
  const twenty = hundred.slice(0, 20);
  const replaced = [...twenty.slice(0, 19), svc('r', 'renamed', ['10.7.0.2'])];
  g.apply('r', mapOf(twenty), 0);
  g.apply('r', new Map(), 1000);
  assert.equal(g.apply('r', mapOf(replaced), 2000).holding, true, 's19 really left during the outage: held for now');
  assert.equal(g.state(2000)[0]?.hold?.backSince, new Date(2000).toISOString());
  assert.equal(g.apply('r', mapOf(replaced.slice(0, 15)), 5000).holding, true, 'numbers dropped again');
  assert.equal(g.nextTimedRelease(), undefined, 'the clock stopped');
  assert.equal(g.apply('r', mapOf(replaced), 6000).holding, true, 'back: the clock starts over');
  assert.equal(g.nextTimedRelease(), 16_000);
  assert.equal(g.apply('r', mapOf(replaced), 15_999).holding, true);
  const settled = g.apply('r', mapOf(replaced), 16_000);
  assert.equal(settled.released, 'settled');
  assert.deepEqual(settled.view.map((x) => x.name).sort(), replaced.map((x) => x.name).sort(), 's19 is removed now');
  // settleMs 0: the numbers release at once (the rule before settling existed).
  const g0 = new ProtectGuard(S({ settleMs: 0 }));
  g0.apply('r', mapOf(twenty), 0);
  g0.apply('r', new Map(), 1000);
  assert.equal(g0.apply('r', mapOf(replaced), 2000).released, 'settled');
});

// Issue 10 case 2: sessions expiring one by one, a flush every second: 100 -> 70 -> 49 -> 25.
test('a slow drain adds up over the window and trips the guard', () => {
  const g = new ProtectGuard(S());
  g.apply('r', mapOf(hundred), 0);
  assert.equal(g.apply('r', mapOf(hundred.slice(0, 70)), 1000).view.length, 70, '30% is within 50%');
  const r49 = g.apply('r', mapOf(hundred.slice(0, 49)), 2000);
  assert.equal(r49.holding, true, '51% lost within the window');
  assert.equal(r49.view.length, 70, 'the 21 beyond the released 70 are held');
  assert.equal(g.apply('r', mapOf(hundred.slice(0, 25)), 3000).view.length, 70);
  // Without a window each step is judged alone and the drain goes through.
  const g0 = new ProtectGuard(S({ windowMs: 0 }));
  g0.apply('r', mapOf(hundred), 0);
  for (const [i, n] of [70, 49, 25].entries()) assert.equal(g0.apply('r', mapOf(hundred.slice(0, n)), 1000 * (i + 1)).view.length, n);
});

test('losses older than the window do not add up', () => {
  const g = new ProtectGuard(S({ windowMs: 10_000 }));
  g.apply('r', mapOf(hundred), 0);
  assert.equal(g.apply('r', mapOf(hundred.slice(0, 70)), 1000).view.length, 70);
  assert.equal(g.apply('r', mapOf(hundred.slice(0, 49)), 20_000).view.length, 49, '21 of 70 (30%) once the first loss left the window');
});

// Issue 10 case 3: every instance disappears but the services stay listed.
test('every endpoint gone while the services stay listed: endpoints are held', () => {
  const g = new ProtectGuard(S());
  g.apply('r', mapOf(hundred), 0);
  const bare = hundred.map((s) => ({ ...s, endpoints: [] }));
  const r = g.apply('r', mapOf(bare), 1000);
  assert.equal(r.holding, true);
  assert.equal(r.held.length, 0, 'no service is missing');
  assert.equal(r.heldEndpoints, 100);
  assert.equal(endpointsOf(r.view), 100, 'every service keeps its last endpoints');
  // Half re-register: the others' endpoints are still held; new endpoints are added.
  const half = hundred.map((s, i) => (i < 50 ? s : { ...s, endpoints: [] }));
  const r2 = g.apply('r', mapOf(half), 2000);
  assert.equal(r2.holding, true);
  assert.equal(endpointsOf(r2.view), 100);
  const moved = { ...hundred[0]!, endpoints: [{ ...hundred[0]!.endpoints[0]!, address: '10.9.9.9' }] };
  const r3 = g.apply('r', mapOf([moved, ...half.slice(1)]), 3000);
  assert.deepEqual(r3.view.find((s) => s.name === 's0')?.endpoints.map((e) => e.address).sort(), ['10.0.0.0', '10.9.9.9'], 'new endpoint added, old one kept');
  assert.equal(g.apply('r', mapOf(hundred), 4000).released, 'recovered');
});

test('a rolling restart that replaces every endpoint is no loss', () => {
  const g = new ProtectGuard(S());
  g.apply('r', mapOf(hundred), 0);
  const replaced = hundred.map((s, i) => ({ ...s, endpoints: [{ ...s.endpoints[0]!, address: `10.8.${i >> 8}.${i & 255}` }] }));
  const r = g.apply('r', mapOf(replaced), 1000);
  assert.equal(r.holding, false);
  assert.equal(endpointsOf(r.view), 100);
});

test('changes and additions pass while deletions are held', () => {
  const g = new ProtectGuard(S());
  g.apply('r', mapOf(ten), 0);
  const changed = svc('r', 's0', ['10.9.9.9']);
  const added = svc('r', 'new', ['10.8.8.8']);
  const r = g.apply('r', mapOf([changed, added]), 1000);
  const byName = new Map(r.view.map((s) => [s.name, s]));
  assert.deepEqual(byName.get('s0')?.endpoints.map((e) => e.address).sort(), ['10.0.0.0', '10.9.9.9']);
  assert.equal(byName.get('new'), added);
  assert.equal(r.view.length, 11);
  assert.equal(r.held.length, 9);
});

test('an operator release publishes the current view; so does the time limit', () => {
  const g = new ProtectGuard(S({ holdMaxMs: 60_000 }));
  g.apply('r', mapOf(hundred), 0);
  assert.equal(g.apply('r', mapOf(ten), 1000).holding, true);
  assert.equal(g.nextTimedRelease(), 61_000);
  assert.equal(g.requestRelease('r'), true);
  const rel = g.apply('r', mapOf(ten), 2000);
  assert.equal(rel.released, 'operator');
  assert.equal(rel.view.length, 10);
  assert.equal(g.requestRelease('r'), false, 'nothing to release');
  // The released view is the new baseline: the window restarts, 10 -> 10 is no loss.
  assert.equal(g.apply('r', mapOf(ten), 3000).holding, false);
  const g2 = new ProtectGuard(S({ holdMaxMs: 60_000 }));
  g2.apply('r', mapOf(hundred), 0);
  g2.apply('r', mapOf(ten), 1000);
  assert.equal(g2.apply('r', mapOf(ten), 60_000).holding, true, 'not yet');
  assert.equal(g2.apply('r', mapOf(ten), 61_000).released, 'time');
});

// Issue 10 case 4: after a restart the first view is judged against the checkpoint.
test('a seeded baseline (checkpoint) judges the first view after a restart', () => {
  const g = new ProtectGuard(S());
  g.seed('r', mapOf(hundred), 0);
  const r = g.apply('r', mapOf(ten), 1000);
  assert.equal(r.holding, true);
  assert.equal(r.view.length, 100);
  assert.equal(g.applyChanges('r', mapOf(ten), new Set(), 2000), false, 'no incremental pass while held');
  const g2 = new ProtectGuard(S());
  g2.seed('r', mapOf(ten), 0);
  assert.equal(g2.apply('r', mapOf(hundred), 1000).holding, false, 'growth is fine');
});

test('threshold 100 lets everything through', () => {
  const g = new ProtectGuard(S({ servicePercent: 100, endpointPercent: 100 }));
  g.apply('r', mapOf(ten), 0);
  assert.equal(g.apply('r', new Map(), 1000).view.length, 0);
});

test('applyChanges: incremental passes keep the baseline and the window; a trip falls back', () => {
  const g = new ProtectGuard(S());
  const cur = mapOf(hundred);
  g.apply('r', cur, 0);
  const keys = hundred.map(serviceKey);
  for (const k of keys.slice(0, 30)) cur.delete(k);
  assert.equal(g.applyChanges('r', cur, new Set(keys.slice(0, 30)), 1000), true);
  for (const k of keys.slice(30, 51)) cur.delete(k);
  assert.equal(g.applyChanges('r', cur, new Set(keys.slice(30, 51)), 2000), false, '51% over the window');
  const full = g.apply('r', cur, 2000);
  assert.equal(full.holding, true);
  assert.equal(full.view.length, 70);
});
