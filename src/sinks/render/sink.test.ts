import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { parseAllDocuments } from 'yaml';
import { Metrics, silentLogger } from '../../observability/index.js';
import { SnapshotStore } from '../../snapshot/index.js';
import { ErrorCode, MeshbridgeError } from '../../errors/index.js';
import { RenderSink } from './sink.js';
import { FolderWriter } from './folder.js';
import { fileNameOf } from './files.js';
import { RENDER_WRITES_METRIC } from './index.js';
import { resource, serviceEntry, workloadEntry } from './fixtures.js';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'meshbridge-render-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function until(cond: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function counter(metrics: Metrics, labels: Record<string, string>): Promise<number> {
  const m = metrics.registry.getSingleMetric(RENDER_WRITES_METRIC);
  if (m === undefined) return 0;
  const v = (await m.get()).values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

async function inodes(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const f of await readdir(dir)) out.set(f, (await stat(join(dir, f))).ino);
  return out;
}

const FOREIGN_LOOKALIKE = 'serviceentry-x-foreign.yaml';

test('folder mode: one file per object; only changed files rewritten; gone objects deleted; foreign files untouched', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'README.md'), 'mine\n');
  await writeFile(join(dir, FOREIGN_LOOKALIKE), 'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: foreign, namespace: x}\n');
  await writeFile(join(dir, 'notes.yaml'), 'metadata: {labels: {app.kubernetes.io/managed-by: meshbridge}}\n');

  const store = new SnapshotStore();
  const metrics = new Metrics();
  const sink = new RenderSink({ store, out: dir, logger: silentLogger(), metrics });
  const ac = new AbortController();
  t.after(() => ac.abort());
  await sink.start(ac.signal);
  assert.deepEqual((await readdir(dir)).sort(), ['README.md', 'notes.yaml', FOREIGN_LOOKALIKE], 'nothing before the first snapshot');

  const s1 = store.publish([serviceEntry('ns', 'a'), serviceEntry('ns', 'b'), workloadEntry('ns', 'w')]);
  assert.ok(s1);
  await until(() => sink.debug().lastSequence === 1, 'first write');
  const expected = ['README.md', 'notes.yaml', 'serviceentry-ns-a.yaml', 'serviceentry-ns-b.yaml', FOREIGN_LOOKALIKE, 'workloadentry-ns-w.yaml'];
  assert.deepEqual((await readdir(dir)).sort(), expected.sort());
  const docs = parseAllDocuments(await readFile(join(dir, 'serviceentry-ns-a.yaml'), 'utf8'));
  assert.ok(Array.isArray(docs) && docs.length === 1);
  const obj = docs[0]!.toJS() as { kind: string; metadata: { name: string; namespace: string } };
  assert.deepEqual([obj.kind, obj.metadata.namespace, obj.metadata.name], ['ServiceEntry', 'ns', 'a']);
  assert.equal(await counter(metrics, { op: 'write', result: 'ok' }), 3);

  const before = await inodes(dir);
  store.publish([serviceEntry('ns', 'a'), serviceEntry('ns', 'b', '10.9.9.9'), workloadEntry('ns', 'w')]);
  await until(() => sink.debug().lastSequence === 2, 'second write');
  const after = await inodes(dir);
  for (const [f, ino] of before) {
    if (f === 'serviceentry-ns-b.yaml') assert.notEqual(after.get(f), ino, `${f} rewritten (atomic rename gives a new inode)`);
    else assert.equal(after.get(f), ino, `${f} untouched`);
  }
  assert.match(await readFile(join(dir, 'serviceentry-ns-b.yaml'), 'utf8'), /10\.9\.9\.9/);
  assert.equal(await counter(metrics, { op: 'write', result: 'ok' }), 4);

  store.publish([serviceEntry('ns', 'a'), serviceEntry('ns', 'b', '10.9.9.9')]);
  await until(() => sink.debug().lastSequence === 3, 'third write');
  assert.deepEqual((await readdir(dir)).sort(), expected.filter((f) => f !== 'workloadentry-ns-w.yaml').sort());
  assert.equal(await readFile(join(dir, 'README.md'), 'utf8'), 'mine\n');
  assert.equal(await counter(metrics, { op: 'delete', result: 'ok' }), 1);
  assert.equal(sink.debug().failures, 0);
  assert.equal((await readdir(dir)).filter((f) => f.startsWith('.')).length, 0, 'no temp files left');

  ac.abort();
  await sink.done;
});

test('folder mode after a restart: unchanged files are not rewritten, stale owned files of the last run are deleted', async (t) => {
  const dir = await tempDir(t);
  const w1 = new FolderWriter(dir);
  await w1.sync([serviceEntry('ns', 'a'), serviceEntry('ns', 'old')]);
  await writeFile(join(dir, '.serviceentry-ns-a.yaml.tmp-1-abcd'), 'half');
  const before = await inodes(dir);

  const store = new SnapshotStore();
  store.publish([serviceEntry('ns', 'a')]);
  const sink = new RenderSink({ store, out: dir, once: true, logger: silentLogger(), metrics: new Metrics() });
  await sink.start(new AbortController().signal);
  await sink.done;
  assert.deepEqual(await readdir(dir), ['serviceentry-ns-a.yaml']);
  assert.equal((await stat(join(dir, 'serviceentry-ns-a.yaml'))).ino, before.get('serviceentry-ns-a.yaml'));
});

