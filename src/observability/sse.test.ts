import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SseHub, type SseHubOptions } from './sse.js';
import { silentLogger } from './logger.js';

interface Stream {
  status: number;
  headers: IncomingMessage['headers'];
  /** Raw text received so far. */
  text(): string;
  /** `data:` payloads of the events received so far. */
  events(): string[];
  ended: Promise<void>;
  close(): void;
}

function open(port: number): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/events' }, (res) => {
      let buf = '';
      res.setEncoding('utf8').on('data', (d: string) => (buf += d));
      const ended = new Promise<void>((r) => {
        res.on('end', () => r());
        res.on('close', () => r());
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        text: () => buf,
        events: () => [...buf.matchAll(/^data: (.*)$/gm)].map((m) => m[1] ?? ''),
        ended,
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function serve(t: { after(fn: () => unknown): void }, o: Partial<SseHubOptions> & { produce: () => unknown }): Promise<{ hub: SseHub; port: number; server: Server }> {
  const hub = new SseHub({ logger: silentLogger(), intervalMs: 40, heartbeatMs: 60_000, ...o });
  const server = createServer((req, res) => hub.attach(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => {
    hub.close();
    server.closeAllConnections();
    server.close();
  });
  return { hub, port: (server.address() as AddressInfo).port, server };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

test('SseHub: a new client gets the current value at once, as an event stream', async (t) => {
  const { port } = await serve(t, { produce: () => ({ n: 1, name: '<b>x</b>' }) });
  const s = await open(port);
  assert.equal(s.status, 200);
  assert.match(String(s.headers['content-type']), /^text\/event-stream/);
  assert.equal(s.headers['cache-control'], 'no-store');
  await until(() => s.events().length === 1, 'the first event');
  assert.deepEqual(JSON.parse(s.events()[0]!), { n: 1, name: '<b>x</b>' });
  assert.match(s.text(), /^retry: 2000\n\n/);
  assert.match(s.text(), /event: status\nid: 1\ndata: /);
  s.close();
});

test('SseHub: one producer for every client; only changes are sent, to all of them', async (t) => {
  let value = 0;
  let calls = 0;
  const { hub, port } = await serve(t, {
    produce: () => {
      calls++;
      return { value };
    },
  });
  const clients = await Promise.all([open(port), open(port), open(port), open(port)]);
  await until(() => hub.size() === 4 && clients.every((c) => c.events().length >= 1), 'four clients with a value');
  // 10 ticks with no change: the producer runs once per tick, whatever the number of clients, and nothing is sent.
  const before = calls;
  await sleep(400);
  const ticks = calls - before;
  assert.ok(ticks >= 1 && ticks <= 11, `at most one produce per 40 ms tick for 4 clients, got ${ticks} in 400 ms`);
  for (const c of clients) assert.equal(c.events().length, 1, 'no event while nothing changed');
  value = 7;
  await until(() => clients.every((c) => c.events().length === 2), 'the change at every client');
  for (const c of clients) assert.deepEqual(JSON.parse(c.events()[1]!), { value: 7 });
  for (const c of clients) c.close();
});

test('SseHub: bounded clients (503 beyond), closed clients forgotten, no producing while nobody listens', async (t) => {
  let calls = 0;
  const { hub, port } = await serve(t, {
    maxClients: 2,
    produce: () => {
      calls++;
      return { calls };
    },
  });
  const a = await open(port);
  const b = await open(port);
  await until(() => hub.size() === 2, 'two clients');
  const c = await open(port);
  assert.equal(c.status, 503);
  assert.ok(Number(c.headers['retry-after']) > 0);
  a.close();
  b.close();
  await until(() => hub.size() === 0, 'both forgotten');
  await sleep(60);
  const idle = calls;
  await sleep(200);
  assert.equal(calls, idle, 'the producer stops with the last client');
  const d = await open(port);
  assert.equal(d.status, 200, 'a freed slot is served again');
  await until(() => d.events().length >= 1, 'a value for the new client');
  d.close();
});

test('SseHub: heartbeat comments keep an idle stream; close() ends every stream and refuses new ones', async (t) => {
  const { hub, port } = await serve(t, { heartbeatMs: 30, produce: () => ({ same: true }) });
  const s = await open(port);
  await until(() => (s.text().match(/^: hb$/gm) ?? []).length >= 2, 'two heartbeats');
  assert.equal(s.events().length, 1);
  hub.close();
  await s.ended;
  assert.equal(hub.size(), 0);
  const late = await open(port);
  assert.equal(late.status, 503);
});

test('SseHub: a throwing producer skips the tick and the stream goes on', async (t) => {
  let fail = true;
  const { port } = await serve(t, {
    produce: () => {
      if (fail) throw new Error('boom');
      return { ok: true };
    },
  });
  const s = await open(port);
  await sleep(120);
  assert.equal(s.events().length, 0);
  fail = false;
  await until(() => s.events().length === 1, 'the value once the producer works');
  assert.deepEqual(JSON.parse(s.events()[0]!), { ok: true });
  s.close();
});

test('SseHub: a client that stops reading is dropped once its backlog passes the bound', async (t) => {
  let n = 0;
  const big = 'x'.repeat(64 * 1024);
  const { hub, port } = await serve(t, { maxBufferedBytes: 256 * 1024, intervalMs: 5, produce: () => ({ n: n++, big }) });
  // A raw socket that never reads.
  const { connect } = await import('node:net');
  const sock = connect(port, '127.0.0.1');
  t.after(() => sock.destroy());
  sock.pause();
  sock.write('GET /events HTTP/1.1\r\nHost: x\r\n\r\n');
  await until(() => hub.size() === 1, 'the client attached');
  await until(() => hub.size() === 0, 'the non-reading client dropped', 10_000);
});
