#!/usr/bin/env node
// A tiny home-grown registry: serves a JSON catalogue the way Meshbridge's `http` kind reads it
// (docs/configuration.md, "http"). Plain Node.js, no dependencies.
//
//   node examples/http-registry/server.mjs examples/http-registry/catalog.json 18500
//
// GET /catalog                      the catalogue, with an ETag; If-None-Match -> 304
// GET /catalog + Prefer: wait=N     long poll: held until the catalogue changes or N seconds pass
// GET /events (or /catalog with Accept: text/event-stream)
//                                   server-sent events: the catalogue on every change
// The file is re-read when it changes. The test suite (test/http-registry/) drives the same
// server through startCatalogueServer().
import { createServer } from 'node:http';
import { readFileSync, watchFile } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Starts the server on 127.0.0.1:`port` (0: a free one). `notify: true` sends `event: changed`
 * on a change instead of the catalogue. `token`: requests must carry `Authorization: Bearer token`.
 * `sse: false`: no event stream is offered; `hold: false`: long polls are answered at once.
 * Returns { port, url, set(doc), setRaw(text), counts, close(), listen() }.
 */
export async function startCatalogueServer({ doc = { services: [] }, port = 0, notify = false, token, sse: offerSse = true, hold = true } = {}) {
  let body = JSON.stringify(doc);
  let version = 1;
  const counts = { requests: 0, ok: 0, notModified: 0, held: 0, streams: 0, unauthorized: 0 };
  const waiting = new Set(); // long polls held: () => void
  const streams = new Set(); // open event streams (responses)
  const sockets = new Set();
  let silent = false; // open streams get nothing (a stalled proxy, a half-open connection)
  const etag = () => `"v${version}"`;

  const server = createServer((req, res) => {
    counts.requests++;
    if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) {
      counts.unauthorized++;
      res.writeHead(401).end();
      return;
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const sse = offerSse && (path === '/events' || String(req.headers.accept ?? '').includes('text/event-stream'));
    if (sse) return stream(res);
    if (path !== '/catalog') return void res.writeHead(404).end();
    const wait = /wait=(\d+)/.exec(String(req.headers.prefer ?? ''));
    if (req.headers['if-none-match'] === etag() && wait !== null && hold) {
      counts.held++;
      const seen = version;
      const answer = () => {
        clearTimeout(timer);
        waiting.delete(answer);
        reply(req, res, seen);
      };
      const timer = setTimeout(answer, Number(wait[1]) * 1000);
      waiting.add(answer);
      res.on('close', () => {
        clearTimeout(timer);
        waiting.delete(answer);
      });
      return;
    }
    reply(req, res, version);
  });

  function reply(req, res, seen) {
    if (req.headers['if-none-match'] === etag() && seen === version) {
      counts.notModified++;
      res.writeHead(304, { etag: etag() }).end();
      return;
    }
    counts.ok++;
    res.writeHead(200, { 'content-type': 'application/json', etag: etag() }).end(body);
  }

  function stream(res) {
    counts.streams++;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(': connected\n\n');
    streams.add(res);
    res.on('close', () => streams.delete(res));
  }

  function changed() {
    version++;
    for (const answer of [...waiting]) answer();
    if (!silent) for (const res of streams) res.write(notify ? 'event: changed\ndata:\n\n' : `data: ${body}\n\n`);
  }

  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const listen = (p) => new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(p, '127.0.0.1', () => resolve(server.address().port));
  });
  const actual = await listen(port);
  return {
    port: actual,
    url: `http://127.0.0.1:${actual}/catalog`,
    eventsUrl: `http://127.0.0.1:${actual}/events`,
    counts,
    /** Replaces the catalogue (every held long poll and open stream hears of it). */
    set(next) {
      body = JSON.stringify(next);
      changed();
    },
    /** Serves `text` as it is (not necessarily JSON). */
    setRaw(text) {
      body = text;
      changed();
    },
    /** Ends every open event stream cleanly (what a server rotating its streams does). */
    endStreams() {
      for (const res of streams) res.end();
    },
    /** Open event streams stay open but hear nothing more (what a stalled proxy does). */
    silence() {
      silent = true;
    },
    /** Stops at once: every connection is cut, as when the process dies. */
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
    /** Listens again on the same port after close(). */
    listen: () => listen(actual),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, port = '18500'] = process.argv.slice(2);
  if (file === undefined) {
    process.stderr.write('usage: server.mjs CATALOG.json [PORT]\n');
    process.exit(2);
  }
  const read = () => JSON.parse(readFileSync(file, 'utf8'));
  const srv = await startCatalogueServer({ doc: read(), port: Number(port) });
  watchFile(file, { interval: 500 }, () => {
    try {
      srv.set(read());
      process.stdout.write(`catalogue changed\n`);
    } catch (e) {
      process.stderr.write(`not applied: ${e.message}\n`);
    }
  });
  process.stdout.write(`serving ${file} at ${srv.url} (events: ${srv.eventsUrl})\n`);
}
