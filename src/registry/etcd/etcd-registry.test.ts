import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../errors/index.js';
import { adapterCommon, kindSettings } from '../testing/adapter-options.js';
import { addressesOf, expectOutage, expectSecondStartRefused, Recorder, until } from '../testing/adapter-run.js';
import { CompactedError, type EtcdClientLike, type EtcdClientOptions, type KeyValue, type WatchEvent, type WatchHandlers } from './client.js';
import { EtcdRegistry } from './etcd-registry.js';

const PREFIX = '/mb/services/';
const inst = (address: string, port = 8080): object => ({ address, ports: { http: port } });

interface Watch {
  readonly handlers: WatchHandlers;
  fail(e: Error): void;
}

/**
 * An etcd behind the adapter's client seam: one revisioned keyspace with its event history (so a
 * watch from an old revision replays what it missed, unless that revision is compacted), and an
 * outage switch that fails open watches and refuses every call.
 */
class FakeEtcd {
  revision = 1;
  compacted = 0;
  down = false;
  refused = 0;
  readonly clients: Array<{ options: EtcdClientOptions; closed: boolean }> = [];
  private readonly kvs = new Map<string, KeyValue>();
  private history: Array<{ readonly revision: number; readonly event: WatchEvent }> = [];
  private readonly watches = new Set<Watch>();

  connect = (options: EtcdClientOptions): EtcdClientLike => {
    const client = { options, closed: false };
    this.clients.push(client);
    return {
      list: (prefix) => this.call(() => ({ revision: this.revision, kvs: [...this.kvs.values()].filter((kv) => kv.key.startsWith(prefix)) })),
      probe: () => this.call(() => this.revision),
      watch: (_prefix, from, handlers, signal) => this.watch(from, handlers, signal),
      close: () => {
        client.closed = true;
      },
    };
  };

  put(key: string, value: object | string): void {
    this.revision += 1;
    const kv = { key: `${PREFIX}${key}`, value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), modRevision: this.revision };
    this.kvs.set(kv.key, kv);
    this.emit([{ type: 'put', kv }]);
  }

  del(key: string): void {
    this.revision += 1;
    this.kvs.delete(`${PREFIX}${key}`);
    this.emit([{ type: 'delete', key: `${PREFIX}${key}`, modRevision: this.revision }]);
  }

  /** Forgets the history: a watch from before now fails with CompactedError. */
  compact(): void {
    this.compacted = this.revision;
    this.history = [];
  }

  /** Watches open now. */
  watching(): number {
    return this.watches.size;
  }

  setDown(down: boolean): void {
    this.down = down;
    if (down) for (const w of [...this.watches]) w.fail(new Error('14 UNAVAILABLE: No connection established'));
  }

  private emit(events: WatchEvent[]): void {
    for (const event of events) this.history.push({ revision: this.revision, event });
    if (!this.down) for (const w of this.watches) w.handlers.onEvents(events);
  }

  private call<T>(answer: () => T): Promise<T> {
    if (!this.down) return Promise.resolve(answer());
    this.refused += 1;
    return Promise.reject(new Error('14 UNAVAILABLE: No connection established'));
  }

  private async watch(from: number, handlers: WatchHandlers, signal: AbortSignal): Promise<void> {
    await this.call(() => undefined);
    if (from <= this.compacted) throw new CompactedError(this.compacted);
    return new Promise<void>((resolve, reject) => {
      const end = (e?: Error): void => {
        this.watches.delete(w);
        signal.removeEventListener('abort', onAbort);
        if (e === undefined) resolve();
        else reject(e);
      };
      const w: Watch = { handlers, fail: end };
      const onAbort = (): void => end();
      signal.addEventListener('abort', onAbort, { once: true });
      this.watches.add(w);
      handlers.onCreated();
      const missed = this.history.filter((h) => h.revision >= from).map((h) => h.event);
      if (missed.length > 0) handlers.onEvents(missed);
    });
  }
}

