import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MeshbridgeError } from '../../errors/index.js';
import { adapterCommon, kindSettings } from '../testing/adapter-options.js';
import type { RegistryEvent } from '../types.js';
import { FileRegistry, type FileRegistryOptions } from './file-registry.js';

/** Records everything a registry emits and reports: a fake that records, not a mock. */
class Recorder {
  readonly events: RegistryEvent[] = [];
  readonly problems: MeshbridgeError[] = [];
  codes(): string[] {
    return this.problems.map((p) => p.code);
  }
  changes(): string[] {
    return this.events.filter((e) => e.type === 'upsert' || e.type === 'delete').map((e) => `${e.type} ${'service' in e ? e.service.name : ''}`);
  }
}

const yaml = (...names: string[]) =>
  `services:\n${names.map((n) => `  - name: ${n}\n    ports: [{number: 80, name: http}]\n    instances: [{address: 10.0.0.1}]\n`).join('')}`;
const EMPTY = 'services: []\n';

async function setup(t: { after(fn: () => Promise<void>): void }, opts: Partial<FileRegistryOptions> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'mb-file-'));
  const path = join(dir, 'services.yaml');
  const rec = new Recorder();
  const ac = new AbortController();
  const reg = new FileRegistry({
    ...kindSettings('file', { path, pollIntervalMs: 0 }),
    ...adapterCommon('files', (p) => rec.problems.push(p)),
    debounceMs: 20,
    ...opts,
  });
  reg.onEvent((e) => rec.events.push(e));
  t.after(async () => {
    ac.abort();
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, path, rec, ac, reg };
}

/** Waits until `cond` holds (polling); fails after 5 s. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Lets fs events and the debounce run out (several debounce periods). */
const settle = () => new Promise((r) => setTimeout(r, 200));

/** Write to a temp file in the same directory, then rename over the target (atomic replace). */
async function atomicWrite(dir: string, path: string, text: string): Promise<void> {
  const tmp = join(dir, `.services.yaml.${Math.random().toString(36).slice(2)}.tmp`);
  await writeFile(tmp, text);
  await rename(tmp, path);
}

const names = (reg: FileRegistry) => [...reg.services().values()].map((s) => s.name).sort();

test('file registry: constructor does no I/O; start reads, syncs and emits', async (t) => {
  const { path, rec, ac, reg } = await setup(t);
  await writeFile(path, yaml('a', 'b'));
  assert.equal(rec.events.length, 0);
  await reg.start(ac.signal);
  assert.equal(reg.hasSynced(), true);
  assert.deepEqual(names(reg), ['a', 'b']);
  assert.deepEqual(
    rec.events.map((e) => e.type),
    ['upsert', 'upsert', 'status', 'synced'],
  );
  const st = reg.status();
  assert.equal(st.kind, 'file');
  assert.equal(st.connected, true);
  assert.equal(st.endpoints, 2);
  assert.equal([...reg.services().values()][0]?.endpoints[0]?.origin, 'files');
});

test('file registry: same content rewritten emits nothing; edits emit only the difference', async (t) => {
  const { dir, path, rec, ac, reg } = await setup(t);
  await writeFile(path, yaml('a', 'b'));
  await reg.start(ac.signal);
  const before = rec.events.length;
  await writeFile(path, yaml('a', 'b'));
  await atomicWrite(dir, path, yaml('a', 'b'));
  await settle();
  assert.equal(rec.events.length, before, 'rewriting the same content emits nothing');
  // Equal content in a different text (reordered, reformatted) emits nothing either.
  await writeFile(path, `services:\n  - {name: b, ports: [{number: 80, name: http}], instances: [{address: 10.0.0.1}]}\n${yaml('a').slice('services:\n'.length)}`);
  await settle();
  assert.equal(rec.events.length, before);
  await writeFile(path, yaml('a', 'c'));
  await until(() => names(reg).join() === 'a,c', 'edit');
  assert.deepEqual(rec.changes().slice(-2).sort(), ['delete b', 'upsert c']);
  assert.deepEqual(rec.problems, []);
});

test('file registry: atomic rename-replace is seen', async (t) => {
  const { dir, path, ac, reg } = await setup(t);
  await writeFile(path, yaml('a'));
  await reg.start(ac.signal);
  await atomicWrite(dir, path, yaml('x', 'y'));
  await until(() => names(reg).join() === 'x,y', 'rename-replace');
  await atomicWrite(dir, path, yaml('z'));
  await until(() => names(reg).join() === 'z', 'second rename-replace');
});

test('file registry: delete keeps the last state (stale); re-create reconnects', async (t) => {
  const { path, rec, ac, reg } = await setup(t);
  await writeFile(path, yaml('a', 'b'));
  await reg.start(ac.signal);
  const changes = rec.changes().length;
  await rm(path);
  await until(() => reg.status().stale, 'stale after delete');
  assert.deepEqual(names(reg), ['a', 'b'], 'a deleted file deletes no service');
  assert.equal(rec.changes().length, changes);
  assert.deepEqual(rec.codes(), ['MB_SOURCE_READ']);
  assert.equal(reg.status().lastError?.code, 'MB_SOURCE_READ');
  // Re-created with the same content: reconnects, emits no change.
  await writeFile(path, yaml('a', 'b'));
  await until(() => reg.status().connected, 'reconnected');
  assert.equal(reg.status().lastError, undefined);
  assert.equal(rec.changes().length, changes);
  // Re-created content that differs is applied.
  await rm(path);
  await until(() => reg.status().stale, 'stale again');
  await writeFile(path, yaml('b'));
  await until(() => names(reg).join() === 'b' && reg.status().connected, 'new content after re-create');
});

