import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, Agent } from 'node:http';
import { createServer } from 'node:net';
import { Script } from 'node:vm';
import { AdminServer } from './admin.js';
import { parseListenAddress } from './admin-http.js';
import { Metrics } from './metrics.js';
import { silentLogger } from './logger.js';
import { ErrorCode, MeshbridgeError } from '../errors/index.js';

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(port: number, path: string, method = 'GET', agent?: Agent): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, ...(agent ? { agent } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

interface Fixture {
  server: AdminServer;
  port: number;
  ac: AbortController;
  state: { ready: boolean; reasons: string[]; notes?: string[] };
  metrics: Metrics;
}

async function start(extraPages: [string, () => unknown][] = []): Promise<Fixture> {
  const metrics = new Metrics();
  metrics.debounceFlushes.inc(3);
  const state: { ready: boolean; reasons: string[]; notes?: string[] } = { ready: false, reasons: ['registry zk has not synced'] };
  const pages = new Map<string, () => unknown>([
    ['snapshot', () => ({ version: 'abc', resources: new Map([['ServiceEntry/ns/a', { version: 'v1' }]]), kinds: new Set(['ServiceEntry']) })],
    ['conflicts', () => []],
    ...extraPages,
  ]);
  const server = new AdminServer({ address: '127.0.0.1:0', metrics, logger: silentLogger(), readiness: () => state, pages, shutdownGraceMs: 200 });
  const ac = new AbortController();
  await server.start(ac.signal);
  return { server, port: server.port(), ac, state, metrics };
}

test('constructor does no I/O; port() throws before start', () => {
  const s = new AdminServer({ address: '127.0.0.1:0', metrics: new Metrics(), logger: silentLogger(), readiness: () => ({ ready: true, reasons: [] }), pages: new Map() });
  assert.throws(() => s.port(), MeshbridgeError);
});

test('/healthz is 200 ok; HEAD has no body', async (t) => {
  const f = await start();
  t.after(() => f.ac.abort());
  const r = await get(f.port, '/healthz');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'ok\n');
  assert.match(String(r.headers['content-type']), /^text\/plain/);
  const h = await get(f.port, '/healthz', 'HEAD');
  assert.equal(h.status, 200);
  assert.equal(h.body, '');
  assert.equal(h.headers['content-length'], '3');
});

test('/readyz: 503 with reasons, 200 when ready, ?verbose lists reasons in both cases', async (t) => {
  const f = await start();
  t.after(() => f.ac.abort());
  let r = await get(f.port, '/readyz');
  assert.equal(r.status, 503);
  assert.equal(r.body, 'not ready\n- registry zk has not synced\n');
  r = await get(f.port, '/readyz?verbose');
  assert.equal(r.status, 503);
  assert.match(r.body, /registry zk has not synced/);

  f.state.ready = true;
  f.state.reasons = ['registry zk is stale'];
  r = await get(f.port, '/readyz');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'ok\n');
  r = await get(f.port, '/readyz?verbose');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'ok\n- registry zk is stale\n');
  r = await get(f.port, '/readyz?verbose=0');
  assert.equal(r.body, 'ok\n');

  f.state.reasons = [];
  f.state.notes = ['registry zk (zookeeper) is stale: unreachable, serving its last known 3 services'];
  r = await get(f.port, '/readyz');
  assert.equal(r.body, 'ok\n', 'notes never change the plain answer');
  r = await get(f.port, '/readyz?verbose');
  assert.equal(r.body, 'ok\n- note: registry zk (zookeeper) is stale: unreachable, serving its last known 3 services\n');
});

test('/metrics serves the Prometheus text format of the Metrics registry', async (t) => {
  const f = await start();
  t.after(() => f.ac.abort());
  const r = await get(f.port, '/metrics');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], f.metrics.registry.contentType);
  assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  assert.match(r.body, /^# HELP meshbridge_debounce_flushes_total /m);
  assert.match(r.body, /^meshbridge_debounce_flushes_total 3$/m);
});

