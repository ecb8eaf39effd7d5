import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MeshbridgeError } from '../../errors/index.js';
import type { Service } from '../../model/index.js';
import { aggregateStatus, serviceFromHealth, HealthFilter, parseCatalogServices, statedProtocol, type BuildOptions } from './entries.js';
import { instanceLabels, TagsAsLabels } from './labels.js';
import { normaliseAddress } from '../shared/address.js';

const opts: BuildOptions = {
  registry: 'c1',
  datacenter: 'dc1',
  healthFilter: HealthFilter.PASSING,
  defaultProtocol: 'TCP',
  tagsAsLabels: TagsAsLabels.PREFIX,
  tagPrefix: 'tag-',
  nodeMetaPrefix: 'node-',
};

interface EntryInput {
  node?: string;
  nodeAddress?: string;
  nodeMeta?: Record<string, string>;
  id?: string;
  address?: string;
  port?: unknown;
  tags?: string[];
  meta?: Record<string, string>;
  weights?: Record<string, unknown>;
  checks?: string[];
  namespace?: string;
  partition?: string;
}

/** A /v1/health/service entry as Consul writes it. */
function entry(e: EntryInput): unknown {
  return {
    Node: { ID: 'x', Node: e.node ?? 'n1', Address: e.nodeAddress ?? '10.0.0.1', Datacenter: 'dc1', Meta: e.nodeMeta ?? {} },
    Service: {
      ID: e.id ?? 'web-1',
      Service: 'web',
      Tags: e.tags ?? [],
      Address: e.address ?? '',
      Meta: e.meta ?? {},
      Port: e.port ?? 8080,
      Weights: e.weights ?? { Passing: 1, Warning: 1 },
      ...(e.namespace !== undefined ? { Namespace: e.namespace } : {}),
      ...(e.partition !== undefined ? { Partition: e.partition } : {}),
    },
    Checks: (e.checks ?? ['passing']).map((s, i) => ({ CheckID: `c${i}`, Status: s })),
  };
}

function build(entries: unknown[], o: Partial<BuildOptions> = {}): { service: Service; problems: readonly MeshbridgeError[] } {
  const r = serviceFromHealth('web', entries, { ...opts, ...o });
  assert.ok(r.value !== undefined, r.problems.map((p) => p.message).join('; '));
  return { service: r.value, problems: r.problems };
}

test('aggregateStatus: worst check wins; maintenance and unknown count as critical', () => {
  const cases: Array<[string[] | undefined, string]> = [
    [undefined, 'passing'],
    [[], 'passing'],
    [['passing', 'passing'], 'passing'],
    [['passing', 'warning'], 'warning'],
    [['warning', 'critical', 'passing'], 'critical'],
    [['maintenance'], 'critical'],
    [['bogus'], 'critical'],
  ];
  for (const [checks, want] of cases) {
    assert.equal(aggregateStatus(checks?.map((s) => ({ Status: s }))), want, JSON.stringify(checks));
  }
});

test('health filter decides Endpoint.health', () => {
  const entries = [entry({ id: 'a-p', nodeAddress: '10.0.0.1', checks: ['passing'] }), entry({ id: 'b-w', nodeAddress: '10.0.0.2', checks: ['warning'] }), entry({ id: 'c-c', nodeAddress: '10.0.0.3', checks: ['critical'] })];
  const cases: Array<[HealthFilter, string[]]> = [
    [HealthFilter.PASSING, ['healthy', 'unhealthy', 'unhealthy']],
    [HealthFilter.WARNING, ['healthy', 'healthy', 'unhealthy']],
    [HealthFilter.ANY, ['healthy', 'healthy', 'healthy']],
  ];
  for (const [healthFilter, want] of cases) {
    const { service } = build(entries, { healthFilter });
    assert.deepEqual(
      service.endpoints.map((e) => e.health),
      want,
      healthFilter,
    );
  }
});

test('a service whose instances all fail keeps its port and endpoints, all unhealthy', () => {
  const { service } = build([entry({ checks: ['critical'] })]);
  assert.equal(service.ports.length, 1);
  assert.deepEqual(service.endpoints.map((e) => e.health), ['unhealthy']);
});

