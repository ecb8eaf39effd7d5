import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Protocol } from '../../model/index.js';
import { kindSettings } from '../testing/adapter-options.js';
import { mapCatalogue } from './mapping.js';

const opts = (map: object) => ({ registry: 'cat', source: '/catalog', map: kindSettings('http', { url: 'http://127.0.0.1/', map }).map, defaultProtocol: Protocol.TCP });

test('flat entries are grouped by name; pointers reach nested fields; metadata becomes labels', () => {
  const doc = {
    data: {
      list: [
        { svc: 'web', net: { ip: '10.0.0.1', port: 8080 }, proto: 'http', meta: { zone: 'a', v: 2 }, up: true, w: 3, uid: 'i-1' },
        { svc: 'web', net: { ip: '10.0.0.2', port: '8080' }, proto: 'HTTP', up: false },
        { svc: 'db', net: { ip: 'db.internal', port: 5432 } },
      ],
    },
  };
  const { value, problems } = mapCatalogue(doc, opts({ items: '/data/list', name: '/svc', address: '/net/ip', port: '/net/port', protocol: '/proto', metadata: '/meta', healthy: '/up', weight: '/w', id: '/uid' }));
  assert.deepEqual(problems, []);
  const web = value?.find((s) => s.name === 'web');
  assert.deepEqual(web?.ports, [{ number: 8080, name: 'http', protocol: 'HTTP' }]);
  assert.deepEqual(web?.endpoints.map((e) => [e.address, e.ports, e.health, e.weight, e.instanceId, e.labels]), [
    ['10.0.0.1', { http: 8080 }, 'healthy', 3, 'i-1', { zone: 'a', v: '2' }],
    ['10.0.0.2', { http: 8080 }, 'unhealthy', undefined, undefined, {}],
  ]);
  const db = value?.find((s) => s.name === 'db');
  assert.deepEqual(db?.ports, [{ number: 5432, name: 'tcp', protocol: 'TCP' }]);
  assert.equal(db?.registryKind, 'http');
});

test('nested instances, a mapping of entries (key = name) and named ports', () => {
  const doc = { services: { orders: { instances: [{ address: '10.1.0.1', ports: { grpc: 9090, 'http-admin': 8081 } }] } } };
  const { value, problems } = mapCatalogue(doc, opts({ items: '/services', instances: '/instances', ports: '/ports' }));
  assert.deepEqual(problems, []);
  assert.equal(value?.[0]?.name, 'orders');
  assert.deepEqual(value?.[0]?.ports, [
    { number: 9090, name: 'grpc', protocol: 'GRPC' },
    { number: 8081, name: 'http-admin', protocol: 'HTTP' },
  ]);
});

test('malformed entries are skipped with coded problems at their paths; neighbours are kept', () => {
  const doc = {
    services: [
      { name: 'ok', instances: [{ address: '10.0.0.1', port: 80 }, { address: '999.1.1.1', port: 80 }, { address: '10.0.0.3', port: 70000 }, 'x'] },
      { name: 'ok', instances: [{ address: '10.0.0.9', port: 80 }] },
      { instances: [] },
      { name: 'noinst', instances: 'none' },
      7,
      { name: 'meta', instances: [{ address: '10.0.0.4', port: 81, metadata: { a: { deep: 1 } }, healthy: 'yes' }] },
    ],
  };
  const { value, problems } = mapCatalogue(doc, opts({ items: '/services', instances: '/instances', metadata: '/metadata', healthy: '/healthy' }));
  assert.deepEqual(value?.map((s) => [s.name, s.endpoints.map((e) => e.address)]), [
    ['ok', ['10.0.0.1']],
    ['meta', ['10.0.0.4']],
  ]);
  assert.deepEqual(
    problems.map((p) => `${p.code} ${p.path ?? ''}`),
    [
      'MB_ENTRY_BAD_ADDRESS /catalog: services[0].instances[1].address',
      'MB_ENTRY_BAD_PORT /catalog: services[0].instances[2].port',
      'MB_ENTRY_INVALID /catalog: services[0].instances[3]',
      'MB_ENTRY_DUPLICATE_SERVICE /catalog: services[1]',
      'MB_ENTRY_INVALID /catalog: services[2].name',
      'MB_ENTRY_INVALID /catalog: services[3].instances',
      'MB_ENTRY_INVALID /catalog: services[4]',
      'MB_ENTRY_INVALID /catalog: services[5].instances[0].metadata.a',
      'MB_ENTRY_INVALID /catalog: services[5].instances[0].healthy',
    ],
  );
});

test('items that find no list refuse the whole document', () => {
  const r = mapCatalogue({ services: 'nope' }, opts({ items: '/services' }));
  assert.equal(r.value, undefined);
  assert.equal(r.problems[0]?.code, 'MB_SOURCE_PARSE');
});