test('folder mode: names that map to one file share it; unsafe names are refused, not written', async (t) => {
  const dir = await tempDir(t);
  const w = new FolderWriter(dir);
  const res = await w.sync([serviceEntry('a-b', 'c'), serviceEntry('a', 'b-c'), resource('ServiceEntry', 'ns', '../evil', { hosts: ['x'] })]);
  assert.deepEqual(res.written, ['serviceentry-a-b-c.yaml']);
  assert.equal(res.errors.length, 1);
  assert.equal(res.errors[0]?.error.code, ErrorCode.RENDER_WRITE);
  const docs = parseAllDocuments(await readFile(join(dir, 'serviceentry-a-b-c.yaml'), 'utf8'));
  assert.ok(Array.isArray(docs) && docs.length === 2);
  assert.deepEqual(await readdir(dir), ['serviceentry-a-b-c.yaml']);
  assert.equal(fileNameOf({ kind: 'WorkloadEntry', namespace: 'NS', name: 'x' }), undefined);
  assert.equal(fileNameOf({ kind: 'WorkloadEntry', namespace: 'ns', name: 'x.y' }), 'workloadentry-ns-x.y.yaml');
});

test('folder mode: write failures are RENDER_WRITE, logged and counted, never thrown; with once, done rejects', async (t) => {
  const dir = await tempDir(t);
  const notADir = join(dir, 'file');
  await writeFile(notADir, 'x');
  const store = new SnapshotStore();
  store.publish([serviceEntry('ns', 'a')]);
  const metrics = new Metrics();
  const sink = new RenderSink({ store, out: join(notADir, 'out'), once: true, logger: silentLogger(), metrics });
  await sink.start(new AbortController().signal);
  await assert.rejects(sink.done, (e: unknown) => e instanceof MeshbridgeError && e.code === ErrorCode.RENDER_WRITE);
  assert.equal(await counter(metrics, { result: 'error' }), 1);
  assert.equal(sink.debug().lastError?.code, ErrorCode.RENDER_WRITE);

  // Without once: the failure is reported and the next snapshot is tried again.
  const ac = new AbortController();
  const s2 = new RenderSink({ store, out: join(notADir, 'out'), logger: silentLogger(), metrics });
  await s2.start(ac.signal);
  await until(() => s2.debug().failures === 1, 'failure');
  store.publish([serviceEntry('ns', 'b')]);
  await until(() => s2.debug().failures === 2, 'retry');
  ac.abort();
  await s2.done;
});

test('stream mode with once: writes the first snapshot as YAML and resolves done', async () => {
  const store = new SnapshotStore();
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString('utf8')));
  const sink = new RenderSink({ store, stream: out, once: true, logger: silentLogger(), metrics: new Metrics() });
  await sink.start(new AbortController().signal);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(text, '', 'nothing before the first snapshot');
  store.publish([workloadEntry('ns', 'w'), serviceEntry('ns', 'a')]);
  await sink.done;
  store.publish([serviceEntry('ns', 'b')]);
  await new Promise((r) => setTimeout(r, 20));
  assert.match(text, /^# meshbridge snapshot [0-9a-f]{16} \(sequence 1, 2 resources\)\n---\n/);
  const docs = parseAllDocuments(text);
  assert.ok(Array.isArray(docs));
  assert.deepEqual(docs.map((d) => (d.toJS() as { kind: string }).kind), ['ServiceEntry', 'WorkloadEntry']);
  assert.doesNotMatch(text, /sequence 2/, 'once: later snapshots are not written');
});

test('stream mode without once: every snapshot is written; stream errors are counted, not thrown', async () => {
  const store = new SnapshotStore();
  store.publish([serviceEntry('ns', 'a')]);
  const chunks: string[] = [];
  let failNext = false;
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (failNext) {
        failNext = false;
        cb(new Error('EPIPE'));
        return;
      }
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  const metrics = new Metrics();
  const sink = new RenderSink({ store, stream: out, logger: silentLogger(), metrics });
  const ac = new AbortController();
  await sink.start(ac.signal);
  await until(() => chunks.length === 1, 'first snapshot');
  store.publish([serviceEntry('ns', 'a'), serviceEntry('ns', 'b')]);
  await until(() => chunks.length === 2, 'second snapshot');
  assert.match(chunks[1] ?? '', /sequence 2, 2 resources/);
  failNext = true;
  store.publish([serviceEntry('ns', 'c')]);
  await until(() => sink.debug().failures >= 1, 'failure');
  assert.equal(await counter(metrics, { op: 'stream', result: 'error' }), 1);
  assert.equal(sink.debug().failures, 1);
  assert.equal(await counter(metrics, { op: 'stream', result: 'ok' }), 2);
  ac.abort();
  await sink.done;
});

test('the render metric is shared by several sinks on one Metrics', () => {
  const metrics = new Metrics();
  const store = new SnapshotStore();
  new RenderSink({ store, logger: silentLogger(), metrics });
  new RenderSink({ store, logger: silentLogger(), metrics });
  assert.ok(metrics.registry.getSingleMetric(RENDER_WRITES_METRIC));
});

test('abort before the first snapshot resolves done without writing', async () => {
  const store = new SnapshotStore();
  const out = new PassThrough();
  const sink = new RenderSink({ store, stream: out, once: true, logger: silentLogger(), metrics: new Metrics() });
  const ac = new AbortController();
  await sink.start(ac.signal);
  ac.abort();
  await sink.done;
  store.publish([serviceEntry('ns', 'a')]);
  assert.equal(out.read(), null);
});
