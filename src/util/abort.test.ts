import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { childSignal } from './abort.js';
import { KubeClient } from '../sinks/kubernetes/kube-client.js';

test('child signals: one listener on the parent whatever the number of children; abort reaches each', () => {
  const parent = new AbortController();
  const kids = Array.from({ length: 50 }, () => childSignal(parent.signal));
  assert.equal(getEventListeners(parent.signal, 'abort').length, 1);
  kids[0]!.release();
  parent.abort(new Error('stop'));
  assert.equal(kids[0]!.signal.aborted, false, 'a released child is forgotten');
  for (const k of kids.slice(1)) {
    assert.equal(k.signal.aborted, true);
    assert.equal((k.signal.reason as Error).message, 'stop');
  }
  assert.equal(childSignal(parent.signal).signal.aborted, true, 'a child of an aborted parent starts aborted');
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

test('50 concurrent requests on one shared signal: no MaxListenersExceededWarning, no listener left behind', async () => {
  let calls = 0;
  const server = createServer((req, res) => {
    calls += 1;
    // The first attempt of every request answers 503 so the client's backoff sleep runs too.
    const retry = req.headers['x-seen'] === undefined && calls <= 50;
    setTimeout(() => {
      res.writeHead(retry ? 503 : 200, { 'content-type': 'application/json' });
      res.end(retry ? '{"reason":"ServiceUnavailable"}' : '{}');
    }, 20);
  });
  const port = await listen(server);
  const dir = await mkdtemp(join(tmpdir(), 'mb-abort-'));
  const kubeconfig = join(dir, 'config');
  await writeFile(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: { server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true }\nusers:\n- name: u\n  user: { token: t }\ncontexts:\n- name: x\n  context: { cluster: c, user: u }\ncurrent-context: x\n`,
  );
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.name);
  process.on('warning', onWarning);
  try {
    const client = new KubeClient({ kubeconfig, qps: 1000, burst: 1000 });
    await client.init();
    const shared = new AbortController();
    await Promise.all(Array.from({ length: 50 }, () => client.request({ method: 'GET', path: '/api', signal: shared.signal })));
    await new Promise((r) => setImmediate(r));
    assert.equal(calls, 100, 'every request was retried once');
    assert.deepEqual(warnings.filter((w) => w === 'MaxListenersExceededWarning'), []);
    assert.ok(getEventListeners(shared.signal, 'abort').length <= 1, `listeners left: ${getEventListeners(shared.signal, 'abort').length}`);
  } finally {
    process.off('warning', onWarning);
    server.close();
  }
});