test('/debug lists pages; /debug/<page> is pretty JSON, ?pretty=0 compact; Maps and Sets converted', async (t) => {
  const f = await start();
  t.after(() => f.ac.abort());
  const idx = await get(f.port, '/debug');
  assert.equal(idx.status, 200);
  assert.match(String(idx.headers['content-type']), /^application\/json/);
  assert.deepEqual(JSON.parse(idx.body), {
    pages: [
      { name: 'conflicts', path: '/debug/conflicts' },
      { name: 'snapshot', path: '/debug/snapshot' },
    ],
    statusPage: '/',
  });
  assert.equal((await get(f.port, '/debug/')).status, 200);

  const snap = await get(f.port, '/debug/snapshot');
  assert.equal(snap.status, 200);
  const expected = { version: 'abc', resources: { 'ServiceEntry/ns/a': { version: 'v1' } }, kinds: ['ServiceEntry'] };
  assert.deepEqual(JSON.parse(snap.body), expected);
  assert.ok(snap.body.includes('\n  "version"'), 'pretty by default');
  const compact = await get(f.port, '/debug/snapshot?pretty=0');
  assert.equal(compact.body, `${JSON.stringify(expected)}\n`);
});

test('unknown paths are 404, non-GET/HEAD methods 405 with Allow', async (t) => {
  const f = await start();
  t.after(() => f.ac.abort());
  for (const p of ['/nope', '/index.html', '/debug/nope', '/healthz/x', '/debug/%E0%A4%A']) {
    assert.equal((await get(f.port, p)).status, 404, p);
  }
  for (const m of ['POST', 'PUT', 'DELETE']) {
    const r = await get(f.port, '/healthz', m);
    assert.equal(r.status, 405, m);
    assert.equal(r.headers.allow, 'GET, HEAD');
  }
  assert.equal((await get(f.port, '/debug/snapshot', 'POST')).status, 405);
});

test('a failing page gives 500 with a coded JSON error and the server keeps serving', async (t) => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const f = await start([
    ['boom', () => { throw new Error('kaput'); }],
    ['coded', () => { throw new MeshbridgeError(ErrorCode.HOST_CONFLICT, 'clash'); }],
    ['async', () => Promise.reject(new Error('later'))],
    ['cyclic', () => cyclic],
    ['asyncok', () => Promise.resolve({ big: 12n })],
  ]);
  t.after(() => f.ac.abort());
  let r = await get(f.port, '/debug/boom');
  assert.equal(r.status, 500);
  assert.deepEqual(JSON.parse(r.body), { error: { code: 'MB_INTERNAL', message: 'kaput' } });
  r = await get(f.port, '/debug/coded');
  assert.equal(r.status, 500);
  assert.equal(JSON.parse(r.body).error.code, 'MB_HOST_CONFLICT');
  assert.equal((await get(f.port, '/debug/async')).status, 500);
  assert.equal((await get(f.port, '/debug/cyclic')).status, 500);
  r = await get(f.port, '/debug/asyncok');
  assert.deepEqual(JSON.parse(r.body), { big: '12' });
  assert.equal((await get(f.port, '/healthz')).status, 200);
});

test('a throwing readiness function gives 500, not a crash', async (t) => {
  const server = new AdminServer({
    address: '127.0.0.1:0',
    metrics: new Metrics(),
    logger: silentLogger(),
    readiness: () => { throw new Error('no state'); },
    pages: new Map(),
  });
  const ac = new AbortController();
  await server.start(ac.signal);
  t.after(() => ac.abort());
  const r = await get(server.port(), '/readyz');
  assert.equal(r.status, 500);
  assert.equal(JSON.parse(r.body).error.code, 'MB_INTERNAL');
});

test('start rejects with MB_ADMIN_LISTEN when the port is taken or the address is bad', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const addr = blocker.address();
  assert.ok(addr !== null && typeof addr === 'object');
  try {
    const s = new AdminServer({ address: `127.0.0.1:${addr.port}`, metrics: new Metrics(), logger: silentLogger(), readiness: () => ({ ready: true, reasons: [] }), pages: new Map() });
    await assert.rejects(s.start(new AbortController().signal), (e: unknown) => e instanceof MeshbridgeError && e.code === ErrorCode.ADMIN_LISTEN);
  } finally {
    await new Promise((r) => blocker.close(r));
  }
  const bad = new AdminServer({ address: 'nonsense', metrics: new Metrics(), logger: silentLogger(), readiness: () => ({ ready: true, reasons: [] }), pages: new Map() });
  await assert.rejects(bad.start(new AbortController().signal), (e: unknown) => e instanceof MeshbridgeError && e.code === ErrorCode.ADMIN_LISTEN);
});

test('abort closes the server, including idle keep-alive sockets', async () => {
  const f = await start();
  const agent = new Agent({ keepAlive: true });
  try {
    assert.equal((await get(f.port, '/healthz', 'GET', agent)).status, 200);
    const t0 = Date.now();
    f.ac.abort();
    await f.server.closed();
    assert.ok(Date.now() - t0 < 150, 'idle keep-alive socket did not hold the server open');
    await assert.rejects(get(f.port, '/healthz'));
  } finally {
    agent.destroy();
  }
});

