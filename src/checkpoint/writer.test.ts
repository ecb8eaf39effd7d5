import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serviceKey, type Service } from '../model/index.js';
import { Metrics, silentLogger } from '../observability/index.js';
import { svc } from '../registry/testing/fake-registry.js';
import { CHECKPOINT_FORMAT, decodeCheckpoint, encodeCheckpoint, encodeCheckpointSliced, type CheckpointData } from './codec.js';
import { FileCheckpointStore } from './file-store.js';
import type { CheckpointStore, WriteResult } from './store.js';
import { CheckpointWriter, readCheckpoint } from './writer.js';

function data(registry: string, services: Service[]): CheckpointData {
  return new Map([[registry, new Map(services.map((s) => [serviceKey(s), s]))]]);
}

function errors(m: Metrics, op: string): Promise<number> {
  return m.registry.getSingleMetricAsString('meshbridge_checkpoint_errors_total').then((t) => Number(new RegExp(`op="${op}"} (\\d+)`).exec(t)?.[1] ?? 0));
}

test('codec: a document round-trips (sliced or not); entries without the model shape or filed under another registry are skipped and counted', async () => {
  const a = svc('zk', 'a', ['10.0.0.1']);
  const text = encodeCheckpoint(data('zk', [a, svc('zk', 'b', ['10.0.0.2'])]), new Date('2026-01-01T00:00:00Z'));
  assert.equal(await encodeCheckpointSliced(data('zk', [a, svc('zk', 'b', ['10.0.0.2'])]), new Date('2026-01-01T00:00:00Z'), 1), text, 'sliced: the same text');
  const back = decodeCheckpoint(text);
  assert.ok(back.ok);
  assert.equal(back.writtenAt, '2026-01-01T00:00:00.000Z');
  assert.deepEqual(back.data.get('zk')?.get(serviceKey(a)), a);
  const doc = JSON.parse(text) as { registries: Record<string, unknown[]> };
  doc.registries['zk']?.push({ name: 'no-ports', registry: 'zk' }, { ...a, registry: 'other' });
  doc.registries['bad'] = 'not a list' as unknown as unknown[];
  const partial = decodeCheckpoint(JSON.stringify(doc));
  assert.ok(partial.ok);
  assert.equal(partial.skipped, 3);
  assert.equal(partial.data.get('zk')?.size, 2);
  const notJson = decodeCheckpoint('{');
  assert.ok(!notJson.ok && /not valid JSON/.test(notJson.error));
  assert.match((decodeCheckpoint('{"format":"other/v9","registries":{}}') as { error: string }).error, new RegExp(CHECKPOINT_FORMAT));
});

test('readCheckpoint: nothing stored is empty; an unreadable or foreign store is reported (MB_CHECKPOINT_READ) and ignored; a slow store is given up', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mb-cp-'));
  const m = new Metrics();
  assert.equal((await readCheckpoint(new FileCheckpointStore(join(dir, 'none.json')), silentLogger(), m)).size, 0);
  assert.equal(await errors(m, 'read'), 0);
  await writeFile(join(dir, 'junk.json'), 'not json');
  assert.equal((await readCheckpoint(new FileCheckpointStore(join(dir, 'junk.json')), silentLogger(), m)).size, 0);
  assert.equal((await readCheckpoint(new FileCheckpointStore(dir), silentLogger(), m)).size, 0, 'a folder cannot be read');
  assert.equal(await errors(m, 'read'), 2);
  const hanging: CheckpointStore = {
    description: 'hanging',
    read: (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error))),
    write: () => Promise.resolve({ bytes: 0 }),
  };
  const start = Date.now();
  assert.equal((await readCheckpoint(hanging, silentLogger(), m, 100)).size, 0);
  assert.ok(Date.now() - start < 5000);
  assert.equal(await errors(m, 'read'), 3);
});

test('CheckpointWriter: writes only when the sequence moved and this replica should; a failed or lost write is retried next time', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mb-cp-'));
  const file = new FileCheckpointStore(join(dir, 'sub', 'cp.json'));
  const results: Array<WriteResult | Error> = [];
  let writes = 0;
  const store: CheckpointStore = {
    description: 'scripted',
    read: (s) => file.read(s),
    write: async (text, s) => {
      writes += 1;
      const next = results.shift();
      if (next instanceof Error) throw next;
      const r = await file.write(text, s);
      return next ?? r;
    },
  };
  let sequence = 1;
  let leader = true;
  const m = new Metrics();
  const w = new CheckpointWriter({
    store,
    intervalMs: 60_000,
    source: () => ({ sequence, data: data('zk', [svc('zk', `s${sequence}`, ['10.0.0.1'])]) }),
    shouldWrite: () => leader,
    logger: silentLogger(),
    metrics: m,
  });
  await w.write();
  await w.write();
  assert.equal(writes, 1, 'same sequence: no second write');
  const back = await readCheckpoint(file, silentLogger(), m);
  assert.deepEqual([...(back.get('zk')?.keys() ?? [])].length, 1);
  sequence = 2;
  leader = false;
  await w.write();
  assert.equal(writes, 1, 'a standby does not write');
  leader = true;
  results.push(new Error('disk full'));
  await w.write();
  assert.equal(await errors(m, 'write'), 1);
  results.push({ bytes: 1, skipped: true });
  await w.write();
  await w.write();
  assert.equal(writes, 4, 'failed and lost writes are retried');
  assert.match(await readFile(join(dir, 'sub', 'cp.json'), 'utf8'), /"s2"/);
});

test('codec: consumers (Service.consumers) survive a round trip; a malformed consumer list makes the entry skipped', () => {
  const withConsumers = { ...svc('zk', 'a', ['10.0.0.1']), consumers: ['cart', 'web'] };
  const text = encodeCheckpoint(data('zk', [withConsumers]), new Date('2026-01-01T00:00:00Z'));
  const back = decodeCheckpoint(text);
  assert.ok(back.ok);
  assert.deepEqual(back.data.get('zk')?.get('zk//a')?.consumers, ['cart', 'web']);
  const broken = decodeCheckpoint(text.replace('["cart","web"]', '["cart",7]'));
  assert.ok(broken.ok);
  assert.equal(broken.skipped, 1);
});