test('file registry: truncated or garbage content keeps the last good state and retries', async (t) => {
  const { path, rec, ac, reg } = await setup(t);
  await writeFile(path, yaml('a', 'b'));
  await reg.start(ac.signal);
  const changes = rec.changes().length;
  const good = yaml('a', 'b');
  for (const bad of ['', good.slice(0, good.indexOf('ports: [') + 10), '\u0000\u0001 garbage: [', 'services:\n']) {
    await writeFile(path, bad);
    await until(() => reg.status().stale, `stale after ${JSON.stringify(bad)}`);
    assert.deepEqual(names(reg), ['a', 'b']);
    assert.equal(rec.changes().length, changes);
    await writeFile(path, good);
    await until(() => reg.status().connected, 'good again');
  }
  assert.ok(rec.codes().every((c) => c === 'MB_SOURCE_PARSE'));
  assert.equal(rec.codes().length, 4);
  assert.equal(rec.changes().length, changes);
  await writeFile(path, EMPTY);
  await until(() => reg.services().size === 0, 'explicit empty registry');
  assert.deepEqual(rec.changes().slice(-2).sort(), ['delete a', 'delete b']);
});

test('file registry: a persisting failure is reported once', async (t) => {
  const { path, rec, ac, reg } = await setup(t);
  await writeFile(path, 'services: [');
  await reg.start(ac.signal);
  await writeFile(path, 'services: [');
  await settle();
  assert.deepEqual(rec.codes(), ['MB_SOURCE_PARSE']);
  assert.equal(reg.hasSynced(), false);
});

test('file registry: missing at start stays unsynced, syncs when the file appears', async (t) => {
  const { dir, path, rec, ac, reg } = await setup(t);
  await reg.start(ac.signal);
  assert.equal(reg.hasSynced(), false);
  assert.deepEqual(rec.codes(), ['MB_SOURCE_READ']);
  assert.equal(reg.status().lastError?.code, 'MB_SOURCE_READ');
  assert.equal(reg.status().stale, false);
  await atomicWrite(dir, path, yaml('a'));
  await until(() => reg.hasSynced(), 'synced after create');
  assert.deepEqual(names(reg), ['a']);
});

test('file registry: bad entries are reported once per content change, neighbours sync', async (t) => {
  const { path, rec, ac, reg } = await setup(t);
  const text = `${yaml('a')}  - name: b\n    ports: [{number: 99999}]\n${yaml('c').slice('services:\n'.length)}`;
  await writeFile(path, text);
  await reg.start(ac.signal);
  assert.deepEqual(names(reg), ['a', 'c']);
  assert.deepEqual(
    rec.problems.map((p) => `${p.code} ${p.path ?? ''}`),
    [`MB_ENTRY_BAD_PORT ${path}: services[1].ports[0].number`, `MB_ENTRY_INVALID ${path}: services[1].ports`],
  );
  await writeFile(path, text);
  await settle();
  assert.equal(rec.problems.length, 2, 'unchanged content is not re-reported');
});

test('file registry: JSON files by extension', async (t) => {
  const { dir, ac } = await setup(t);
  const path = join(dir, 'services.json');
  await writeFile(path, JSON.stringify({ services: [{ name: 'j', ports: [{ number: 80 }], instances: [{ address: '10.0.0.1' }] }] }));
  const reg = new FileRegistry({ ...kindSettings('file', { path, pollIntervalMs: 0 }), ...adapterCommon('j') });
  await reg.start(ac.signal);
  assert.deepEqual(names(reg), ['j']);
});

test('file registry: the periodic re-stat finds a file whose directory could not be watched', async (t) => {
  const { dir, rec, ac } = await setup(t);
  const sub = join(dir, 'later');
  const path = join(sub, 'services.yaml');
  const reg = new FileRegistry({
    ...kindSettings('file', { path, pollIntervalMs: 30 }),
    ...adapterCommon('p', (p) => rec.problems.push(p)),
    debounceMs: 10,
  });
  await reg.start(ac.signal);
  assert.equal(reg.hasSynced(), false);
  await mkdir(sub);
  await writeFile(path, yaml('late'));
  await until(() => reg.hasSynced(), 'synced through the re-stat');
  assert.deepEqual(names(reg), ['late']);
  // The watch is re-opened on the new directory: later edits are seen.
  await writeFile(path, yaml('later'));
  await until(() => names(reg).join() === 'later', 'edit after re-open');
});

test('file registry: abort stops watching; nothing is read or emitted afterwards', async (t) => {
  const { path, rec, ac, reg } = await setup(t, { pollIntervalMs: 20 });
  await writeFile(path, yaml('a'));
  await reg.start(ac.signal);
  ac.abort();
  const n = rec.events.length;
  await writeFile(path, yaml('b'));
  await settle();
  assert.equal(rec.events.length, n);
  assert.deepEqual(names(reg), ['a']);
  // If the watch handle or a timer were left open, this test file would not exit.
});

test('file registry: start with an aborted signal does nothing; starting twice throws', async (t) => {
  const { path, rec, reg } = await setup(t);
  await writeFile(path, yaml('a'));
  await reg.start(AbortSignal.abort());
  assert.equal(reg.hasSynced(), false);
  assert.equal(rec.events.length, 0);
  await assert.rejects(reg.start(new AbortController().signal), /started twice/);
});
