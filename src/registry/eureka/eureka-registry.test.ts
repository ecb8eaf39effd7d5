import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MeshbridgeError } from '../../errors/index.js';
import { adapterCommon, kindSettings } from '../../registry/testing/adapter-options.js';
import type { RegistryEvent } from '../types.js';
import { EurekaRegistry } from './eureka-registry.js';
import { reconcileHashCode } from './hash.js';

/** An instance as a Eureka server lists it (the fields the adapter reads). */
const inst = (app: string, id: string, ip: string) => ({ instanceId: id, app: app.toUpperCase(), ipAddr: ip, status: 'UP', port: { $: 8080, '@enabled': 'true' }, securePort: { $: 443, '@enabled': 'false' } });
type Inst = ReturnType<typeof inst>;

/**
 * A fake Eureka server: `apps/` lists `state.instances`; `apps/delta` carries no changes, only
 * the apps hash (so a copy that differs fetches in full); `state.down` answers 503.
 */
async function fakeEureka(t: { after(fn: () => Promise<void>): void }) {
  const state = { instances: [] as Inst[], down: false, full: 0 };
  const server = createServer((req, res) => {
    if (state.down) {
      res.writeHead(503).end();
      return;
    }
    const delta = req.url?.endsWith('/apps/delta') === true;
    if (!delta) state.full += 1;
    const byApp = new Map<string, Inst[]>();
    for (const i of delta ? [] : state.instances) byApp.set(i.app, [...(byApp.get(i.app) ?? []), i]);
    const body = {
      applications: {
        versions__delta: '1',
        apps__hashcode: reconcileHashCode(state.instances.map((i) => i.status)),
        application: [...byApp].map(([name, instance]) => ({ name, instance })),
      },
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => server.close(() => r())));
  return { state, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/eureka/` };
}

function follow(t: { after(fn: () => void): void }, url: string, emptyHoldMs: number) {
  const problems: MeshbridgeError[] = [];
  const changes: string[] = [];
  const ac = new AbortController();
  t.after(() => ac.abort());
  const reg = new EurekaRegistry({ ...kindSettings('eureka', { serviceUrls: [url], intervalMs: 50, timeoutMs: 1000 }), ...adapterCommon('eu', (p) => problems.push(p)), emptyHoldMs });
  reg.onEvent((e: RegistryEvent) => {
    if (e.type === 'upsert' || e.type === 'delete') changes.push(`${e.type} ${e.service.name} ${e.service.endpoints.map((x) => x.address).sort().join(',')}`);
  });
  const ips = (name: string): string[] => (reg.services().get(`eu//${name}`)?.endpoints ?? []).map((e) => e.address).sort();
  return { reg, problems, changes, ips, start: () => reg.start(ac.signal) };
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const held = (problems: readonly MeshbridgeError[]): number => problems.filter((p) => p.code === 'MB_PROTECT_HELD').length;

test('eureka: a server back from an outage with part of its instances refills; nothing known is removed until emptyHoldMs', async (t) => {
  const srv = await fakeEureka(t);
  srv.state.instances = [inst('a', 'a1', '10.0.0.1'), inst('a', 'a2', '10.0.0.2'), inst('b', 'b1', '10.0.1.1'), inst('c', 'c1', '10.0.2.1'), inst('c', 'c2', '10.0.2.2')];
  const f = follow(t, srv.url, 1500);
  await f.start();
  assert.deepEqual([...f.reg.services().keys()].sort(), ['eu//a', 'eu//b', 'eu//c']);
  const before = f.changes.length;

  // The server restarts: down, then back with 3 of its 5 instances (b is not back yet) and a new one.
  srv.state.down = true;
  await until(() => f.reg.status().stale, 'stale while down');
  srv.state.instances = [inst('a', 'a1', '10.0.0.1'), inst('c', 'c1', '10.0.2.1'), inst('c', 'c2', '10.0.2.22'), inst('d', 'd1', '10.0.3.1')];
  srv.state.down = false;
  await until(() => f.ips('d').length === 1, 'the new instance goes through');
  assert.deepEqual(f.ips('a'), ['10.0.0.1', '10.0.0.2'], 'a2 kept while the server refills');
  assert.deepEqual(f.ips('b'), ['10.0.1.1'], 'b kept while the server refills');
  assert.deepEqual(f.ips('c'), ['10.0.2.1', '10.0.2.22'], 'a changed instance goes through');
  assert.equal(f.reg.status().stale, false);
  assert.equal(held(f.problems), 1, 'the refill is reported once');
  // More polls of the same partial server change nothing and report nothing more.
  const full = srv.state.full;
  await until(() => srv.state.full >= full + 3, 'read in full while refilling');
  assert.equal(held(f.problems), 1);

  // b registers again: a2 still missing, still kept. Nothing was deleted so far.
  srv.state.instances = [...srv.state.instances, inst('b', 'b1', '10.0.1.1')];
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(f.ips('a'), ['10.0.0.1', '10.0.0.2']);
  assert.ok(!f.changes.slice(before).some((c) => c.startsWith('delete')), f.changes.join('\n'));

  // a2 never comes back: emptyHoldMs after the refill began the listing is applied as it is.
  await until(() => f.ips('a').join() === '10.0.0.1', 'a2 removed after emptyHoldMs', 5000);
  assert.deepEqual([...f.reg.services().keys()].sort(), ['eu//a', 'eu//b', 'eu//c', 'eu//d']);
  // Back to deltas: no more full reads.
  const settled = srv.state.full;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(srv.state.full, settled);
});

test('eureka: a refill ends as soon as every known instance is listed again', async (t) => {
  const srv = await fakeEureka(t);
  const all = [inst('a', 'a1', '10.0.0.1'), inst('b', 'b1', '10.0.1.1'), inst('c', 'c1', '10.0.2.1')];
  srv.state.instances = all;
  const f = follow(t, srv.url, 60_000);
  await f.start();
  srv.state.down = true;
  await until(() => f.reg.status().stale, 'stale while down');
  srv.state.instances = [];
  srv.state.down = false;
  await until(() => held(f.problems) === 1, 'the empty server held back');
  srv.state.instances = all.slice(0, 2);
  await until(() => held(f.problems) === 2, 'the partial server held back');
  srv.state.instances = all;
  const full = srv.state.full;
  await until(() => srv.state.full > full && !f.reg.status().stale, 'refilled');
  await new Promise((r) => setTimeout(r, 300));
  const settled = srv.state.full;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(srv.state.full, settled, 'back to deltas once refilled');
  assert.deepEqual([...f.reg.services().keys()].sort(), ['eu//a', 'eu//b', 'eu//c']);
  assert.ok(!f.changes.some((c) => c.startsWith('delete')), f.changes.join('\n'));
});

test('eureka: without an outage a full listing that lacks instances is applied at once (an ordinary reconciliation)', async (t) => {
  const srv = await fakeEureka(t);
  srv.state.instances = [inst('a', 'a1', '10.0.0.1'), inst('a', 'a2', '10.0.0.2'), inst('b', 'b1', '10.0.1.1')];
  const f = follow(t, srv.url, 60_000);
  await f.start();
  // The delta carries no DELETED entry (missed), the hash differs: the full listing decides.
  srv.state.instances = [inst('a', 'a1', '10.0.0.1')];
  await until(() => f.reg.services().size === 1, 'b removed at once');
  assert.deepEqual(f.ips('a'), ['10.0.0.1']);
  assert.equal(held(f.problems), 0);
});