test('parseListenAddress', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:15080'), { host: '127.0.0.1', port: 15080 });
  assert.deepEqual(parseListenAddress('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseListenAddress(':9000'), { host: '0.0.0.0', port: 9000 });
  assert.deepEqual(parseListenAddress('localhost:1'), { host: 'localhost', port: 1 });
  for (const bad of ['', '1.2.3.4', '1.2.3.4:70000', 'host:port', '::1:80']) assert.throws(() => parseListenAddress(bad), MeshbridgeError, bad);
});

test('status page: /, /status.js, /status.css with their content types, a strict CSP and nosniff; no inline script', async (t) => {
  const f = await start();
  t.after(() => f.ac.abort());
  const want: Record<string, RegExp> = { '/': /^text\/html/, '/status.js': /^text\/javascript/, '/status.css': /^text\/css/ };
  for (const [path, type] of Object.entries(want)) {
    const r = await get(f.port, path);
    assert.equal(r.status, 200, path);
    assert.match(String(r.headers['content-type']), type, path);
    assert.equal(r.headers['x-content-type-options'], 'nosniff', path);
    const csp = String(r.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    assert.match(csp, /frame-ancestors 'none'/);
  }
  const html = (await get(f.port, '/')).body;
  assert.match(html, /<script src="\/status\.js" defer><\/script>/);
  assert.doesNotMatch(html.replace('<script src="/status.js" defer></script>', ''), /<script/i, 'no other script element');
  assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handler');
  const js = (await get(f.port, '/status.js')).body;
  assert.doesNotThrow(() => new Script(js, { filename: 'status.js' }), 'the served script parses');
  assert.doesNotMatch(js, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/, 'the script never parses markup');
  assert.equal((await get(f.port, '/debug/status')).status, 404, 'the summary is an app page, not the server\'s');
  assert.equal((await get(f.port, '/', 'POST')).status, 405);
  assert.equal(String((await get(f.port, '/healthz')).headers['x-content-type-options']), 'nosniff');
});

test('pages get the query; ADMIN_BAD_REQUEST from a page is a 400', async (t) => {
  const f = await start([
    [
      'echo',
      ((q: URLSearchParams) => {
        if (q.get('n') === 'bad') throw new MeshbridgeError(ErrorCode.ADMIN_BAD_REQUEST, 'n must be a number');
        return { n: q.get('n') };
      }) as () => unknown,
    ],
  ]);
  t.after(() => f.ac.abort());
  assert.deepEqual(JSON.parse((await get(f.port, '/debug/echo?n=3')).body), { n: '3' });
  const bad = await get(f.port, '/debug/echo?n=bad');
  assert.equal(bad.status, 400);
  assert.equal((JSON.parse(bad.body) as { error: { code: string } }).error.code, ErrorCode.ADMIN_BAD_REQUEST);
});

test('/debug/events: an event stream from the hub; listed in /debug; aborting the server ends open streams at once', async () => {
  const { SseHub } = await import('./sse.js');
  const hub = new SseHub({ logger: silentLogger(), intervalMs: 50, produce: () => ({ hello: 'world' }) });
  const server = new AdminServer({ address: '127.0.0.1:0', metrics: new Metrics(), logger: silentLogger(), readiness: () => ({ ready: true, reasons: [] }), pages: new Map(), events: hub, shutdownGraceMs: 10_000 });
  const ac = new AbortController();
  await server.start(ac.signal);
  const port = server.port();
  assert.equal((JSON.parse((await get(port, '/debug')).body) as { events?: string }).events, '/debug/events');
  const head = await get(port, '/debug/events', 'HEAD');
  assert.equal(head.status, 200);
  assert.match(String(head.headers['content-type']), /^text\/event-stream/);
  assert.equal((await get(port, '/debug/events', 'POST')).status, 405);
  const got = await new Promise<{ status: number; first: string; ended: Promise<void> }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/debug/events' }, (res) => {
      let buf = '';
      const ended = new Promise<void>((r) => res.on('close', () => r()));
      res.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        if (buf.includes('data: ')) resolve({ status: res.statusCode ?? 0, first: buf, ended });
      });
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(got.status, 200);
  assert.match(got.first, /event: status\nid: 1\ndata: \{"hello":"world"\}\n\n/);
  const t0 = Date.now();
  ac.abort();
  await got.ended;
  await server.closed();
  assert.ok(Date.now() - t0 < 5000, 'the stream did not hold the shutdown for the 10 s grace');
  assert.equal(hub.size(), 0);
});
