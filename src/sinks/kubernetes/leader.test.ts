import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ErrorCode } from '../../errors/index.js';
import { silentLogger } from '../../observability/index.js';
import { KubeClient } from './kube-client.js';
import { LeaderElector } from './leader.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function fakeApi(
  handler: (req: IncomingMessage, res: ServerResponse, body: string) => void,
  limits: { qps: number; burst: number; maxAttempts?: number } = { qps: 1000, burst: 1000, maxAttempts: 1 },
): Promise<{ server: Server; client: KubeClient }> {
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const dir = await mkdtemp(join(tmpdir(), 'mb-leader-'));
  const kubeconfig = join(dir, 'config');
  await writeFile(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: { server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true }\nusers:\n- name: u\n  user: { token: t }\ncontexts:\n- name: x\n  context: { cluster: c, user: u }\ncurrent-context: x\n`,
  );
  const client = new KubeClient({ kubeconfig, ...limits });
  await client.init();
  return { server, client };
}

// Issue 10 case 9: the renew time was taken when the request returned, so a slow answer extended
// leadership past the point where another replica could already have seen the lease expire.
test('leadership is timed from when the renew was sent, not from when the answer came', async () => {
  const ANSWER_DELAY = 1500;
  const DEADLINE = 2000;
  let answeredAt = 0;
  const { server, client } = await fakeApi((req, res, body) => {
    if (req.method === 'GET') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"reason":"NotFound"}');
      return;
    }
    setTimeout(() => {
      answeredAt = Date.now();
      res.writeHead(201, { 'content-type': 'application/json' }).end(body);
    }, ANSWER_DELAY);
  });
  const abort = new AbortController();
  try {
    const elector = new LeaderElector({
      client,
      namespace: 'ns',
      name: 'meshbridge',
      identity: 'me',
      leaseDurationMs: 6000,
      renewDeadlineMs: DEADLINE,
      retryPeriodMs: 10_000, // no second renew within the test
      logger: silentLogger(),
    });
    elector.start(abort.signal);
    while (answeredAt === 0) await sleep(20);
    await sleep(50);
    assert.equal(elector.isLeader(), true, 'leader once the create is answered');
    // sent + DEADLINE is ~ answeredAt + 500 ms; timed from the answer it would last until answeredAt + 2000.
    await sleep(answeredAt + 900 - Date.now());
    assert.equal(elector.isLeader(), false, 'the deadline ran from the send: no longer leader 2.4 s after sending');
  } finally {
    abort.abort();
    server.close();
  }
});

test('a write whose fence fails after the rate limiter is never sent (MB_KUBE_FENCED)', async () => {
  const seen: string[] = [];
  // qps 2, burst 1: the second write waits ~500 ms in the limiter; leadership ends meanwhile.
  const { server, client } = await fakeApi(
    (req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    },
    { qps: 2, burst: 1 },
  );
  let leader = true;
  try {
    const first = client.request({ method: 'PATCH', path: '/a', body: {}, fence: () => leader });
    const second = client.request({ method: 'PATCH', path: '/b', body: {}, fence: () => leader });
    await first;
    leader = false;
    await assert.rejects(second, (e: unknown) => (e as { code?: string }).code === ErrorCode.KUBE_FENCED);
    assert.deepEqual(seen, ['PATCH /a'], 'the fenced write never reached the API server');
  } finally {
    server.close();
  }
});