function follow(t: { after(fn: () => void): void }, etcd: FakeEtcd) {
  const rec = new Recorder();
  const ac = new AbortController();
  t.after(() => ac.abort());
  const reg = new EtcdRegistry({
    ...kindSettings('etcd', { endpoints: ['127.0.0.1:2379'], prefix: PREFIX }),
    ...adapterCommon('e1', rec.report),
    backoff: { initialMs: 5, maxMs: 20 },
    connect: etcd.connect,
  });
  rec.follow(reg);
  return { reg, rec, ac, ips: (name: string) => addressesOf(reg, `e1//${name}`), start: () => reg.start(ac.signal) };
}

/** Lists web/1 and api/1 and waits until the adapter watches. */
async function watchingWebAndApi(t: { after(fn: () => void): void }) {
  const etcd = new FakeEtcd();
  etcd.put('web/1', inst('10.0.0.1'));
  etcd.put('api/1', inst('10.0.1.1'));
  const f = follow(t, etcd);
  await f.start();
  await until('watching', () => etcd.watching() === 1);
  return { etcd, f };
}

test('etcd: the listing upserts every service, then synced; watch puts and deletes upsert and delete', async (t) => {
  const etcd = new FakeEtcd();
  etcd.put('web/1', inst('10.0.0.1'));
  etcd.put('web/2', inst('10.0.0.2'));
  etcd.put('api/1', inst('10.0.1.1', 9090));
  const f = follow(t, etcd);
  assert.equal(etcd.clients.length, 0, 'the constructor does no I/O');
  await f.start();
  assert.equal(f.reg.hasSynced(), true);
  assert.equal(f.reg.appliedRevision(), etcd.revision);
  assert.deepEqual(etcd.clients[0]?.options.endpoints, ['127.0.0.1:2379']);
  assert.deepEqual(f.rec.changes().sort(), ['upsert api 10.0.1.1', 'upsert web 10.0.0.1,10.0.0.2']);
  assert.equal(f.rec.events.filter((e) => e.type === 'synced').length, 1);
  await until('watching', () => etcd.watching() === 1);

  etcd.put('web/3', inst('10.0.0.3'));
  etcd.put('db/1', inst('10.0.2.1', 5432));
  etcd.put('web/1', inst('10.0.0.11'));
  etcd.del('web/2');
  etcd.del('api/1');
  await until('events applied', () => f.reg.appliedRevision() === etcd.revision);
  assert.deepEqual(f.rec.changes().slice(2), [
    'upsert web 10.0.0.1,10.0.0.2,10.0.0.3',
    'upsert db 10.0.2.1',
    'upsert web 10.0.0.11,10.0.0.2,10.0.0.3',
    'upsert web 10.0.0.11,10.0.0.3',
    'delete api',
  ]);
  assert.deepEqual([...f.reg.services().keys()].sort(), ['e1//db', 'e1//web']);
  assert.equal(f.reg.listingCount(), 1);
  assert.deepEqual(f.rec.problems, []);
  await expectSecondStartRefused(f.reg, f.ac.signal);
});

test('etcd: unreachable keeps the services (stale), reports once, resumes the watch from its revision on recovery', async (t) => {
  const { etcd, f } = await watchingWebAndApi(t);
  await expectOutage({ reg: f.reg, rec: f.rec, refused: () => etcd.refused, down: () => etcd.setDown(true) });
  assert.match(f.rec.problems[0]?.message ?? '', /keeping the last known services/);
  assert.ok(etcd.clients.length > 2 && etcd.clients.slice(0, -1).every((c) => c.closed), 'a fresh client per reconnect, the old one closed');

  // Written while the adapter could not watch: replayed from its revision, nothing re-listed.
  etcd.put('web/2', inst('10.0.0.2'));
  etcd.del('api/1');
  etcd.setDown(false);
  await until('converged', () => f.reg.status().connected && f.ips('web').length === 2 && !f.reg.services().has('e1//api'));
  assert.equal(f.reg.listingCount(), 1);
  assert.equal(f.reg.appliedRevision(), etcd.revision);
  assert.equal(f.reg.status().lastError, undefined);
  assert.equal(f.rec.count(ErrorCode.REGISTRY_UNREACHABLE), 1);
});