test('service shape: namespace is the datacenter, one port named after its protocol, endpoint fields', () => {
  const { service, problems } = build([
    entry({ id: 'b', node: 'n2', address: '10.1.0.2', port: 9090, meta: { protocol: 'grpc', version: 'v2' }, tags: ['canary'], weights: { Passing: 5, Warning: 1 }, nodeMeta: { zone: 'z1', rack: 'r1' } }),
    entry({ id: 'a', node: 'n1', address: '10.1.0.1', port: 9090, meta: { protocol: 'grpc' } }),
    entry({ id: 'c', node: 'n3', address: '10.1.0.3', port: 9091 }),
  ]);
  assert.deepEqual(problems, []);
  assert.equal(service.namespace, 'dc1');
  assert.deepEqual(service.attributes, { datacenter: 'dc1' });
  assert.equal(service.registryKind, 'consul');
  assert.deepEqual(service.ports, [{ number: 9090, name: 'grpc', protocol: 'GRPC' }]);
  assert.deepEqual(
    service.endpoints.map((e) => e.instanceId),
    ['n1/a', 'n2/b', 'n3/c'],
  );
  const b = service.endpoints[1];
  assert.deepEqual(b, {
    address: '10.1.0.2',
    ports: { grpc: 9090 },
    labels: { 'node-zone': 'z1', 'node-rack': 'r1', 'tag-canary': 'true', protocol: 'grpc', version: 'v2' },
    weight: 5,
    locality: { region: 'dc1', zone: 'z1' },
    health: 'healthy',
    origin: 'c1',
    instanceId: 'n2/b',
  });
  assert.deepEqual(service.endpoints[2]?.ports, { grpc: 9091 });
});

test('answer order never changes the service', () => {
  const a = [entry({ id: 'x', nodeAddress: '10.0.0.1' }), entry({ id: 'y', nodeAddress: '10.0.0.2', port: 81 })];
  assert.deepEqual(build(a).service, build([...a].reverse()).service);
});

test('warning instances get Weights.Warning; no Weights leaves weight unset', () => {
  const { service } = build([entry({ checks: ['warning'], weights: { Passing: 10, Warning: 2 } })], { healthFilter: HealthFilter.WARNING });
  assert.equal(service.endpoints[0]?.weight, 2);
  const raw = entry({}) as { Service: Record<string, unknown> };
  delete raw.Service['Weights'];
  assert.equal(build([raw]).service.endpoints[0]?.weight, undefined);
});

test('Service.Address wins over Node.Address; IPv6 brackets are removed', () => {
  assert.equal(build([entry({ address: '10.9.9.9' })]).service.endpoints[0]?.address, '10.9.9.9');
  assert.equal(build([entry({ address: '' })]).service.endpoints[0]?.address, '10.0.0.1');
  assert.equal(build([entry({ address: '[fd00::1]' })]).service.endpoints[0]?.address, 'fd00::1');
  assert.equal(build([entry({ address: 'web.example.com' })]).service.endpoints[0]?.address, 'web.example.com');
});

test('malformed instances are skipped with codes; neighbours stay', () => {
  const { service, problems } = build([
    entry({ id: 'ok', nodeAddress: '10.0.0.1' }),
    entry({ id: 'noport', nodeAddress: '10.0.0.2', port: 0 }),
    entry({ id: 'bigport', nodeAddress: '10.0.0.3', port: 70000 }),
    entry({ id: 'badaddr', address: 'not an address!' }),
    entry({ id: 'zone', address: 'fe80::1%eth0' }),
    entry({ id: 'proto', nodeAddress: '10.0.0.4', meta: { protocol: 'carrier-pigeon' } }),
    entry({ id: 'weight', nodeAddress: '10.0.0.5', weights: { Passing: -1 } }),
    'garbage',
    { Node: {} },
  ]);
  assert.deepEqual(
    service.endpoints.map((e) => e.instanceId),
    ['n1/ok', 'n1/proto', 'n1/weight'],
  );
  assert.deepEqual(
    problems.map((p) => p.code).sort(),
    ['MB_ENTRY_BAD_ADDRESS', 'MB_ENTRY_BAD_ADDRESS', 'MB_ENTRY_BAD_PORT', 'MB_ENTRY_BAD_PORT', 'MB_ENTRY_INVALID', 'MB_ENTRY_INVALID', 'MB_ENTRY_INVALID', 'MB_ENTRY_INVALID'],
  );
  assert.ok(problems.every((p) => p.path?.startsWith('consul dc1: web: ')));
  assert.equal(service.ports[0]?.protocol, 'TCP');
});

