import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import type { MeshbridgeError } from '../../src/errors/index.js';
import type { Service } from '../../src/model/index.js';
import { adapterCommon, kindSettings } from '../../src/registry/testing/adapter-options.js';
import { NacosRegistry, type NacosRegistryOptions } from '../../src/registry/nacos/index.js';
import type { RegistryEvent } from '../../src/registry/types.js';
import { loadNacos, requireNacos, type NacosModule, type NacosServer } from '../../test-support/nacos.js';

// Integration tests against a REAL Nacos 3.1 server (republished modules from Maven Central,
// built by test-support/peers/peers.d/nacos-server.sh), started on free loopback ports.
const skip = await requireNacos();
let m: NacosModule;
let nacos: NacosServer;

before(async () => {
  if (skip !== undefined) return;
  m = await loadNacos();
  nacos = await m.startNacos();
});
after(async () => {
  await nacos?.stop();
});

class Recorder {
  readonly events: RegistryEvent[] = [];
  readonly problems: MeshbridgeError[] = [];
  changes(): number {
    return this.events.filter((e) => e.type === 'upsert' || e.type === 'delete').length;
  }
}

function build(t: { after(fn: () => void): void }, opts: Partial<NacosRegistryOptions> = {}) {
  const rec = new Recorder();
  const ac = new AbortController();
  const reg = new NacosRegistry({
    ...kindSettings('nacos', { serverAddr: nacos.serverAddr }),
    ...adapterCommon('nacos', (p) => rec.problems.push(p)),
    backoff: { initialMs: 200, maxMs: 1000 },
    ...opts,
  });
  reg.onEvent((e) => rec.events.push(e));
  t.after(() => ac.abort());
  return { rec, ac, reg };
}

async function until(cond: () => boolean, what: string, ms = 20000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const svc = (reg: NacosRegistry, name: string, namespace = 'public'): Service | undefined => reg.services().get(`nacos/${namespace}/${name}`);
const addrs = (s: Service | undefined) => (s?.endpoints ?? []).map((e) => `${e.address}:${Object.values(e.ports)[0]}`).sort();

test('nacos: initial sync, register, change weight/metadata/cluster, deregister; pushes, no polling', { skip }, async (t) => {
  await m.createService(nacos, { service: 'orders' });
  await m.putInstance(nacos, { service: 'orders', ip: '127.0.0.2', port: 8080, metadata: { protocol: 'http', version: 'v1' } });
  const { rec, ac, reg } = build(t);
  assert.equal(rec.events.length, 0, 'constructor does no I/O');
  await reg.start(ac.signal);
  assert.equal(reg.hasSynced(), true);
  const orders = svc(reg, 'orders');
  assert.deepEqual(addrs(orders), ['127.0.0.2:8080']);
  assert.deepEqual(orders?.ports, [{ number: 8080, name: 'http', protocol: 'HTTP' }]);
  assert.equal(orders?.attributes['group'], 'DEFAULT_GROUP');
  assert.equal(orders?.endpoints[0]?.labels['version'], 'v1');
  assert.equal(orders?.endpoints[0]?.weight, 100);

  // register: a second instance, and a new service (fuzzy watch add -> subscribe)
  await m.putInstance(nacos, { service: 'orders', ip: '127.0.0.3', port: 8081, metadata: { protocol: 'http' } });
  await until(() => addrs(svc(reg, 'orders')).length === 2, 'second instance pushed');
  await m.createService(nacos, { service: 'payments' });
  await m.putInstance(nacos, { service: 'payments', ip: '127.0.0.4', port: 9000, cluster: 'zone-a' });
  await until(() => svc(reg, 'payments') !== undefined && addrs(svc(reg, 'payments')).length === 1, 'new service seen');
  assert.deepEqual(svc(reg, 'payments')?.endpoints[0]?.locality, { subzone: 'zone-a' });

  // weight and metadata change
  await m.putInstance(nacos, { service: 'orders', ip: '127.0.0.2', port: 8080, weight: 2.5, metadata: { protocol: 'http', version: 'v2' } }, 'PUT');
  await until(() => svc(reg, 'orders')?.endpoints.find((e) => e.address === '127.0.0.2')?.labels['version'] === 'v2', 'metadata change');
  assert.equal(svc(reg, 'orders')?.endpoints.find((e) => e.address === '127.0.0.2')?.weight, 250);

  // disabled instances are left out
  await m.putInstance(nacos, { service: 'orders', ip: '127.0.0.3', port: 8081, enabled: false, metadata: { protocol: 'http' } }, 'PUT');
  await until(() => addrs(svc(reg, 'orders')).join() === '127.0.0.2:8080', 'disabled instance left out');

  // deregister
  await m.deleteInstance(nacos, { service: 'orders', ip: '127.0.0.3', port: 8081 });
  await m.deleteInstance(nacos, { service: 'payments', ip: '127.0.0.4', port: 9000 });
  await until(() => addrs(svc(reg, 'payments')).length === 0, 'instance deregistered');
  assert.deepEqual(rec.problems, []);
  const counts = reg.requestCounts();
  // One listing at start; fuzzy watch may trigger one confirming re-list; the 60 s re-list did not run.
  assert.ok((counts['ServiceListRequest'] ?? 0) <= 2, `the service set came from fuzzy watch, not polling: ${JSON.stringify(counts)}`);
});

test('nacos: health change through Nacos health checks (TCP probe of a real port)', { skip }, async (t) => {
  // A free loopback port with nothing listening: Nacos's TCP probe marks the instance unhealthy;
  // then a listener on it: the probe marks it healthy again. Both arrive as pushes.
  const probe: Server = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  // Registered without creating the service first: Nacos creates it with the default TCP checker.
  await m.putInstance(nacos, { service: 'checked', ip: '127.0.0.1', port });
  const { ac, reg } = build(t);
  await reg.start(ac.signal);
  await until(() => svc(reg, 'checked')?.endpoints[0]?.health === 'unhealthy', 'unhealthy while nothing listens', 60000);
  assert.equal(addrs(svc(reg, 'checked')).length, 1, 'unhealthy endpoints are kept (conversion decides)');
  const server: Server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  t.after(() => server.close());
  await until(() => svc(reg, 'checked')?.endpoints[0]?.health === 'healthy', 'healthy once the port answers', 60000);
});

test('nacos: namespaces and groups; one name in two groups is published once', { skip }, async (t) => {
  await m.createNamespace(nacos, 'dev');
  await m.createService(nacos, { service: 'cart', namespace: 'dev', group: 'shop' });
  await m.putInstance(nacos, { service: 'cart', namespace: 'dev', group: 'shop', ip: '127.0.0.5', port: 80 });
  await m.createService(nacos, { service: 'cart', namespace: 'dev', group: 'other' });
  await m.putInstance(nacos, { service: 'cart', namespace: 'dev', group: 'other', ip: '127.0.0.6', port: 80 });
  const { rec, ac, reg } = build(t, { namespaces: ['public', 'dev'], groups: ['shop', 'other'] });
  await reg.start(ac.signal);
  const cart = svc(reg, 'cart', 'dev');
  assert.equal(cart?.attributes['group'], 'shop');
  assert.equal(cart?.namespace, 'dev');
  assert.deepEqual(addrs(cart), ['127.0.0.5:80']);
  assert.deepEqual(
    rec.problems.map((p) => p.code),
    ['MB_ENTRY_DUPLICATE_SERVICE'],
  );
});

test('nacos: idle, only liveness and the periodic re-list are sent', { skip }, async (t) => {
  const { ac, reg } = build(t, { fuzzyRelistIntervalMs: 4000 });
  await reg.start(ac.signal);
  await new Promise((r) => setTimeout(r, 1000));
  const before = { ...reg.requestCounts() };
  await new Promise((r) => setTimeout(r, 12500));
  const after = reg.requestCounts();
  const delta = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => v !== 0));
  const types = Object.keys(delta).sort();
  assert.ok(types.every((k) => k === 'HealthCheckRequest' || k === 'ServiceListRequest'), `only liveness and re-list: ${JSON.stringify(delta)}`);
  assert.ok((delta['ServiceListRequest'] ?? 0) >= 2 && (delta['ServiceListRequest'] ?? 0) <= 4, `re-list every 4 s: ${JSON.stringify(delta)}`);
  // Health checks go out only when nothing was received for 5 s: at most one per 5 s.
  assert.ok((delta['HealthCheckRequest'] ?? 0) <= 3, `liveness: ${JSON.stringify(delta)}`);
});

