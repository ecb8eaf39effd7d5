/**
 * The http kind against a real HTTP registry on 127.0.0.1 (examples/http-registry/server.mjs:
 * node:http with ETags, long polls and server-sent events): every mode picks changes up, a 304
 * parses nothing, a server that goes away leaves its services in place (stale), malformed
 * entries are skipped with codes while their neighbours sync.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ErrorCode } from '../../src/errors/index.js';
import { HttpRegistry } from '../../src/registry/http/http-registry.js';
import { adapterCommon, kindSettings } from '../../src/registry/testing/adapter-options.js';
import { addressesOf, Recorder, until } from '../../src/registry/testing/adapter-run.js';
import { startCatalogueServer, type CatalogueServer } from '../../test-support/http-registry.js';

const MAP = { items: '/services', name: '/service', instances: '/nodes', address: '/ip', port: '/port', metadata: '/meta' };

function catalogue(services: Record<string, string[]>): unknown {
  return { services: Object.entries(services).map(([service, ips]) => ({ service, nodes: ips.map((ip) => ({ ip, port: 8080, meta: { v: '1' } })) })) };
}

async function start(srv: CatalogueServer, block: object): Promise<{ reg: HttpRegistry; rec: Recorder; ac: AbortController }> {
  const rec = new Recorder();
  const reg = new HttpRegistry({
    ...kindSettings('http', { url: srv.url, intervalMs: 100, map: MAP, ...block }),
    ...adapterCommon('home', rec.report),
    backoff: { initialMs: 50, maxMs: 200 },
  });
  rec.follow(reg);
  const ac = new AbortController();
  await reg.start(ac.signal);
  return { reg, rec, ac };
}

test('poll: conditional GETs; a 304 parses nothing, a change is picked up', async (t) => {
  const srv = await startCatalogueServer({ doc: catalogue({ web: ['10.0.0.1'] }) });
  const { reg, rec, ac } = await start(srv, { mode: 'poll' });
  t.after(async () => {
    ac.abort();
    await srv.close();
  });
  assert.equal(reg.hasSynced(), true);
  assert.deepEqual(addressesOf(reg, 'home//web'), ['10.0.0.1']);
  assert.deepEqual(reg.services().get('home//web')?.endpoints[0]?.labels, { v: '1' });
  await until('five 304s', () => srv.counts.notModified >= 5, 5000);
  assert.equal(reg.stats().documents, 1, 'a 304 parses nothing');
  assert.equal(srv.counts.ok, 1);
  assert.deepEqual(rec.changes(), ['upsert web 10.0.0.1']);
  srv.set(catalogue({ web: ['10.0.0.1', '10.0.0.2'], api: ['10.0.1.1'] }));
  await until('the change', () => addressesOf(reg, 'home//web').length === 2 && reg.services().has('home//api'), 5000);
  assert.equal(reg.stats().documents, 2);
  assert.deepEqual(rec.problems, []);
});

test('longPoll: the server holds the request and answers at the change', async (t) => {
  const srv = await startCatalogueServer({ doc: catalogue({ web: ['10.0.0.1'] }) });
  const { reg, ac } = await start(srv, { mode: 'longPoll', waitSeconds: 30, intervalMs: 10_000 });
  t.after(async () => {
    ac.abort();
    await srv.close();
  });
  await until('a held request', () => srv.counts.held >= 1, 5000);
  const asked = srv.counts.requests;
  const began = Date.now();
  srv.set(catalogue({ web: ['10.0.0.3'] }));
  await until('the change', () => addressesOf(reg, 'home//web')[0] === '10.0.0.3', 5000);
  assert.ok(Date.now() - began < 2000, 'answered at the change, not at the next interval (10 s)');
  assert.ok(srv.counts.requests - asked <= 2, `no polling meanwhile: ${srv.counts.requests - asked} requests`);
  await until('held again', () => srv.counts.held >= 2, 5000);
});

test('sse: every event applies the catalogue; a changed event triggers a re-read', async (t) => {
  for (const notify of [false, true]) {
    const srv = await startCatalogueServer({ doc: catalogue({ web: ['10.0.0.1'] }), notify });
    // notify: the stream is the catalogue URL itself, asked with Accept: text/event-stream
    const { reg, rec, ac } = await start(srv, { mode: 'sse', ...(notify ? {} : { eventsUrl: srv.eventsUrl }), intervalMs: 10_000 });
    t.after(async () => {
      ac.abort();
      await srv.close();
    });
    assert.equal(reg.hasSynced(), true, 'synced from the GET after the stream opened');
    assert.equal(srv.counts.streams, 1);
    srv.set(catalogue({ web: ['10.0.0.1', '10.0.0.4'] }));
    await until('the pushed change', () => addressesOf(reg, 'home//web').length === 2, 3000);
    srv.set(catalogue({ api: ['10.0.1.1'] }));
    await until('the second change', () => !reg.services().has('home//web') && reg.services().has('home//api'), 3000);
    assert.deepEqual(rec.changes(), ['upsert web 10.0.0.1', 'upsert web 10.0.0.1,10.0.0.4', 'upsert api 10.0.1.1', 'delete web']);
    assert.equal(reg.stats().events, 2);
    assert.equal(srv.counts.ok, notify ? 3 : 1, notify ? 'one GET per changed event' : 'events carry the catalogue: one GET only');
  }
});

test('sse: a stream that goes silent without closing still gets changes, by the conditional GET every intervalMs', async (t) => {
  const srv = await startCatalogueServer({ doc: catalogue({ web: ['10.0.0.1'] }) });
  const { reg, ac } = await start(srv, { mode: 'sse', eventsUrl: srv.eventsUrl, intervalMs: 300 });
  t.after(async () => {
    ac.abort();
    await srv.close();
  });
  await until('a safety read answered 304', () => srv.counts.notModified >= 1, 3000);
  assert.equal(reg.stats().documents, 1, 'a 304 parses nothing');
  srv.silence();
  srv.set(catalogue({ web: ['10.0.0.7'] }));
  await until('the change, read by GET', () => addressesOf(reg, 'home//web')[0] === '10.0.0.7', 3000);
  assert.equal(reg.stats().events, 0, 'no event carried it');
  assert.equal(srv.counts.streams, 1, 'the stream was never reopened');
});

test('auto: server-sent events when the url offers them, else long polls, else polling (never a tight loop)', async (t) => {
  const offered = await startCatalogueServer({ doc: catalogue({ web: ['10.0.0.1'] }) });
  const a = await start(offered, { intervalMs: 10_000 });
  t.after(async () => {
    a.ac.abort();
    await offered.close();
  });
  assert.equal(offered.counts.streams, 1, 'the url offered a stream: sse');
  offered.set(catalogue({ web: ['10.0.0.2'] }));
  await until('pushed', () => addressesOf(a.reg, 'home//web')[0] === '10.0.0.2', 3000);
  assert.equal(a.reg.stats().events, 1);

  const noSse = await startCatalogueServer({ doc: catalogue({ web: ['10.0.0.1'] }), sse: false });
  const b = await start(noSse, { intervalMs: 10_000, waitSeconds: 30 });
  t.after(async () => {
    b.ac.abort();
    await noSse.close();
  });
  assert.equal(b.reg.hasSynced(), true);
  await until('a held long poll', () => noSse.counts.held >= 1, 3000);
  noSse.set(catalogue({ web: ['10.0.0.3'] }));
  await until('answered at the change', () => addressesOf(b.reg, 'home//web')[0] === '10.0.0.3', 2000);

  const plain = await startCatalogueServer({ doc: catalogue({ web: ['10.0.0.1'] }), sse: false, hold: false });
  const c = await start(plain, { intervalMs: 300, waitSeconds: 30 });
  t.after(async () => {
    c.ac.abort();
    await plain.close();
  });
  const asked = plain.counts.requests;
  await new Promise((r) => setTimeout(r, 1000));
  const n = plain.counts.requests - asked;
  assert.ok(n >= 2 && n <= 5, `a server that does not hold requests is polled every intervalMs: ${n} requests in 1 s`);
  plain.set(catalogue({ web: ['10.0.0.4'] }));
  await until('polled change', () => addressesOf(c.reg, 'home//web')[0] === '10.0.0.4', 2000);
});

test('sse: a stream the server ends after a while is reopened at once, without turning stale or reporting', async (t) => {
  const srv = await startCatalogueServer({ doc: catalogue({ web: ['10.0.0.1'] }) });
  const { reg, rec, ac } = await start(srv, { mode: 'sse', eventsUrl: srv.eventsUrl, intervalMs: 10_000 });
  t.after(async () => {
    ac.abort();
    await srv.close();
  });
  let stale = false;
  reg.onEvent((e) => (stale ||= e.type === 'status' && reg.status().stale));
  await new Promise((r) => setTimeout(r, 1100));
  srv.endStreams();
  await until('reopened', () => srv.counts.streams === 2, 3000);
  srv.set(catalogue({ web: ['10.0.0.5'] }));
  await until('pushed on the new stream', () => addressesOf(reg, 'home//web')[0] === '10.0.0.5', 3000);
  assert.equal(stale, false);
  assert.deepEqual(rec.problems, []);
});

test('server down: services kept and stale, reported once; back: fresh again and changes apply', async (t) => {
  for (const mode of ['poll', 'sse']) {
    const srv = await startCatalogueServer({ doc: catalogue({ web: ['10.0.0.1'] }) });
    const { reg, rec, ac } = await start(srv, { mode, ...(mode === 'sse' ? { eventsUrl: srv.eventsUrl } : {}) });
    t.after(() => ac.abort());
    if (mode === 'sse') await new Promise((r) => setTimeout(r, 1100)); // a stream that ran a while
    await srv.close();
    await until(`${mode}: stale`, () => reg.status().stale, 5000);
    await new Promise((r) => setTimeout(r, 600)); // several refused retries
    // sse: the cut stream is reopened at once, quietly; the refused reopen is the one failure
    assert.equal(rec.count(ErrorCode.REGISTRY_UNREACHABLE), 1, rec.problems.map((p) => p.message).join('\n'));
    assert.deepEqual(addressesOf(reg, 'home//web'), ['10.0.0.1'], 'kept while unreachable');
    assert.equal(reg.status().lastError?.code, ErrorCode.REGISTRY_UNREACHABLE);
    srv.set(catalogue({ web: ['10.0.0.9'] }));
    await srv.listen();
    t.after(() => srv.close());
    await until(`${mode}: back`, () => reg.status().connected && addressesOf(reg, 'home//web')[0] === '10.0.0.9', 5000);
    assert.equal(reg.status().lastError, undefined);
    assert.ok(!rec.changes().some((c) => c.startsWith('delete')), 'nothing was deleted');
  }
});

test('malformed entries are skipped with codes, once; neighbours sync; a non-JSON answer keeps the last state', async (t) => {
  const good = { service: 'web', nodes: [{ ip: '10.0.0.1', port: 8080 }] };
  const srv = await startCatalogueServer({
    doc: { services: [good, { service: 'bad', nodes: [{ ip: 'not an ip', port: 1 }, { ip: '10.0.0.2', port: 0 }] }, { nodes: [] }, { service: 'half', nodes: [{ ip: '10.0.0.3', port: 81 }, 'x'] }] },
  });
  const { reg, rec, ac } = await start(srv, { mode: 'poll' });
  t.after(async () => {
    ac.abort();
    await srv.close();
  });
  assert.deepEqual([...reg.services().keys()].sort(), ['home//half', 'home//web']);
  await until('polled again', () => srv.counts.notModified >= 3, 5000);
  assert.deepEqual(
    rec.problems.map((p) => `${p.code} ${p.path ?? ''}`),
    [
      'MB_ENTRY_BAD_ADDRESS /catalog: services[1].nodes[0].ip',
      'MB_ENTRY_BAD_PORT /catalog: services[1].nodes[1].port',
      'MB_ENTRY_INVALID /catalog: services[2].service',
      'MB_ENTRY_INVALID /catalog: services[3].nodes[1]',
    ],
    'each reported once',
  );
  srv.setRaw('<html>oops</html>');
  await until('the parse failure', () => rec.count(ErrorCode.SOURCE_PARSE) === 1, 5000);
  assert.deepEqual([...reg.services().keys()].sort(), ['home//half', 'home//web'], 'the last good state is kept');
  assert.equal(reg.status().stale, true);
  srv.set({ services: [good] });
  await until('recovered', () => !reg.status().stale && !reg.services().has('home//half'), 5000);
});

test('a bearer token file is sent, and re-read after a 401', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mb-http-'));
  await writeFile(join(dir, 'token'), 'first-token\n');
  const srv = await startCatalogueServer({ doc: catalogue({ web: ['10.0.0.1'] }), token: 'second-token' });
  const { reg, rec, ac } = await start(srv, { bearerTokenFile: join(dir, 'token') });
  t.after(async () => {
    ac.abort();
    await srv.close();
  });
  assert.equal(reg.hasSynced(), false);
  assert.match(rec.problems[0]?.message ?? '', /HTTP 401/);
  await writeFile(join(dir, 'token'), 'second-token\n');
  await until('synced with the new token', () => reg.hasSynced(), 5000);
  assert.deepEqual(addressesOf(reg, 'home//web'), ['10.0.0.1']);
});
