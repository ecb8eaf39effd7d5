import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pipeline } from './pipeline.js';
import { ListenerConflicts } from './listener-conflicts.js';
import { SnapshotStore, type IstioResource } from '../snapshot/index.js';
import { Metrics, silentLogger } from '../observability/index.js';
import { convert, defaultConversionOptions, hostFor, type ConversionOptions } from '../convert/index.js';
import type { AddressMode } from '../convert/address-mode.js';
import { FakeRegistry, svc } from '../registry/testing/fake-registry.js';

const DUBBO = [{ number: 20880, name: 'dubbo', protocol: 'TCP' as const }];

async function run(mode: AddressMode, services: Parameters<typeof svc>[]) {
  const reg = new FakeRegistry('zk', services.map((a) => svc(...a)));
  const store = new SnapshotStore();
  const metrics = new Metrics();
  const options: ConversionOptions = { ...defaultConversionOptions, namespace: 'mesh', hostTemplate: '{name}', addresses: mode };
  const p = new Pipeline({
    registries: [reg],
    conversion: new Map([['zk', options]]),
    protectPercent: new Map(),
    conflictPolicy: 'merge',
    debounce: { quietPeriodMs: 1, maxDelayMs: 5 },
    store,
    metrics,
    logger: silentLogger(),
    hostFor,
    convert,
  });
  const ac = new AbortController();
  await p.start(ac.signal);
  const entries = [...(store.current()?.kinds.get('ServiceEntry')?.resources.values() ?? [])];
  return { p, reg, store, metrics, ac, entries, byHost: (h: string) => entries.find((r) => (r.spec['hosts'] as string[])[0] === h) };
}

function addresses(r: IstioResource | undefined): unknown {
  return r?.spec['addresses'];
}

test('providers (default): interfaces on one port get their own provider IPs; the shared one a shared entry', async () => {
  const { entries, byHost, p } = await run('providers', [
    ['zk', 'a', ['127.0.0.11', '127.0.0.13'], { ports: DUBBO }],
    ['zk', 'b', ['127.0.0.12', '127.0.0.13'], { ports: DUBBO }],
  ]);
  assert.deepEqual(addresses(byHost('a')), ['127.0.0.11']);
  assert.deepEqual(addresses(byHost('b')), ['127.0.0.12']);
  const shared = entries.filter((r) => r.labels['meshbridge.io/shared'] === 'true');
  assert.equal(shared.length, 1);
  assert.deepEqual(addresses(shared[0]), ['127.0.0.13']);
  assert.equal(shared[0]!.namespace, 'mesh');
  assert.equal(shared[0]!.labels['meshbridge.io/registry'], 'zk');
  assert.deepEqual(p.debugState().listeners, [], 'no listener conflicts by construction');
  assert.equal(p.debugState().shared.length, 1);
});

test('none: two TCP services on one port want the wildcard listener: reported as a conflict, both published', async () => {
  const { entries, p, metrics } = await run('none', [
    ['zk', 'a', ['127.0.0.11'], { ports: DUBBO }],
    ['zk', 'b', ['127.0.0.12'], { ports: DUBBO }],
  ]);
  assert.equal(entries.length, 2);
  assert.ok(entries.every((r) => r.spec['addresses'] === undefined));
  assert.deepEqual(p.debugState().listeners, [{ kind: 'wildcard', port: 20880, resources: ['ServiceEntry/mesh/a', 'ServiceEntry/mesh/b'] }]);
  const text = await metrics.registry.getSingleMetricAsString('meshbridge_listener_conflicts');
  assert.match(text, /meshbridge_listener_conflicts\{kind="wildcard"\} 1/);
});