test('an empty answer is a service with no ports and no endpoints', () => {
  const { service, problems } = build([]);
  assert.deepEqual([service.ports, service.endpoints, problems], [[], [], []]);
});

test('answers that are not lists or objects are invalid as a whole', () => {
  const health = serviceFromHealth('web', { x: 1 }, opts);
  assert.deepEqual([health.value, health.problems.map((p) => p.code)], [undefined, ['MB_SOURCE_PARSE']]);
  const catalog = parseCatalogServices([], 'here');
  assert.deepEqual([catalog.value, catalog.problems.map((p) => p.code)], [undefined, ['MB_SOURCE_PARSE']]);
  assert.deepEqual(parseCatalogServices({ web: [], api: ['a'], consul: [] }, 'here'), { value: ['api', 'consul', 'web'], problems: [] });
});

test('Enterprise namespace and partition are passed through (default ones left out)', () => {
  const s1 = build([entry({ namespace: 'team-a', partition: 'p1' })]).service;
  assert.equal(s1.namespace, 'dc1/p1/team-a');
  assert.deepEqual(s1.attributes, { datacenter: 'dc1', partition: 'p1', consulNamespace: 'team-a' });
  const s2 = build([entry({ namespace: 'default', partition: 'default' })]).service;
  assert.equal(s2.namespace, 'dc1');
});

test('statedProtocol: meta wins, then protocol=/protocol: tags', () => {
  const cases: Array<[Record<string, string>, string[], string | undefined]> = [
    [{ protocol: 'http' }, ['protocol=grpc'], 'http'],
    [{}, ['x', 'protocol=grpc'], 'grpc'],
    [{}, ['Protocol:HTTP2'], 'HTTP2'],
    [{}, ['http'], undefined],
    [{ protocol: '' }, [], undefined],
  ];
  for (const [meta, tags, want] of cases) assert.equal(statedProtocol(meta, tags), want, JSON.stringify([meta, tags]));
});

test('normaliseAddress', () => {
  const cases: Array<[string, string | undefined]> = [
    ['10.0.0.1', '10.0.0.1'],
    ['[::1]', '::1'],
    ['::1', '::1'],
    ['host.example', 'host.example'],
    ['10.0.0.256', undefined],
    ['fe80::1%eth0', undefined],
    ['', undefined],
    ['a b', undefined],
    ['[10.0.0.1]', undefined],
  ];
  for (const [raw, want] of cases) assert.equal(normaliseAddress(raw), want, raw);
});

test('instanceLabels: node meta < tags < service meta; schemes', () => {
  const tags = ['canary', 'version=v2', '=odd'];
  const meta = { version: 'v3' };
  const nodeMeta = { zone: 'z1' };
  const cases: Array<[TagsAsLabels, string, string, Record<string, string>]> = [
    [TagsAsLabels.PREFIX, 'tag-', 'node-', { 'node-zone': 'z1', 'tag-canary': 'true', 'tag-version=v2': 'true', 'tag-=odd': 'true', version: 'v3' }],
    [TagsAsLabels.KEY_VALUE, 't.', '', { zone: 'z1', 't.canary': 'true', version: 'v3', 't.=odd': 'true' }],
    [TagsAsLabels.NONE, 'tag-', 'node-', { 'node-zone': 'z1', version: 'v3' }],
  ];
  for (const [tagsAsLabels, tagPrefix, nodeMetaPrefix, want] of cases) {
    assert.deepEqual(instanceLabels(tags, meta, nodeMeta, { tagsAsLabels, tagPrefix, nodeMetaPrefix }), want, tagsAsLabels);
  }
});
