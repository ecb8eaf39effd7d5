/**
 * The Consul adapter against a real Consul server (test-support/peers/peers.d/consul.sh builds it,
 * test-support/peers/consul.mjs starts it on 127.0.0.1). Services are registered through the agent
 * API with TTL checks, so a test flips health with /v1/agent/check/pass|warn|fail.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MeshbridgeError } from '../../src/errors/index.js';
import type { Service } from '../../src/model/index.js';
import { adapterCommon, kindSettings } from '../../src/registry/testing/adapter-options.js';
import { ConsulRegistry, type ConsulRegistryOptions } from '../../src/registry/consul/index.js';
import type { RegistryEvent } from '../../src/registry/types.js';
import { loadConsul, type ConsulPeer } from '../../test-support/consul.js';

const mod = await loadConsul();
const skip = mod.consulSkipReason();

/** Records what the registry emits and reports (a fake that records, not a mock). */
class Recorder {
  readonly events: RegistryEvent[] = [];
  readonly problems: MeshbridgeError[] = [];
}

interface Running {
  readonly reg: ConsulRegistry;
  readonly rec: Recorder;
  readonly ac: AbortController;
  service(name: string): Service | undefined;
}

async function startRegistry(address: string, opts: Partial<ConsulRegistryOptions> = {}): Promise<Running> {
  const rec = new Recorder();
  const ac = new AbortController();
  const reg = new ConsulRegistry({
    ...kindSettings('consul', { address, waitSeconds: 30 }),
    ...adapterCommon('c1', (p) => rec.problems.push(p)),
    backoff: { initialMs: 100, maxMs: 1000 },
    ...opts,
  });
  reg.onEvent((e) => rec.events.push(e));
  await reg.start(ac.signal);
  return { reg, rec, ac, service: (name) => reg.services().get(`c1/dc1/${name}`) };
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const addresses = (s: Service | undefined): string[] => (s?.endpoints ?? []).map((e) => `${e.address}:${Object.values(e.ports).join(',')}/${e.health}`).sort();

function def(id: string, name: string, address: string, port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ID: id, Name: name, Address: address, Port: port, Check: { CheckID: `chk-${id}`, TTL: '30m', Status: 'passing' }, ...extra };
}