test('etcd: a compacted resume revision lists again; only the differences are emitted', async (t) => {
  const { etcd, f } = await watchingWebAndApi(t);
  etcd.setDown(true);
  await until('stale', () => f.reg.status().stale);
  etcd.put('web/2', inst('10.0.0.2'));
  etcd.del('api/1');
  etcd.compact();
  const before = f.rec.changes().length;
  etcd.setDown(false);
  await until('listed again', () => f.reg.listingCount() === 2 && f.reg.status().connected);
  assert.deepEqual(f.rec.changes().slice(before), ['upsert web 10.0.0.1,10.0.0.2', 'delete api']);
  etcd.put('db/1', inst('10.0.2.1'));
  await until('watching on after the re-list', () => f.ips('db').length === 1);
});

test('etcd: a malformed value or key is reported with its MB_ENTRY_* code and skipped while neighbours sync', async (t) => {
  const etcd = new FakeEtcd();
  etcd.put('web/1', inst('10.0.0.1'));
  etcd.put('web/2', '{not json');
  etcd.put('web/3', inst('not a host!'));
  etcd.put('web/4/extra', inst('10.0.0.4'));
  etcd.put('api/1', { address: '10.0.1.1', ports: { http: 0 } });
  etcd.put('db/1', inst('10.0.2.1'));
  const f = follow(t, etcd);
  await f.start();
  assert.deepEqual(f.ips('web'), ['10.0.0.1']);
  assert.deepEqual(f.ips('db'), ['10.0.2.1']);
  assert.equal(f.reg.services().has('e1//api'), false);
  assert.deepEqual(f.rec.codes().sort(), [ErrorCode.ENTRY_BAD_ADDRESS, ErrorCode.ENTRY_BAD_PORT, ErrorCode.ENTRY_INVALID, ErrorCode.ENTRY_INVALID]);
  assert.ok(f.rec.problems.some((p) => p.path === `${PREFIX}web/4/extra`), 'the key outside the layout is named');

  // Fixed in place: the instance joins its service; nothing is reported again.
  etcd.put('web/2', inst('10.0.0.2'));
  await until('fixed value applied', () => f.ips('web').length === 2);
  assert.equal(f.rec.problems.length, 4);
});

test('etcd: while the first listing runs, status().progress counts the keys its pages brought; gone once synced', async (t) => {
  const etcd = new FakeEtcd();
  etcd.put('web/1', inst('10.0.0.1'));
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const pages: Array<(n: number) => void> = [];
  const connect = (o: EtcdClientOptions): EtcdClientLike => {
    const inner = etcd.connect(o);
    return {
      ...inner,
      // Two pages: 1000 keys, then (after the gate) the rest.
      list: async (prefix, size, onPage) => {
        onPage?.(1000);
        if (onPage !== undefined) pages.push(onPage);
        await gate;
        onPage?.(1500);
        return inner.list(prefix, size);
      },
    };
  };
  const ac = new AbortController();
  t.after(() => ac.abort());
  const reg = new EtcdRegistry({
    ...kindSettings('etcd', { endpoints: ['127.0.0.1:2379'], prefix: PREFIX }),
    ...adapterCommon('e1', () => undefined),
    backoff: { initialMs: 5, maxMs: 20 },
    connect,
  });
  const started = reg.start(ac.signal);
  await until('the first page', () => pages.length === 1);
  assert.deepEqual(reg.status().progress, { listed: 1000, unit: 'keys' });
  assert.equal(reg.status().synced, false);
  release();
  await started;
  assert.equal(reg.status().synced, true);
  assert.equal(reg.status().progress, undefined);
});
