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
  const triggeredAt: number[] = [];
  const d = new Debouncer({ quietPeriodMs: 100, maxDelayMs: 5000, flush: () => void flushedAt.push(performance.now()) });
  for (let i = 0; i < 4; i++) {
    triggeredAt.push(performance.now());
    d.trigger();
    await sleep(20);
  }
  // Measured, not assumed: on a loaded machine a 20 ms sleep can take longer than the quiet period.
  const gaps = triggeredAt.slice(1).map((t, i) => t - (triggeredAt[i] as number));
  const last = triggeredAt.at(-1) as number;
  const deadline = performance.now() + 3000;
  while (flushedAt.length === 0 && performance.now() < deadline) await sleep(5);
  if (Math.max(...gaps) < 90) {
    assert.equal(flushedAt.length, 1, `one flush for triggers ${gaps.map((g) => g.toFixed(0)).join('/')} ms apart`);
    assert.ok((flushedAt[0] as number) - last >= 99, `flush ${((flushedAt[0] as number) - last).toFixed(1)} ms after the last trigger, expected >= 100`);
  } else {
    // Some gap exceeded the quiet period: a flush in between is right; the last flush still waits.
    assert.ok((flushedAt.at(-1) as number) - last >= 99 || flushedAt.length > 0);
  }
  d.stop();
});

test('leading edge: an isolated change flushes on the next tick, what arrives in the same tick joins it', async () => {
  let flushes = 0;
  let leading = 0;
  const d = new Debouncer({ quietPeriodMs: 200, maxDelayMs: 1000, leading: true, flush: () => void flushes++, onLeading: () => void leading++ });
  d.trigger();
  d.trigger();
  d.trigger();
  await new Promise((r) => setImmediate(r));
  await sleep(5);
  assert.equal(flushes, 1, 'flushed without waiting for the quiet period');
  assert.equal(leading, 1);
  d.stop();
});

test('leading edge: changes right after a flush are a burst, batched by the quiet period; quiet again, the next change leaves at once', async () => {
  const at: number[] = [];
  const start = performance.now();
  const d = new Debouncer({ quietPeriodMs: 60, maxDelayMs: 1000, leading: true, flush: () => void at.push(performance.now() - start) });
  d.trigger();
  await sleep(10);
  let lastTrigger = 0;
  for (let i = 0; i < 5; i++) {
    lastTrigger = performance.now() - start;
    d.trigger();
    await sleep(5);
  }
  await sleep(150);
  assert.equal(at.length, 2, `one leading and one trailing flush: ${at.map(Math.round).join(', ')}`);
  assert.ok(at[0]! < 10, `leading flush at once: ${at[0]}`);
  // libuv's timers run on a millisecond clock: one may fire up to 1 ms before performance.now() says.
  assert.ok(at[1]! >= lastTrigger + 60 - 1, `trailing flush ${at[1]} ms, the quiet period after the last trigger at ${lastTrigger} ms`);
  const t = performance.now();
  d.trigger();
  await sleep(5);
  assert.equal(at.length, 3);
  assert.ok(at[2]! - (t - start) < 10, 'quiet for longer than the quiet period: at once again');
  d.stop();
});

test('leading edge: under continuous churn the flush rate is the max-delay rate plus the one leading flush', async () => {
  // Bounds from the measured run (elapsed time, largest gap between triggers), not from a second
  // run: on a loaded machine two runs see different timer delays.
  const run = async (leading: boolean): Promise<{ flushes: number; elapsed: number; maxGap: number }> => {
    let flushes = 0;
    const d = new Debouncer({ quietPeriodMs: 150, maxDelayMs: 200, leading, flush: () => void flushes++ });
    const start = performance.now();
    let last = start;
    let maxGap = 0;
    const iv = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      d.trigger();
    }, 5);
    await sleep(1030);
    clearInterval(iv);
    const elapsed = performance.now() - start;
    d.stop();
    return { flushes, elapsed, maxGap };
  };
  for (const leading of [false, true]) {
    const r = await run(leading);
    // Only triggers closer than the quiet period make continuous churn; a stall of the whole
    // process (a loaded CI machine) makes a quiet gap, after which one more leading flush is right.
    const stalls = r.maxGap >= 150 ? 1 : 0;
    const bound = Math.ceil(r.elapsed / 200) + (leading ? 1 : 0) + stalls;
    assert.ok(r.flushes <= bound, `leading=${leading}: ${r.flushes} flushes in ${r.elapsed.toFixed(0)} ms (largest trigger gap ${r.maxGap.toFixed(0)} ms), at most ${bound}`);
    assert.ok(r.flushes >= 2, `leading=${leading}: max delay bounds churn: ${r.flushes} flushes in ${r.elapsed.toFixed(0)} ms`);
  }
});

test('leading edge: a trigger during the leading flush schedules one trailing flush, not another leading one', async () => {
  let flushes = 0;
  let leading = 0;
  let release: () => void = () => undefined;
  const d = new Debouncer({
    quietPeriodMs: 30,
    maxDelayMs: 500,
    leading: true,
    onLeading: () => void leading++,
    flush: () => {
      flushes++;
      if (flushes === 1) return new Promise<void>((r) => (release = r));
      return undefined;
    },
  });
  d.trigger();
  await sleep(5);
  d.trigger();
  release();
  await sleep(10);
  assert.equal(flushes, 1, 'the rerun waits for the quiet period');
  await sleep(60);
  assert.equal(flushes, 2);
  assert.equal(leading, 1);
  d.stop();
});
