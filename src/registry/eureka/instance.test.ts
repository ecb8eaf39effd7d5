import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostFrom, mapInstance, serviceNamesOf, fingerprint } from './instance.js';
import { parseApplications, type JsonObject, type WireInstance } from './wire.js';

const DC = { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' };

function wire(raw: JsonObject): WireInstance {
  const apps = parseApplications({ applications: { apps__hashcode: 'UP_1_', application: [{ name: 'MY-APP', instance: raw }] } }, 'test');
  const inst = apps.instances[0];
  assert.ok(inst);
  return inst;
}

const base = {
  instanceId: 'i1',
  app: 'MY-APP',
  hostName: 'h1',
  ipAddr: '10.0.0.1',
  status: 'UP',
  port: { $: 8080, '@enabled': 'true' },
  securePort: { $: 443, '@enabled': 'false' },
  dataCenterInfo: DC,
  metadata: { '@class': 'java.util.Collections$EmptyMap' },
  vipAddress: 'my-app',
};

test('instance mapping: addresses, ports, labels, weight, locality', () => {
  const cases: Array<[string, JsonObject, unknown]> = [
    ['plain', {}, { address: '10.0.0.1', ports: { http: 8080 }, labels: {} }],
    ['secure port too', { securePort: { $: 8443, '@enabled': 'true' } }, { address: '10.0.0.1', ports: { http: 8080, https: 8443 }, labels: {} }],
    ['secure only, string numbers', { port: { $: '8080', '@enabled': false }, securePort: { $: '8443', '@enabled': true } }, { address: '10.0.0.1', ports: { https: 8443 }, labels: {} }],
    ['bare port number', { port: 9090, securePort: 9443 }, { address: '10.0.0.1', ports: { http: 9090 }, labels: {} }],
    ['IPv6 and DNS', { ipAddr: '[fd00::1]' }, { address: 'fd00::1', ports: { http: 8080 }, labels: {} }],
    ['DNS name', { ipAddr: 'node-1.example.com' }, { address: 'node-1.example.com', ports: { http: 8080 }, labels: {} }],
    [
      'metadata -> labels, weight, zone',
      { metadata: { zone: 'z1', weight: '7', version: 'v2', n: 3 } },
      { address: '10.0.0.1', ports: { http: 8080 }, labels: { zone: 'z1', weight: '7', version: 'v2', n: '3' }, weight: 7, locality: { zone: 'z1' } },
    ],
    ['bad weight ignored', { metadata: { weight: 'heavy' } }, { address: '10.0.0.1', ports: { http: 8080 }, labels: { weight: 'heavy' } }],
    [
      'Amazon availability zone',
      { dataCenterInfo: { '@class': 'com.netflix.appinfo.AmazonInfo', name: 'Amazon', metadata: { 'availability-zone': 'us-east-1c', 'instance-id': 'i-123' } } },
      { address: '10.0.0.1', ports: { http: 8080 }, labels: {}, locality: { region: 'us-east-1', zone: 'us-east-1c' } },
    ],
    [
      'metadata zone and region win',
      { metadata: { zone: 'a', region: 'r' }, dataCenterInfo: { name: 'Amazon', metadata: { 'availability-zone': 'us-east-1c' } } },
      { address: '10.0.0.1', ports: { http: 8080 }, labels: { zone: 'a', region: 'r' }, locality: { region: 'r', zone: 'a' } },
    ],
  ];
  for (const [name, patch, want] of cases) assert.deepEqual(mapInstance(wire({ ...base, ...patch }), 'eureka t'), { value: want, problems: [] }, name);
});

test('instance mapping: malformed instances are skipped with codes', () => {
  const cases: Array<[string, JsonObject, string]> = [
    ['no ipAddr', { ipAddr: undefined }, 'MB_ENTRY_BAD_ADDRESS'],
    ['empty ipAddr', { ipAddr: ' ' }, 'MB_ENTRY_BAD_ADDRESS'],
    ['garbage ipAddr', { ipAddr: 'not an ip!' }, 'MB_ENTRY_BAD_ADDRESS'],
    ['zone id', { ipAddr: 'fe80::1%eth0' }, 'MB_ENTRY_BAD_ADDRESS'],
    ['bad IPv4', { ipAddr: '10.0.0.256' }, 'MB_ENTRY_BAD_ADDRESS'],
    ['port 70000', { port: { $: 70000, '@enabled': 'true' } }, 'MB_ENTRY_BAD_PORT'],
    ['port 0', { port: { $: 0, '@enabled': 'true' } }, 'MB_ENTRY_BAD_PORT'],
    ['port text', { port: { $: 'http', '@enabled': 'true' } }, 'MB_ENTRY_BAD_PORT'],
    ['bad secure port', { securePort: { $: -1, '@enabled': 'true' } }, 'MB_ENTRY_BAD_PORT'],
    ['no port enabled', { port: { $: 80, '@enabled': 'false' } }, 'MB_ENTRY_INVALID'],
  ];
  for (const [name, patch, code] of cases) {
    const m = mapInstance(wire({ ...base, ...patch }), 'eureka t');
    assert.equal(m.value, undefined, name);
    assert.deepEqual(m.problems.map((p) => p.code), [code], name);
    assert.match(m.problems[0]?.message ?? '', /^eureka t: MY-APP\/i1: /, name);
  }
  // A disabled bad port is not a problem.
  assert.equal(mapInstance(wire({ ...base, securePort: { $: 0, '@enabled': 'false' } }), 't').problems.length, 0);
});

test('service names: app lower-cased, or each vipAddress', () => {
  assert.deepEqual(serviceNamesOf(wire(base), HostFrom.APP), ['my-app']);
  assert.deepEqual(serviceNamesOf(wire({ ...base, vipAddress: 'Orders, orders-v2,,' }), HostFrom.VIP_ADDRESS), ['orders', 'orders-v2']);
  assert.deepEqual(serviceNamesOf(wire({ ...base, vipAddress: undefined }), HostFrom.VIP_ADDRESS), ['my-app']);
});

test('fingerprint ignores lease renewals and timestamps', () => {
  const a = wire({ ...base, leaseInfo: { lastRenewalTimestamp: 1 }, lastUpdatedTimestamp: '1' });
  const b = wire({ ...base, leaseInfo: { lastRenewalTimestamp: 2 }, lastUpdatedTimestamp: '2', actionType: 'MODIFIED' });
  assert.equal(fingerprint(a), fingerprint(b));
  assert.notEqual(fingerprint(a), fingerprint(wire({ ...base, status: 'DOWN' })));
});

test('wire: ids, statuses, action types, lone objects', () => {
  const apps = parseApplications(
    {
      applications: {
        versions__delta: 4,
        apps__hashcode: 'DOWN_1_UNKNOWN_1_UP_1_',
        application: {
          name: 'a',
          instance: [
            { instanceId: 'x', app: 'a', status: 'up', actionType: 'ADDED' },
            { hostName: 'h', status: 'DOWN', actionType: 'weird' },
            { dataCenterInfo: { name: 'Amazon', metadata: { 'instance-id': 'i-9' } }, status: 'SLEEPY' },
            {},
          ],
        },
      },
    },
    't',
  );
  assert.equal(apps.hashCode, 'DOWN_1_UNKNOWN_1_UP_1_');
  assert.equal(apps.versionDelta, '4');
  assert.deepEqual(
    apps.instances.map((i) => [i.id, i.app, i.status, i.actionType]),
    [
      ['x', 'A', 'UP', 'ADDED'],
      ['h', 'A', 'DOWN', undefined],
      ['i-9', 'A', 'UNKNOWN', undefined],
      ['@anonymous-0@A', 'A', 'UNKNOWN', undefined],
    ],
  );
  assert.equal(parseApplications({ applications: { apps__hashcode: '' } }, 't').instances.length, 0);
  assert.throws(() => parseApplications({ application: {} }, 'where'), { code: 'MB_SOURCE_PARSE' });
  assert.throws(() => parseApplications('<applications/>', 'where'), { code: 'MB_SOURCE_PARSE' });
});
