import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeakWindow } from './peak-window.js';

test('peak over a sliding window; a value holds until the next push', () => {
  const w = new PeakWindow();
  w.push(0, 10, 100);
  w.push(50, 4, 100);
  assert.equal(w.peak(60), 10);
  assert.equal(w.peak(149), 10, '10 held until t=50, within 100 of 149');
  assert.equal(w.peak(151), 4);
  w.push(160, 7, 100);
  assert.equal(w.peak(160), 7);
  w.reset();
  assert.equal(w.peak(170), 0);
});

test('pushing the same value on every pass or only on changes gives the same peaks', () => {
  const every = new PeakWindow();
  const changes = new PeakWindow();
  const values = [5, 5, 9, 9, 9, 3, 3, 3, 3, 3, 3, 3, 3, 8, 2, 2, 2, 2, 2, 2, 2, 2];
  let last: number | undefined;
  for (const [t, v] of values.entries()) {
    every.push(t * 10, v, 45);
    if (v !== last) changes.push(t * 10, v, 45);
    last = v;
    assert.equal(every.peak(t * 10), changes.peak(t * 10), `t=${t * 10}`);
  }
});
