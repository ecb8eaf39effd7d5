import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Debouncer } from './debouncer.js';

test('a burst collapses into one flush after the quiet period', async () => {
  let flushes = 0;
  let merged = 0;
  const d = new Debouncer({ quietPeriodMs: 30, maxDelayMs: 1000, flush: () => void flushes++, onMerged: () => void merged++ });
  for (let i = 0; i < 10; i++) d.trigger();
  await sleep(80);
  assert.equal(flushes, 1);
  assert.equal(merged, 9);
  d.stop();
});

test('max delay bounds a continuous stream of triggers', async () => {
  const times: number[] = [];
  const start = Date.now();
  const d = new Debouncer({ quietPeriodMs: 40, maxDelayMs: 120, flush: () => void times.push(Date.now() - start) });
  const iv = setInterval(() => d.trigger(), 10);
  await sleep(300);
  clearInterval(iv);
  d.stop();
  assert.ok(times.length >= 2, `expected flushes during a continuous stream, got ${times.length}`);
  assert.ok(times[0]! >= 110, `first flush must wait for max delay, was ${times[0]}`);
});

test('a trigger during a running flush schedules exactly one more flush', async () => {
  let flushes = 0;
  let release: () => void = () => undefined;
  const d = new Debouncer({
    quietPeriodMs: 5,
    maxDelayMs: 50,
    flush: () => {
      flushes++;
      if (flushes === 1) return new Promise<void>((r) => (release = r));
      return undefined;
    },
  });
  d.trigger();
  await sleep(20);
  assert.equal(flushes, 1);
  d.trigger();
  d.trigger();
  release();
  await sleep(40);
  assert.equal(flushes, 2);
  d.stop();
});

test('rejects max delay below quiet period', () => {
  assert.throws(() => new Debouncer({ quietPeriodMs: 100, maxDelayMs: 10, flush: () => undefined }), RangeError);
});

test('the quiet period counts from the latest trigger, not the first', async () => {
  const flushedAt: number[] = [];
  const start = performance.now();
  const d = new Debouncer({ quietPeriodMs: 50, maxDelayMs: 5000, flush: () => void flushedAt.push(performance.now() - start) });
  d.trigger();
  await sleep(30);
  d.trigger();
  await sleep(30);
  d.trigger(); // at ~60 ms: the flush is due at ~110 ms, not at 50 or 80
  await sleep(35);
  assert.deepEqual(flushedAt, [], 'no flush while triggers keep coming within the quiet period');
  await sleep(60);
  assert.equal(flushedAt.length, 1);
  assert.ok(flushedAt[0]! >= 105, `flush at ${flushedAt[0]} ms, expected >= 50 ms after the last trigger`);
  d.stop();
});