describe('consul registry against a real Consul', { skip }, () => {
  let consul: ConsulPeer;

  before(async () => {
    consul = await mod.startConsul();
  });
  after(async () => {
    await consul?.stop();
  });

  test('initial sync, register, deregister, health change, tags/meta/weight change', async () => {
    await consul.register(def('web-1', 'web', '10.0.0.1', 8080, { Meta: { protocol: 'http', version: 'v1' }, Tags: ['blue'] }));
    await consul.register(def('web-2', 'web', '10.0.0.2', 8080));
    const r = await startRegistry(consul.address);
    try {
      assert.equal(r.reg.hasSynced(), true, 'start resolves after the first full listing');
      assert.equal(r.reg.services().has('c1/dc1/consul'), false, 'the servers\' own service is skipped');
      const web = r.service('web');
      assert.deepEqual(addresses(web), ['10.0.0.1:8080/healthy', '10.0.0.2:8080/healthy']);
      assert.deepEqual(web?.ports, [{ number: 8080, name: 'http', protocol: 'HTTP' }]);
      assert.deepEqual(web?.attributes, { datacenter: 'dc1' });
      const e1 = web?.endpoints.find((e) => e.address === '10.0.0.1');
      assert.deepEqual(e1?.labels, { 'node-consul-network-segment': '', 'tag-blue': 'true', protocol: 'http', version: 'v1' });
      assert.deepEqual(e1?.locality, { region: 'dc1' });

      // register: a new service and a new instance
      await consul.register(def('api-1', 'api', '10.0.1.1', 9090, { Tags: ['protocol=grpc'] }));
      await waitFor('api appears', () => r.service('api') !== undefined);
      assert.deepEqual(r.service('api')?.ports, [{ number: 9090, name: 'grpc', protocol: 'GRPC' }]);
      await consul.register(def('web-3', 'web', '10.0.0.3', 8081));
      await waitFor('web-3 appears', () => addresses(r.service('web')).length === 3);

      // health: a failing check marks the endpoint unhealthy (passing filter); all failing keeps the service
      await consul.check('fail', 'chk-web-2');
      await waitFor('web-2 unhealthy', () => addresses(r.service('web')).includes('10.0.0.2:8080/unhealthy'));
      await consul.check('warn', 'chk-api-1');
      await waitFor('api-1 unhealthy (warning under passing)', () => addresses(r.service('api')).includes('10.0.1.1:9090/unhealthy'));
      assert.ok(r.reg.services().has('c1/dc1/api'), 'a service with no healthy instance stays');
      await consul.check('pass', 'chk-web-2');
      await waitFor('web-2 healthy again', () => addresses(r.service('web')).includes('10.0.0.2:8080/healthy'));

      // tags, meta and weight change
      await consul.register(def('web-1', 'web', '10.0.0.1', 8080, { Meta: { protocol: 'http', version: 'v2' }, Tags: ['green'], Weights: { Passing: 7, Warning: 1 } }));
      await waitFor('web-1 relabelled', () => {
        const e = r.service('web')?.endpoints.find((x) => x.address === '10.0.0.1');
        return e?.labels['version'] === 'v2' && e.labels['tag-green'] === 'true' && e.labels['tag-blue'] === undefined && e.weight === 7;
      });

      // deregister: an instance, then a whole service
      await consul.deregister('web-3');
      await waitFor('web-3 gone', () => addresses(r.service('web')).length === 2);
      await consul.deregister('api-1');
      await waitFor('api deleted', () => r.service('api') === undefined);
      const deletes = r.rec.events.filter((e) => e.type === 'delete').map((e) => (e.type === 'delete' ? e.service.name : ''));
      assert.deepEqual(deletes, ['api']);
      assert.deepEqual(r.rec.problems.map((p) => p.code), []);
      assert.equal(r.reg.status().connected, true);
    } finally {
      r.ac.abort();
      await consul.deregister('web-1');
      await consul.deregister('web-2');
    }
  });

  test('health filters warning and any', async () => {
    await consul.register(def('hf-1', 'hf', '10.0.2.1', 80));
    await consul.register(def('hf-2', 'hf', '10.0.2.2', 80));
    await consul.register(def('hf-3', 'hf', '10.0.2.3', 80));
    await consul.check('warn', 'chk-hf-2');
    await consul.check('fail', 'chk-hf-3');
    const w = await startRegistry(consul.address, { healthFilter: 'warning' });
    const a = await startRegistry(consul.address, { healthFilter: 'any' });
    try {
      assert.deepEqual(addresses(w.service('hf')), ['10.0.2.1:80/healthy', '10.0.2.2:80/healthy', '10.0.2.3:80/unhealthy']);
      assert.deepEqual(addresses(a.service('hf')), ['10.0.2.1:80/healthy', '10.0.2.2:80/healthy', '10.0.2.3:80/healthy']);
    } finally {
      w.ac.abort();
      a.ac.abort();
      for (const id of ['hf-1', 'hf-2', 'hf-3']) await consul.deregister(id);
    }
  });

  test('malformed entries are skipped with codes while neighbours sync', async () => {
    await consul.register(def('good-1', 'mixed', '10.0.3.1', 8080));
    await consul.register(def('noport-1', 'mixed', '10.0.3.2', 0));
    await consul.register(def('badaddr-1', 'mixed', 'not a host!', 8080));
    await consul.register(def('proto-1', 'mixed', '10.0.3.4', 8080, { Meta: { protocol: 'carrier-pigeon' } }));
    await consul.register(def('fine-1', 'fine', '10.0.4.1', 80));
    const r = await startRegistry(consul.address);
    try {
      assert.deepEqual(addresses(r.service('mixed')), ['10.0.3.1:8080/healthy', '10.0.3.4:8080/healthy']);
      assert.deepEqual(addresses(r.service('fine')), ['10.0.4.1:80/healthy']);
      const codes = r.rec.problems.map((p) => `${p.code} ${p.path ?? ''}`).sort();
      assert.deepEqual(codes, [
        'MB_ENTRY_BAD_ADDRESS consul dc1: mixed: meshbridge-test/badaddr-1',
        'MB_ENTRY_BAD_PORT consul dc1: mixed: meshbridge-test/noport-1',
        'MB_ENTRY_INVALID consul dc1: mixed: meshbridge-test/proto-1',
      ]);
      // a change elsewhere does not repeat the problems of an unchanged service
      await consul.register(def('fine-2', 'fine', '10.0.4.2', 80));
      await waitFor('fine-2', () => addresses(r.service('fine')).length === 2);
      assert.equal(r.rec.problems.length, 3);
    } finally {
      r.ac.abort();
      for (const id of ['good-1', 'noport-1', 'badaddr-1', 'proto-1', 'fine-1', 'fine-2']) await consul.deregister(id);
    }
  });

  test('idle: only blocking calls, none returns before its wait unless something changed', async () => {
    await consul.register(def('idle-a', 'idle-a', '10.0.5.1', 80));
    await consul.register(def('idle-b', 'idle-b', '10.0.5.2', 80));
    // The agent writes a service and its check to the catalog in separate steps: let both land,
    // so that the idle phase really has no change.
    for (const n of ['idle-a', 'idle-b']) {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const h = (await consul.get(`/v1/health/service/${n}`)) as Array<{ Checks: Array<{ CheckID: string }> }>;
        if (h[0]?.Checks.some((c) => c.CheckID === `chk-${n}`)) break;
        await new Promise((res) => setTimeout(res, 50));
      }
    }
    await new Promise((res) => setTimeout(res, 500));
    const proxy = await mod.startCountingProxy(consul.address);
    const wait = 2;
    const r = await startRegistry(proxy.address, { waitSeconds: wait });
    try {
      const synced = proxy.requests.length;
      // the local datacenter, then catalog + 2 services: one non-blocking first read each
      assert.deepEqual(
        proxy.requests.map((q) => q.path).sort(),
        ['/v1/catalog/datacenters', '/v1/catalog/services?dc=dc1', '/v1/health/service/idle-a?dc=dc1', '/v1/health/service/idle-b?dc=dc1'],
      );
      const idleFrom = Date.now();
      await new Promise((res) => setTimeout(res, 3 * wait * 1000 + 500));
      const idle = proxy.requests.slice(synced);
      assert.ok(idle.every((q) => /[?&]index=[0-9]+/.test(q.path) && /[?&]wait=[0-9]+s/.test(q.path)), 'every idle request is a blocking one');
      const finished = idle.filter((q) => q.end !== undefined);
      const minMs = (wait - wait / 16) * 1000 - 50;
      for (const q of finished) assert.ok(q.end! - q.start >= minMs, `${q.path} returned after ${q.end! - q.start} ms, before its wait`);
      // three watches, each at most one request per wait (plus the one in flight)
      const perWatch = Math.ceil((Date.now() - idleFrom) / (minMs)) + 1;
      assert.ok(idle.length <= 3 * perWatch, `${idle.length} requests while idle`);
      assert.ok(finished.length >= 3, 'the blocking calls did time out and were renewed');

      // a change wakes exactly the watches it concerns, at once
      const before = proxy.requests.length;
      const t0 = Date.now();
      await consul.check('fail', 'chk-idle-a');
      await waitFor('idle-a unhealthy', () => addresses(r.service('idle-a')).includes('10.0.5.1:80/unhealthy'), 5000);
      assert.ok(Date.now() - t0 < wait * 1000, 'a change arrives before the wait runs out');
      const woken = proxy.requests.slice(before).filter((q) => q.path.includes('/v1/health/service/idle-b'));
      assert.ok(woken.every((q) => q.end === undefined || q.end - q.start >= minMs), 'an unrelated watch stays blocked');
    } finally {
      r.ac.abort();
      await proxy.close();
      await consul.deregister('idle-a');
      await consul.deregister('idle-b');
    }
  });

  test('more watches than slots: bounded connections, short waits, everything still syncs', async () => {
    const names = ['s-1', 's-2', 's-3', 's-4', 's-5'];
    for (const [i, n] of names.entries()) await consul.register(def(n, n, `10.0.6.${i + 1}`, 80));
    const proxy = await mod.startCountingProxy(consul.address);
    const r = await startRegistry(proxy.address, { maxConcurrentWatches: 2, waitSeconds: 60, oversubscribedWaitSeconds: 1 });
    try {
      for (const n of names) assert.deepEqual(addresses(r.service(n)), [`10.0.6.${names.indexOf(n) + 1}:80/healthy`]);
      let maxInFlight = 0;
      const t0 = Date.now();
      while (Date.now() - t0 < 2500) {
        maxInFlight = Math.max(maxInFlight, proxy.requests.filter((q) => q.end === undefined).length);
        await new Promise((res) => setTimeout(res, 20));
      }
      assert.ok(maxInFlight <= 2, `at most 2 calls in flight, saw ${maxInFlight}`);
      assert.ok(proxy.requests.some((q) => q.path.includes('wait=1s')), 'oversubscribed watches ask for the short wait');
      await consul.check('fail', 'chk-s-5');
      await waitFor('s-5 unhealthy', () => addresses(r.service('s-5')).includes('10.0.6.5:80/unhealthy'), 10_000);
    } finally {
      r.ac.abort();
      await proxy.close();
      for (const n of names) await consul.deregister(n);
    }
  });

  test('several datacenters: dc= on every call; an unreachable one is reported once and holds the first sync', async () => {
    await consul.register(def('dc-1', 'indc', '10.0.11.1', 80));
    const proxy = await mod.startCountingProxy(consul.address);
    const r = await startRegistry(proxy.address, { datacenters: ['dc1', 'nowhere'], waitSeconds: 5 });
    try {
      await waitFor('dc1 listed', () => r.service('indc') !== undefined);
      await new Promise((res) => setTimeout(res, 2500));
      assert.equal(r.reg.hasSynced(), false, 'not synced while a configured datacenter cannot be read');
      assert.equal(r.reg.status().connected, false);
      const codes = r.rec.problems.map((p) => p.code);
      assert.deepEqual(codes, ['MB_REGISTRY_UNREACHABLE'], r.rec.problems.map((p) => p.message).join('\n'));
      assert.match(r.rec.problems[0]?.message ?? '', /catalog\/services.*HTTP 500/);
      assert.ok(proxy.requests.every((q) => /[?&]dc=(dc1|nowhere)(&|$)/.test(q.path)), 'every call names its datacenter');
      assert.ok(!proxy.requests.some((q) => q.path.startsWith('/v1/catalog/datacenters')), 'configured datacenters are not looked up');
    } finally {
      r.ac.abort();
      await proxy.close();
      await consul.deregister('dc-1');
    }
  });

  test('300 services: one blocking watch each, idle traffic is one request per watch per wait', async () => {
    const n = 300;
    const ids = Array.from({ length: n }, (_, i) => `many-${String(i).padStart(3, '0')}`);
    for (let i = 0; i < n; i += 25) {
      await Promise.all(ids.slice(i, i + 25).map((id, j) => consul.register({ ID: id, Name: id, Address: `10.1.${Math.floor((i + j) / 250)}.${((i + j) % 250) + 1}`, Port: 80 })));
    }
    await new Promise((res) => setTimeout(res, 500));
    const proxy = await mod.startCountingProxy(consul.address);
    const wait = 4;
    const r = await startRegistry(proxy.address, { waitSeconds: wait, maxConcurrentWatches: n + 10 });
    try {
      assert.equal(ids.filter((id) => r.service(id) !== undefined).length, n);
      assert.equal(proxy.requests.filter((q) => !q.path.includes('index=')).length, n + 2, 'datacenters, catalog, one plain read per service');
      const t0 = Date.now();
      await new Promise((res) => setTimeout(res, 2 * wait * 1000 + 500));
      const idle = proxy.requests.filter((q) => q.start >= t0);
      const finished = idle.filter((q) => q.end !== undefined);
      const minMs = (wait - wait / 16) * 1000 - 50;
      const early = finished.filter((q) => q.end! - q.start < minMs);
      assert.deepEqual(early.map((q) => q.path), [], 'no blocking call returned before its wait');
      const rounds = Math.ceil((Date.now() - t0) / minMs) + 1;
      assert.ok(idle.length <= (n + 1) * rounds, `${idle.length} requests in ${Date.now() - t0} ms idle for ${n + 1} watches`);
      assert.ok(idle.every((q) => q.path.includes('index=')), 'idle requests are blocking queries');
    } finally {
      r.ac.abort();
      await proxy.close();
      for (let i = 0; i < n; i += 25) await Promise.all(ids.slice(i, i + 25).map((id) => consul.deregister(id)));
    }
  });

  test('a rebuilt Consul (index goes backwards) is re-read in full', async () => {
    await consul.register(def('rb-1', 'rb', '10.0.9.1', 80));
    await consul.register(def('rb-2', 'rb', '10.0.9.2', 80));
    await consul.register(def('gone-1', 'gone', '10.0.9.9', 80));
    for (let i = 0; i < 20; i++) await consul.register(def(`churn-${i}`, 'churn', `10.0.10.${i + 1}`, 80)); // push the index up
    for (let i = 0; i < 20; i++) await consul.deregister(`churn-${i}`);
    const proxy = await mod.startCountingProxy(consul.address);
    const wait = 3;
    const r = await startRegistry(proxy.address, { waitSeconds: wait });
    try {
      assert.deepEqual(addresses(r.service('rb')), ['10.0.9.1:80/healthy', '10.0.9.2:80/healthy']);
      proxy.state.paused = true; // Consul unreachable for the adapter while it is rebuilt
      await waitFor('disconnected', () => !r.reg.status().connected, 20_000);
      await consul.restart({ wipe: true });
      await consul.register(def('rb-1', 'rb', '10.0.9.1', 80, { Meta: { rebuilt: 'yes' } }));
      await consul.register(def('rb-3', 'rb', '10.0.9.3', 80));
      assert.deepEqual(addresses(r.service('rb')), ['10.0.9.1:80/healthy', '10.0.9.2:80/healthy'], 'nothing changed while unreachable');
      const resumedAt = proxy.requests.length;
      proxy.state.paused = false;
      // The old, higher index blocks on the new server until the wait runs out; the lower index
      // it then answers with is a reset: everything is read again.
      await waitFor('converged on the rebuilt Consul', () => {
        const rb = r.service('rb');
        return addresses(rb).join() === '10.0.9.1:80/healthy,10.0.9.3:80/healthy' && rb?.endpoints[0]?.labels['rebuilt'] === 'yes' && r.service('gone') === undefined;
      }, (wait + 10) * 1000);
      // The per-service watches may see their own reset (and converge) before the catalog's
      // blocking call returns: wait for the catalog's full re-read too.
      const fullCatalogRead = (): boolean =>
        proxy.requests.slice(resumedAt).some((q) => q.path.startsWith('/v1/catalog/services?dc=dc1') && !q.path.includes('index='));
      await waitFor('a full re-read of the catalog', fullCatalogRead, (wait + 10) * 1000).catch(() => undefined);
      const after = proxy.requests.slice(resumedAt).map((q) => q.path);
      assert.ok(fullCatalogRead(), `a full re-read of the catalog: ${after.join(' ')}`);
      assert.equal(r.reg.status().connected, true);
    } finally {
      r.ac.abort();
      await proxy.close();
      for (const id of ['rb-1', 'rb-3']) await consul.deregister(id);
    }
  });

  test('outage and restart delete nothing; the state converges afterwards', async () => {
    await consul.register(def('keep-1', 'keep', '10.0.7.1', 80));
    await consul.register(def('keep-2', 'keep', '10.0.7.2', 80));
    await consul.register(def('other-1', 'other', '10.0.8.1', 80));
    const r = await startRegistry(consul.address, { waitSeconds: 5 });
    try {
      assert.deepEqual(addresses(r.service('keep')), ['10.0.7.1:80/healthy', '10.0.7.2:80/healthy']);
      const eventsBefore = r.rec.events.length;
      await consul.kill();
      await waitFor('disconnected', () => !r.reg.status().connected, 20_000);
      await new Promise((res) => setTimeout(res, 1500));
      assert.equal(r.reg.status().stale, true);
      assert.deepEqual(r.rec.events.slice(eventsBefore).filter((e) => e.type === 'delete' || e.type === 'upsert'), [], 'nothing changes while Consul is down');
      assert.deepEqual(addresses(r.service('keep')), ['10.0.7.1:80/healthy', '10.0.7.2:80/healthy']);
      assert.deepEqual(r.rec.problems.map((p) => p.code), ['MB_REGISTRY_UNREACHABLE'], 'the outage is reported once');

      await consul.restart();
      await waitFor('reconnected', () => r.reg.status().connected, 30_000);
      // converge: changes made after the restart arrive
      await consul.deregister('other-1');
      await consul.check('fail', 'chk-keep-2');
      await waitFor('other deleted after restart', () => r.service('other') === undefined, 30_000);
      await waitFor('keep-2 unhealthy after restart', () => addresses(r.service('keep')).includes('10.0.7.2:80/unhealthy'), 30_000);
      assert.equal(r.reg.status().stale, false);
      const catalog = (await consul.get('/v1/catalog/services')) as Record<string, unknown>;
      assert.deepEqual(
        [...r.reg.services().values()].map((s) => s.name).sort(),
        Object.keys(catalog)
          .filter((n) => n !== 'consul')
          .sort(),
      );
    } finally {
      r.ac.abort();
      await consul.deregister('keep-1');
      await consul.deregister('keep-2');
    }
  });
});
