import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, type MeshbridgeError } from '../../errors/index.js';
import { adapterCommon, kindSettings } from '../testing/adapter-options.js';
import type { RegistryEvent } from '../types.js';
import type { ReadResult, SessionOptions, SessionState, Watcher, ZkSession } from './zk-session.js';
import { ZookeeperRegistry } from './zookeeper-registry.js';

/**
 * A ZooKeeper in memory behind the adapter's session seam: nodes with data and children,
 * one-shot watches that fire on change, and sessions whose state the test drives.
 */
class FakeZk {
  readonly nodes = new Map<string, string>([['/', '']]);
  readonly sessions: FakeSession[] = [];
  private watches = new Map<string, Set<Watcher>>();

  open = (o: SessionOptions): ZkSession => {
    const s = new FakeSession(this, o);
    this.sessions.push(s);
    queueMicrotask(() => s.state('connected'));
    return s;
  };

  children(path: string): string[] {
    const prefix = path === '/' ? '/' : `${path}/`;
    return [...this.nodes.keys()].filter((p) => p.startsWith(prefix) && p !== path && !p.slice(prefix.length).includes('/')).map((p) => p.slice(prefix.length)).sort();
  }

  watch(path: string, w: Watcher): void {
    let set = this.watches.get(path);
    if (set === undefined) this.watches.set(path, (set = new Set()));
    set.add(w);
  }

  private fire(path: string): void {
    const set = this.watches.get(path);
    this.watches.delete(path);
    for (const w of set ?? []) w();
  }

  create(path: string, data = ''): void {
    const parts = path.split('/').filter((p) => p !== '');
    for (let i = 1; i <= parts.length; i++) {
      const p = `/${parts.slice(0, i).join('/')}`;
      if (this.nodes.has(p)) continue;
      this.nodes.set(p, i === parts.length ? data : '');
      this.fire(p);
      this.fire(`/${parts.slice(0, i - 1).join('/')}`); // the parent's child watch
    }
  }

  remove(path: string): void {
    for (const p of [...this.nodes.keys()]) if (p === path || p.startsWith(`${path}/`)) this.nodes.delete(p);
    this.fire(path);
    this.fire(path.slice(0, path.lastIndexOf('/')) || '/');
  }
}

class FakeSession implements ZkSession {
  reads = 0;
  closed = false;
  /** Reads of these paths fail (a node the session may not read). */
  readonly refuse = new Set<string>();
  constructor(
    private readonly zk: FakeZk,
    private readonly o: SessionOptions,
  ) {}
  state(s: SessionState): void {
    if (!this.closed) this.o.onState(s);
  }
  private result<T>(path: string, w: Watcher, value: () => T): Promise<ReadResult<T>> {
    this.reads++;
    if (this.refuse.has(path)) return Promise.resolve({ type: 'error', failure: 'no-auth', message: 'NoAuth' });
    this.zk.watch(path, w);
    return Promise.resolve(this.zk.nodes.has(path) ? { type: 'ok', value: value() } : { type: 'no-node' });
  }
  getChildren(path: string, w: Watcher): Promise<ReadResult<string[]>> {
    return this.result(path, w, () => this.zk.children(path));
  }
  getData(path: string, w: Watcher): Promise<ReadResult<Buffer>> {
    return this.result(path, w, () => Buffer.from(this.zk.nodes.get(path) ?? ''));
  }
  exists(path: string, w: Watcher): Promise<ReadResult<boolean>> {
    this.reads++;
    this.zk.watch(path, w);
    return Promise.resolve({ type: 'ok', value: this.zk.nodes.has(path) });
  }
  close(): void {
    this.closed = true;
  }
}

const provider = (iface: string, ip: string, port = 20880): string =>
  `/dubbo/${iface}/providers/${encodeURIComponent(`dubbo://${ip}:${port}/${iface}?interface=${iface}&side=provider&application=demo`)}`;

