import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPool } from './pool.js';

test('runPool keeps at most `concurrency` calls in flight and runs every item once', async () => {
  let inFlight = 0;
  let peak = 0;
  const seen: number[] = [];
  await runPool([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    await new Promise((r) => setTimeout(r, 5 * (n % 3)));
    seen.push(n);
    inFlight--;
  });
  assert.equal(peak, 3);
  assert.deepEqual([...seen].sort(), [1, 2, 3, 4, 5, 6, 7]);
});

test('runPool starts nothing once stop() is true; calls in flight finish', async () => {
  const started: number[] = [];
  let stopNow = false;
  await runPool(
    [1, 2, 3, 4, 5, 6],
    2,
    async (n) => {
      started.push(n);
      if (n === 3) stopNow = true;
      await new Promise((r) => setTimeout(r, 1));
    },
    () => stopNow,
  );
  assert.deepEqual(started, [1, 2, 3]);
});
