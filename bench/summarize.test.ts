import { test } from 'node:test';
import assert from 'node:assert/strict';
import { distribution, summarize } from './summarize.js';

test('distribution: nearest-rank percentiles in 1 % steps', () => {
  const d = distribution(Array.from({ length: 1000 }, (_, i) => 1000 - i));
  assert.equal(d.n, 1000);
  assert.equal(d.quantiles.length, 101);
  assert.equal(d.quantiles[0], 1);
  assert.equal(d.quantiles[50], 500);
  assert.equal(d.quantiles[99], 990);
  assert.equal(d.quantiles[100], 1000);
  assert.deepEqual(distribution([]), { n: 0, quantiles: [] });
});

test('summarize: only number arrays under *Samples keys are replaced, everything else is kept', () => {
  const out = summarize({ results: [{ setup: 'x', adsSamples: [3, 1, 2], tags: [1, 2], notes: 'n' }] }) as { results: Array<Record<string, unknown>> };
  assert.deepEqual(out.results[0]?.['adsSamples'], { n: 3, quantiles: distribution([1, 2, 3]).quantiles });
  assert.deepEqual(out.results[0]?.['tags'], [1, 2]);
  assert.equal(out.results[0]?.['notes'], 'n');
});