function follow(zk: FakeZk) {
  const events: RegistryEvent[] = [];
  const problems: MeshbridgeError[] = [];
  const ac = new AbortController();
  const reg = new ZookeeperRegistry({
    ...kindSettings('zookeeper', { servers: '127.0.0.1:2181', sessionTimeoutMs: 1000 }),
    ...adapterCommon('zk', (p) => problems.push(p)),
    maxFlushDelayMs: 5,
    backoff: { initialMs: 5, maxMs: 20 },
    openSession: zk.open,
  });
  reg.onEvent((e) => events.push(e));
  const ips = (svc: string): string[] => (reg.services().get(`zk//${svc}`)?.endpoints ?? []).map((e) => e.address).sort();
  return { reg, events, problems, ac, ips };
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (const end = Date.now() + 2000; !cond(); ) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const A = 'com.example.Alpha';
const B = 'com.example.Beta';

test('lists interfaces, follows provider changes and interface removal, all by watches', async (t) => {
  const zk = new FakeZk();
  zk.create(provider(A, '10.0.0.1'));
  zk.create(provider(A, '10.0.0.2'));
  zk.create(provider(B, '10.0.1.1'));
  const f = follow(zk);
  t.after(() => f.ac.abort());
  await f.reg.start(f.ac.signal);
  await until('synced', () => f.reg.hasSynced());
  assert.deepEqual([f.ips('com.example.Alpha'), f.ips('com.example.Beta')], [['10.0.0.1', '10.0.0.2'], ['10.0.1.1']]);
  assert.equal(f.events.filter((e) => e.type === 'synced').length, 1);

  const reads = f.reg.stats().reads;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(f.reg.stats().reads, reads, 'idle: no reads');

  zk.remove(provider(A, '10.0.0.2'));
  await until('a provider gone', () => f.ips('com.example.Alpha').length === 1);
  zk.remove(`/dubbo/${B}`);
  await until('an interface gone', () => f.events.some((e) => e.type === 'delete' && e.service.name === 'com.example.Beta'));
  assert.equal(f.reg.services().size, 1);
});

test('a malformed provider is reported once while its neighbours sync', async (t) => {
  const zk = new FakeZk();
  zk.create(provider(A, '10.0.0.1'));
  zk.create(`/dubbo/${A}/providers/${encodeURIComponent('garbage')}`);
  const f = follow(zk);
  t.after(() => f.ac.abort());
  await f.reg.start(f.ac.signal);
  await until('synced', () => f.reg.hasSynced());
  zk.create(provider(A, '10.0.0.3')); // re-lists the folder with the bad node still in it
  await until('the new provider', () => f.ips('com.example.Alpha').length === 2);
  const bad = f.problems.filter((p) => p.code === ErrorCode.ENTRY_INVALID);
  assert.equal(bad.length, 1, bad.map((p) => p.message).join('\n'));
  assert.equal(bad[0]?.path, 'zk: /dubbo/com.example.Alpha/providers/garbage');
});

test('an expired session keeps the services (stale), reports once, and a new session converges', async (t) => {
  const zk = new FakeZk();
  zk.create(provider(A, '10.0.0.1'));
  const f = follow(zk);
  t.after(() => f.ac.abort());
  await f.reg.start(f.ac.signal);
  await until('synced', () => f.reg.hasSynced());
  const first = zk.sessions[0]!;
  first.state('disconnected');
  first.state('expired');
  assert.deepEqual([f.reg.status().stale, f.ips('com.example.Alpha')], [true, ['10.0.0.1']], 'nothing deleted');
  zk.remove(provider(A, '10.0.0.1'));
  zk.create(provider(A, '10.0.0.9'));
  await until('a new session', () => zk.sessions.length === 2);
  await until('converged', () => f.ips('com.example.Alpha')[0] === '10.0.0.9');
  assert.equal(f.reg.status().stale, false);
  assert.ok(first.closed, 'the expired session is closed');
  const outages = f.problems.filter((p) => p.code === ErrorCode.REGISTRY_UNREACHABLE);
  assert.equal(outages.length, 1, 'one report per outage');
});

test('a folder the session may not read is retried with backoff and reported once', async (t) => {
  const zk = new FakeZk();
  zk.create(provider(A, '10.0.0.1'));
  zk.create(provider(B, '10.0.1.1'));
  const open = zk.open;
  zk.open = (o) => {
    const s = open(o) as FakeSession;
    s.refuse.add(`/dubbo/${B}/providers`);
    return s;
  };
  const f = follow(zk);
  t.after(() => f.ac.abort());
  await f.reg.start(f.ac.signal);
  await until('alpha', () => f.ips('com.example.Alpha').length === 1);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(f.problems.filter((p) => p.code === ErrorCode.REGISTRY_UNREACHABLE).length, 1);
  (zk.sessions[0] as FakeSession).refuse.clear();
  await until('beta after the retry', () => f.ips('com.example.Beta').length === 1);
});

test('start twice throws MB_INTERNAL', async () => {
  const f = follow(new FakeZk());
  await f.reg.start(f.ac.signal);
  await assert.rejects(async () => f.reg.start(f.ac.signal), (e: MeshbridgeError) => e.code === ErrorCode.INTERNAL);
  f.ac.abort();
});

test('while the first listing runs, status().progress has the services built so far and the reads queued', async (t) => {
  const zk = new FakeZk();
  zk.create(provider(A, '10.0.0.1'));
  zk.create(provider(B, '10.0.1.1'));
  // Beta's providers folder answers only when the test lets it: the listing cannot finish before.
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const open = zk.open;
  zk.open = (o) => {
    const s = open(o);
    const read = s.getChildren.bind(s);
    s.getChildren = (path, w) => (path === `/dubbo/${B}/providers` ? gate.then(() => read(path, w)) : read(path, w));
    return s;
  };
  const f = follow(zk);
  t.after(() => f.ac.abort());
  await f.reg.start(f.ac.signal);
  await until('Alpha built', () => f.reg.services().size === 1);
  assert.equal(f.reg.hasSynced(), false);
  const p = f.reg.status().progress;
  assert.equal(p?.listed, 1);
  assert.equal(p?.unit, 'services');
  assert.ok((p?.pending ?? 0) >= 1, `the held read is queued: ${JSON.stringify(p)}`);
  release();
  await until('synced', () => f.reg.hasSynced());
  assert.equal(f.reg.status().progress, undefined);
  assert.equal(f.reg.services().size, 2);
});