test('nacos: server restart deletes nothing (stale), then converges; requests re-subscribe', { skip }, async (t) => {
  await m.createService(nacos, { service: 'inventory' });
  await m.putInstance(nacos, { service: 'inventory', ip: '127.0.0.8', port: 7000 });
  const { rec, ac, reg } = build(t);
  await reg.start(ac.signal);
  const servicesBefore = [...reg.services().keys()].sort();
  assert.ok(servicesBefore.includes('nacos/public/inventory'));
  const changes = rec.changes();
  await nacos.kill();
  await until(() => reg.status().stale, 'stale after the server went away');
  assert.deepEqual([...reg.services().keys()].sort(), servicesBefore, 'an outage deletes nothing');
  assert.equal(rec.changes(), changes);
  assert.ok(rec.problems.some((p) => p.code === 'MB_REGISTRY_UNREACHABLE'));
  await nacos.start();
  await until(() => reg.status().connected, 'reconnected', 60000);
  await m.putInstance(nacos, { service: 'inventory', ip: '127.0.0.9', port: 7000 });
  await until(() => addrs(svc(reg, 'inventory')).includes('127.0.0.9:7000'), 'change after the restart pushed');
  assert.equal(reg.status().stale, false);
  assert.ok((reg.requestCounts()['ServerCheckRequest'] ?? 0) >= 2);
  assert.deepEqual(nacos.nonLoopbackSockets(), [], 'the server keeps to loopback');
});

test('nacos: malformed instances the server accepts are skipped with codes while neighbours sync', { skip }, async (t) => {
  await m.createService(nacos, { service: 'mixed' });
  await m.putInstance(nacos, { service: 'mixed', ip: '127.0.0.11', port: 8080 });
  // Candidates a Nacos server might store; whichever it accepts must be skipped, not break the rest.
  const bad = [
    { ip: 'not_an_ip!', port: 8080 },
    { ip: '127.0.0.12', port: 0 },
  ];
  const accepted: string[] = [];
  for (const b of bad) {
    try {
      await m.putInstance(nacos, { service: 'mixed', ...b });
      accepted.push(`${b.ip}:${b.port}`);
    } catch {
      /* refused by the server itself */
    }
  }
  const { rec, ac, reg } = build(t);
  await reg.start(ac.signal);
  assert.deepEqual(addrs(svc(reg, 'mixed')), ['127.0.0.11:8080'], `neighbours sync (server accepted: ${accepted.join(', ') || 'none'})`);
  const codes = rec.problems.map((p) => p.code).sort();
  const expected = accepted.map((a) => (a.startsWith('not_an_ip') ? 'MB_ENTRY_BAD_ADDRESS' : 'MB_ENTRY_BAD_PORT')).sort();
  assert.deepEqual(codes, expected);
  for (const p of rec.problems) assert.match(p.path ?? '', /\/public\/DEFAULT_GROUP\/mixed: hosts\[\d+\]\.(ip|port)$/);
});
