import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EurekaHttpClient, toTarget } from './client.js';

async function serve(status: number, body: string, seen: IncomingHttpHeaders[]): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/eureka`, server };
}

test('targets: trailing slash, credentials moved out of the URL', () => {
  assert.deepEqual(toTarget('http://h:8761/eureka', undefined), { base: 'http://h:8761/eureka/', authorization: undefined });
  const t = toTarget('http://u%40x:p@h:8761/eureka/', undefined);
  assert.equal(t.base, 'http://h:8761/eureka/');
  assert.equal(t.authorization, `Basic ${Buffer.from('u@x:p').toString('base64')}`);
  assert.equal(toTarget('http://u:p@h/eureka/', { username: 'a', password: 'b' }).authorization, `Basic ${Buffer.from('a:b').toString('base64')}`);
});

test('client: fails over to the next server, sticks to the one that answered, sends JSON Accept and auth', async (t) => {
  const seenBad: IncomingHttpHeaders[] = [];
  const seenGood: IncomingHttpHeaders[] = [];
  const bad = await serve(500, 'oops', seenBad);
  const good = await serve(200, '{"applications":{}}', seenGood);
  t.after(() => {
    bad.server.close();
    good.server.close();
  });
  const c = new EurekaHttpClient({ serviceUrls: [bad.url, good.url], auth: { username: 'eu', password: 's3cret' }, timeoutMs: 2000 });
  const ac = new AbortController();
  assert.deepEqual(await c.get('apps/', ac.signal), { applications: {} });
  assert.equal(c.currentUrl(), `${good.url}/`);
  assert.deepEqual(await c.get('apps/delta', ac.signal), { applications: {} });
  assert.deepEqual(c.counts, { full: 2, delta: 1, failed: 1 });
  assert.equal(seenBad.length, 1);
  assert.equal(seenGood.length, 2);
  assert.equal(seenGood[0]?.accept, 'application/json');
  assert.equal(seenGood[0]?.authorization, `Basic ${Buffer.from('eu:s3cret').toString('base64')}`);
});

test('client: all servers down -> MB_REGISTRY_UNREACHABLE naming each, without credentials', async (t) => {
  const seen: IncomingHttpHeaders[] = [];
  const notJson = await serve(200, '<applications/>', seen);
  t.after(() => notJson.server.close());
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const c = new EurekaHttpClient({ serviceUrls: [`http://user:pw@127.0.0.1:${port}/eureka/`, notJson.url], timeoutMs: 2000 });
  await assert.rejects(c.get('apps/delta', new AbortController().signal), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'MB_REGISTRY_UNREACHABLE');
    assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port}/eureka/apps/delta: fetch failed \\(ECONNREFUSED\\)`));
    assert.match(e.message, /not JSON/);
    assert.doesNotMatch(e.message, /pw/);
    return true;
  });
});

test('client: a request that hangs times out', async (t) => {
  const server = createServer(() => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const c = new EurekaHttpClient({ serviceUrls: [`http://127.0.0.1:${(server.address() as AddressInfo).port}/eureka/`], timeoutMs: 200 });
  await assert.rejects(c.get('apps/', new AbortController().signal), /timed out after 200 ms/);
});
