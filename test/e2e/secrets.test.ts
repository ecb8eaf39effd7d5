/**
 * Secrets never leave through logs, /debug pages, metrics or errors (issue 10): a canary secret
 * is planted in every credential field of every registry kind (eureka, zookeeper, consul, etcd,
 * nacos) and in a TLS key file; the registries point at a hostile HTTP server that answers every
 * request with an error whose body echoes the whole request (URL, headers, body), or at closed
 * ports. Everything Meshbridge then says (`run` for a few seconds: stdout, stderr, every /debug
 * page, /metrics, /readyz?verbose; `check`'s output) must be free of the canary.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, freePort, get, tempDir, until, writeConfig } from '../../test-support/cli.js';

const CANARY = 'c4n4ry-S3cr3t-9f2e71';

/** An HTTP server that fails every request, echoing it back (what a careless proxy might do). */
async function echoServer(): Promise<{ server: Server; port: number; requests: () => number }> {
  let n = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      n += 1;
      const echo = JSON.stringify({ url: req.url, headers: req.headers, body });
      res.writeHead(n % 2 === 0 ? 500 : 403, { 'content-type': 'text/plain', 'x-echo': encodeURIComponent(echo).slice(0, 4000) });
      res.end(`denied: ${echo}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, requests: () => n };
}

test('a canary secret in every registry credential never appears in logs, /debug, /metrics, /readyz or check', async (t) => {
  const hostile = await echoServer();
  t.after(() => hostile.server.close());
  const closed = await freePort(); // nothing listens there
  const dir = await tempDir('meshbridge-secrets-');
  await writeFile(join(dir, 'client-key.pem'), `-----BEGIN PRIVATE KEY-----\n${CANARY}\n-----END PRIVATE KEY-----\n`);
  await writeFile(join(dir, 'client.pem'), `-----BEGIN CERTIFICATE-----\n${CANARY}\n-----END CERTIFICATE-----\n`);
  const admin = await freePort();
  const xds = await freePort();
  const h = `127.0.0.1:${hostile.port}`;
  const config = await writeConfig(
    dir,
    `registries:
  - name: eureka
    kind: eureka
    namespace: secrets
    eureka: {serviceUrls: ["http://${h}/eureka/"], intervalMs: 200, auth: {username: mesh, password: "${CANARY}"}}
  - name: consul
    kind: consul
    namespace: secrets
    consul: {address: "http://${h}", token: "${CANARY}"}
  - name: nacos
    kind: nacos
    namespace: secrets
    nacos: {serverAddr: "${h}", auth: {username: mesh, password: "${CANARY}"}}
  - name: zk
    kind: zookeeper
    namespace: secrets
    zookeeper: {servers: "127.0.0.1:${closed}", auth: {scheme: digest, username: mesh, password: "${CANARY}"}}
  - name: etcd
    kind: etcd
    namespace: secrets
    etcd: {endpoints: ["127.0.0.1:${closed}"], auth: {username: mesh, password: "${CANARY}"}}
  - name: etcd-tls
    kind: etcd
    namespace: secrets
    etcd: {endpoints: ["https://127.0.0.1:${closed}"], tls: {caFile: client.pem, certFile: client.pem, keyFile: client-key.pem}}
startup: {syncTimeoutSeconds: 2}
sinks:
  xds: {address: 127.0.0.1:${xds}}
admin: {address: 127.0.0.1:${admin}}
log: {level: debug}
`,
  );
  const outputs: Array<[string, string]> = [];
  const p = cli(['run', '--config', config]);
  try {
    const base = `http://127.0.0.1:${admin}`;
    await until(async () => ((await get(`${base}/healthz`).catch(() => undefined))?.status === 200 ? true : undefined), 15_000, 'admin up').catch((e: unknown) => {
      throw new Error(`${String(e)}\n${p.stderr()}`);
    });
    // Let every adapter fail a few times (backoffs, re-logins) and the start-up timeout pass.
    await new Promise((r) => setTimeout(r, 5000));
    const index = JSON.parse((await get(`${base}/debug`)).text) as { pages: Array<{ path: string }> };
    for (const { path } of index.pages) outputs.push([path, (await get(`${base}${path}`)).text]);
    outputs.push(['/metrics', (await get(`${base}/metrics`)).text]);
    outputs.push(['/readyz?verbose', (await get(`${base}/readyz?verbose`)).text]);
    outputs.push(['/debug/events', await firstEvent(`${base}/debug/events`)]);
  } finally {
    p.child.kill('SIGTERM');
    await p.exit;
  }
  outputs.push(['run stdout', p.stdout()], ['run stderr', p.stderr()]);
  const check = cli(['check', '--config', config], { MESHBRIDGE_SYNC_TIMEOUT_MS: '3000' });
  await check.exit;
  outputs.push(['check stdout', check.stdout()], ['check stderr', check.stderr()]);

  assert.ok(hostile.requests() > 0, 'the credentials were really sent to the hostile server');
  const logs = p.stdout() + p.stderr();
  assert.match(logs, /MB_/, 'the failures were logged with codes');
  assert.ok(outputs.find(([w]) => w === '/debug/registryz')?.[1].includes('eureka'), 'the debug pages were read');
  const leaks = outputs.filter(([, text]) => text.includes(CANARY)).map(([where, text]) => {
    const at = text.indexOf(CANARY);
    return `${where}: ...${text.slice(Math.max(0, at - 200), at + 40)}...`;
  });
  assert.deepEqual(leaks, [], `the canary leaked:\n${leaks.join('\n\n')}`);
});

/** The event stream up to its first event (the status page's live summary). */
async function firstEvent(url: string): Promise<string> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 10_000);
  try {
    const res = await fetch(url, { signal: ac.signal });
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let text = '';
    while (!/^data: /m.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value, { stream: true });
    }
    assert.match(text, /^data: \{/m, 'an event was received');
    return text;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}
