import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blockingTimeoutMs, jitteredWait, Slots, stepIndex } from './blocking.js';

test('stepIndex follows Consul\'s blocking-query rules', () => {
  const cases: Array<[string, number, number | undefined, { next: number; changed: boolean; reset: boolean }]> = [
    ['first answer', 0, 10, { next: 10, changed: true, reset: false }],
    ['timeout: same index', 10, 10, { next: 10, changed: false, reset: false }],
    ['change', 10, 12, { next: 12, changed: true, reset: false }],
    ['backwards: reset, re-read from 0', 12, 5, { next: 0, changed: true, reset: true }],
    ['zero is a server bug: use 1', 12, 0, { next: 1, changed: true, reset: true }],
    ['missing header: use 1', 12, undefined, { next: 1, changed: true, reset: true }],
    ['first answer after a reset', 0, 5, { next: 5, changed: true, reset: false }],
  ];
  for (const [what, sent, received, want] of cases) assert.deepEqual(stepIndex(sent, received), want, what);
});

test('jitteredWait takes off at most 1/16 and never goes below 1', () => {
  assert.equal(jitteredWait(320, () => 0), 320);
  assert.equal(jitteredWait(320, () => 1), 300);
  assert.equal(jitteredWait(1, () => 1), 1);
  for (let i = 0; i < 100; i++) {
    const w = jitteredWait(300);
    assert.ok(w >= 281 && w <= 300, String(w));
  }
});

test('blockingTimeoutMs covers the wait plus Consul\'s own jitter', () => {
  assert.ok(blockingTimeoutMs(300) > 300_000 * (1 + 1 / 16));
  assert.ok(blockingTimeoutMs(2) >= 2000 + 125);
});


test('Slots: FIFO, bounded, abortable; oversubscribed counts registered watches', async () => {
  const slots = new Slots(2);
  const ac = new AbortController();
  const a = await slots.acquire(ac.signal);
  const b = await slots.acquire(ac.signal);
  assert.ok(a && b);
  const order: string[] = [];
  const c = slots.acquire(ac.signal).then((r) => (order.push('c'), r));
  const dAbort = new AbortController();
  const d = slots.acquire(dAbort.signal).then((r) => (order.push('d'), r));
  const e = slots.acquire(ac.signal).then((r) => (order.push('e'), r));
  dAbort.abort();
  assert.equal(await d, undefined);
  a();
  a(); // idempotent: releases once
  const cr = await c;
  assert.ok(cr);
  b();
  assert.ok(await e);
  assert.deepEqual(order, ['d', 'c', 'e']);

  const u = [slots.register(), slots.register()];
  assert.equal(slots.oversubscribed, false);
  const third = slots.register();
  assert.equal(slots.oversubscribed, true);
  third();
  third();
  assert.equal(slots.oversubscribed, false);
  for (const x of u) x();
});