test('a change moves addresses: when b stops sharing 127.0.0.13, a gets it back and the shared entry goes', async () => {
  const { reg, store, p, ac } = await run('providers', [
    ['zk', 'a', ['127.0.0.11', '127.0.0.13'], { ports: DUBBO }],
    ['zk', 'b', ['127.0.0.12', '127.0.0.13'], { ports: DUBBO }],
  ]);
  reg.put(svc('zk', 'b', ['127.0.0.12'], { ports: DUBBO }));
  await p.flushNow();
  const entries = [...(store.current()?.kinds.get('ServiceEntry')?.resources.values() ?? [])];
  const a = entries.find((r) => r.name === 'a');
  assert.deepEqual(addresses(a), ['127.0.0.11', '127.0.0.13']);
  assert.equal(entries.filter((r) => r.labels['meshbridge.io/shared'] === 'true').length, 0);
  ac.abort();
});

/** A ServiceEntry `name` in ns with host `<name>.x` and `spec` over it. */
const se = (name: string, spec: Record<string, unknown>): IstioResource => ({
  kind: 'ServiceEntry',
  namespace: 'ns',
  name,
  key: `ServiceEntry/ns/${name}`,
  labels: {},
  annotations: {},
  spec: { hosts: [`${name}.x`], ...spec },
  version: name,
});

test('ListenerConflicts: address, domain and wildcard conflicts come and go with the entries', () => {
  const c = new ListenerConflicts();
  const tcp = [{ number: 9000, name: 'tcp', protocol: 'TCP' }];
  const http = [{ number: 9000, name: 'http', protocol: 'HTTP' }];
  c.update('ServiceEntry/ns/a', se('a', { ports: tcp, addresses: ['10.0.0.1'] }));
  c.update('ServiceEntry/ns/b', se('b', { ports: tcp, addresses: ['10.0.0.2'] }));
  c.update('ServiceEntry/ns/h', se('h', { ports: http }));
  assert.equal(c.size, 0, 'distinct addresses, and HTTP on the wildcard next to addressed TCP, do not conflict');
  c.update('ServiceEntry/ns/b', se('b', { ports: tcp, addresses: ['10.0.0.1'] }));
  assert.deepEqual(c.list(), [{ kind: 'address', port: 9000, what: '10.0.0.1', resources: ['ServiceEntry/ns/a', 'ServiceEntry/ns/b'] }]);
  c.update('ServiceEntry/ns/b', se('b', { ports: tcp }));
  assert.deepEqual(c.list(), [{ kind: 'wildcard', port: 9000, resources: ['ServiceEntry/ns/b', 'ServiceEntry/ns/h'] }], 'TCP without addresses next to HTTP');
  c.update('ServiceEntry/ns/h', undefined);
  c.update('ServiceEntry/ns/h2', { ...se('h2', { ports: http }), spec: { hosts: ['a.x'], ports: http, addresses: ['10.0.0.9'] } });
  c.update('ServiceEntry/ns/h3', { ...se('h3', { ports: http }), spec: { hosts: ['a.x'], ports: http } });
  assert.deepEqual(
    c.list().map((x) => `${x.kind}:${x.what ?? ''}`),
    ['domain:a.x', 'wildcard:'],
  );
  c.update('ServiceEntry/ns/b', undefined);
  c.update('ServiceEntry/ns/h3', undefined);
  assert.equal(c.size, 0);
});

test('ListenerConflicts: an IPv6 address conflict is listed with its address, and goes when one entry moves away', () => {
  const ports = [{ number: 53, name: 'tcp', protocol: 'TCP' }, { number: 54, name: 'udp', protocol: 'UDP' }];
  const at = (name: string, addresses: string[]): IstioResource => se(name, { ports, addresses });
  const c = new ListenerConflicts();
  c.update('ServiceEntry/ns/a', at('a', ['fd00::1', '10.0.0.1']));
  c.update('ServiceEntry/ns/b', at('b', ['fd00::1']));
  assert.deepEqual(c.list(), [{ kind: 'address', port: 53, what: 'fd00::1', resources: ['ServiceEntry/ns/a', 'ServiceEntry/ns/b'] }], 'UDP ports take no listener');
  c.update('ServiceEntry/ns/b', at('b', ['fd00::2']));
  assert.equal(c.size, 0);
  assert.deepEqual([...c.keys()].sort(), ['ServiceEntry/ns/a', 'ServiceEntry/ns/b']);
});
