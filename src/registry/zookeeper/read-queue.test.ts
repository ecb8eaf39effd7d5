import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReadQueue } from './read-queue.js';

test('ReadQueue: bounded, deduplicated, a key pushed while running runs once more, idle reported', async () => {
  const started: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let idles = 0;
  const gates = new Map<string, () => void>();
  const q = new ReadQueue({
    concurrency: 2,
    run: (key) => {
      started.push(key);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      return new Promise<void>((r) => gates.set(key, () => { inFlight--; r(); }));
    },
    onIdle: () => idles++,
  });
  for (const k of ['a', 'b', 'c', 'a', 'c']) q.push(k);
  assert.deepEqual(started, ['a', 'b']);
  q.push('a'); // running: once more afterwards
  gates.get('a')?.();
  await new Promise((r) => setImmediate(r));
  gates.get('b')?.();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, ['a', 'b', 'c', 'a']);
  gates.get('c')?.();
  gates.get('a')?.();
  await new Promise((r) => setImmediate(r));
  assert.equal(maxInFlight, 2);
  assert.ok(q.idle);
  assert.equal(idles, 1);
});
