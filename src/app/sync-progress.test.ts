import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Registry, RegistryStatus } from '../registry/types.js';
import { logSyncProgress } from './sync-progress.js';

function fakeRegistry(name: string, status: () => Partial<RegistryStatus>): Registry {
  return { name, kind: 'file', status: () => ({ synced: false, services: 0, endpoints: 0, ...status() }) } as unknown as Registry;
}

test('logSyncProgress: one line per registry still syncing, with counts so far; stops once all synced', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  let listed = 0;
  let synced = false;
  const big = fakeRegistry('big', () => ({ synced, services: listed, endpoints: listed * 2 }));
  const fast = fakeRegistry('fast', () => ({ synced: true, services: 3, endpoints: 3 }));
  const ac = new AbortController();
  logSyncProgress(() => [big, fast], pino(sink), ac.signal, 20);
  listed = 500;
  await new Promise((r) => setTimeout(r, 70));
  const progress = lines.filter((l) => l['registry'] === 'big');
  assert.ok(progress.length >= 2, `ticks logged: ${JSON.stringify(lines)}`);
  assert.equal(progress[0]?.['services'], 500);
  assert.equal(progress[0]?.['endpoints'], 1000);
  assert.match(String(progress[0]?.['msg']), /big still syncing: 500 services/);
  assert.equal(lines.filter((l) => l['registry'] === 'fast').length, 0, 'a synced registry is not logged');
  synced = true;
  await new Promise((r) => setTimeout(r, 50));
  const after = lines.length;
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(lines.length, after, 'no more lines once every registry synced');
  ac.abort();
});
