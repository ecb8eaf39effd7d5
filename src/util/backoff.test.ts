import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, backoffDelay } from './backoff.js';

test('backoffDelay doubles from the first delay up to the cap, within [d/2, d]', () => {
  const o = { initialMs: 500, maxMs: 30_000 };
  assert.deepEqual([0, 1, 2, 3].map((n) => backoffDelay(n, o, () => 1)), [500, 1000, 2000, 4000]);
  assert.deepEqual([0, 1, 2].map((n) => backoffDelay(n, o, () => 0)), [250, 500, 1000]);
  assert.equal(backoffDelay(10, o, () => 1), 30_000);
  assert.equal(backoffDelay(1000, o, () => 0), 15_000, 'huge attempt counts stay at the cap');
});

test('Backoff counts attempts and resets', () => {
  const b = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 1);
  assert.deepEqual([b.next(), b.next(), b.next()], [100, 200, 400]);
  assert.equal(b.attempts(), 3);
  b.reset();
  assert.equal(b.next(), 100);
});
