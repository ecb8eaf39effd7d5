import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseInstance } from './instance.js';

const KEY = '/mb/reviews/i-1';
const match = { service: 'reviews', instance: 'i-1', attributes: {} };

function parse(value: string | Uint8Array) {
  const r = parseInstance({ registry: 'r', key: KEY, modRevision: 7, match, value: typeof value === 'string' ? Buffer.from(value) : value });
  return { record: r.value, problems: r.problems.map((p) => `${p.code} ${p.path ?? ''}`) };
}

test('instance: a full value maps onto the record', () => {
  const { record, problems } = parse(
    JSON.stringify({
      address: '[2001:db8::1]',
      ports: { http: 8080, 'grpc-api': 9090, web: { number: 9200, protocol: 'grpc' }, db: { number: 5432 } },
      labels: { version: 'v1', build: 42, canary: false },
      weight: 10,
      locality: 'r1/z1/s1',
      network: 'n1',
      healthy: true,
    }),
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(record, {
    key: KEY,
    modRevision: 7,
    match,
    address: '2001:db8::1',
    ports: {
      http: { number: 8080, protocol: 'HTTP' },
      'grpc-api': { number: 9090, protocol: 'GRPC' },
      web: { number: 9200, protocol: 'GRPC' },
      db: { number: 5432 },
    },
    labels: { version: 'v1', build: '42', canary: 'false' },
    weight: 10,
    locality: { region: 'r1', zone: 'z1', subzone: 's1' },
    network: 'n1',
    health: 'healthy',
  });
});

test('instance: health defaults to unknown; locality as a mapping; health text', () => {
  const a = parse('{"address": "a.example", "ports": {"tcp": 1}}');
  assert.equal(a.record?.health, 'unknown');
  const b = parse('{"address": "10.0.0.1", "ports": {"x": 1}, "locality": {"zone": "z"}, "health": "UNHEALTHY"}');
  assert.deepEqual(b.record?.locality, { zone: 'z' });
  assert.equal(b.record?.health, 'unhealthy');
  assert.deepEqual(b.problems, []);
});

interface Case {
  readonly name: string;
  readonly value: string | Uint8Array;
  readonly problems: readonly string[];
  readonly kept: boolean;
}

const ok = (extra: string) => `{"address": "10.0.0.1", "ports": {"http": 80}${extra}}`;

const cases: readonly Case[] = [
  { name: 'not JSON', value: '{"address": ', problems: [`MB_ENTRY_INVALID ${KEY}`], kept: false },
  { name: 'empty value', value: '', problems: [`MB_ENTRY_INVALID ${KEY}`], kept: false },
  { name: 'not UTF-8', value: new Uint8Array([0xff, 0xfe, 0x7b]), problems: [`MB_ENTRY_INVALID ${KEY}`], kept: false },
  { name: 'JSON array', value: '[1]', problems: [`MB_ENTRY_INVALID ${KEY}`], kept: false },
  { name: 'JSON string', value: '"10.0.0.1"', problems: [`MB_ENTRY_INVALID ${KEY}`], kept: false },
  { name: 'no address', value: '{"ports": {"http": 80}}', problems: [`MB_ENTRY_INVALID ${KEY}: address`], kept: false },
  { name: 'bad IPv4', value: '{"address": "10.0.0.256", "ports": {"http": 80}}', problems: [`MB_ENTRY_BAD_ADDRESS ${KEY}: address`], kept: false },
  { name: 'IPv6 zone', value: '{"address": "fe80::1%eth0", "ports": {"http": 80}}', problems: [`MB_ENTRY_BAD_ADDRESS ${KEY}: address`], kept: false },
  { name: 'address a number', value: '{"address": 10, "ports": {"http": 80}}', problems: [`MB_ENTRY_BAD_ADDRESS ${KEY}: address`], kept: false },
  { name: 'no ports', value: '{"address": "10.0.0.1"}', problems: [`MB_ENTRY_INVALID ${KEY}: ports`], kept: false },
  { name: 'empty ports', value: '{"address": "10.0.0.1", "ports": {}}', problems: [`MB_ENTRY_INVALID ${KEY}: ports`], kept: false },
  { name: 'ports a list', value: '{"address": "10.0.0.1", "ports": [80]}', problems: [`MB_ENTRY_INVALID ${KEY}: ports`], kept: false },
  { name: 'port out of range', value: '{"address": "10.0.0.1", "ports": {"http": 65536}}', problems: [`MB_ENTRY_BAD_PORT ${KEY}: ports.http`], kept: false },
  { name: 'port a string', value: '{"address": "10.0.0.1", "ports": {"http": "80"}}', problems: [`MB_ENTRY_BAD_PORT ${KEY}: ports.http`], kept: false },
  { name: 'port object bad number', value: '{"address": "10.0.0.1", "ports": {"h": {"number": 0}}}', problems: [`MB_ENTRY_BAD_PORT ${KEY}: ports.h.number`], kept: false },
  { name: 'unknown protocol', value: '{"address": "10.0.0.1", "ports": {"h": {"number": 1, "protocol": "SOAP"}}}', problems: [`MB_ENTRY_INVALID ${KEY}: ports.h.protocol`], kept: false },
  { name: 'unknown port key', value: '{"address": "10.0.0.1", "ports": {"h": {"number": 1, "proto": "HTTP"}}}', problems: [`MB_ENTRY_INVALID ${KEY}: ports.h.proto`], kept: false },
  // a bad weight or locality is ignored: the instance stays in the mesh
  { name: 'negative weight', value: ok(', "weight": -1'), problems: [`MB_ENTRY_INVALID ${KEY}: weight`], kept: true },
  { name: 'locality 4 parts', value: ok(', "locality": "a/b/c/d"'), problems: [`MB_ENTRY_INVALID ${KEY}: locality`], kept: true },
  { name: 'healthy a string', value: ok(', "healthy": "yes"'), problems: [`MB_ENTRY_INVALID ${KEY}: healthy`], kept: false },
  { name: 'contradicting health', value: ok(', "healthy": true, "health": "unhealthy"'), problems: [`MB_ENTRY_INVALID ${KEY}: health`], kept: false },
  { name: 'empty network', value: ok(', "network": ""'), problems: [`MB_ENTRY_INVALID ${KEY}: network`], kept: false },
  { name: 'labels a list', value: ok(', "labels": ["a"]'), problems: [`MB_ENTRY_INVALID ${KEY}: labels`], kept: false },
  // field-level: reported, the instance is kept
  { name: 'label value an object', value: ok(', "labels": {"a.b/c": {"x": 1}, "ok": "v"}'), problems: [`MB_ENTRY_INVALID ${KEY}: labels["a.b/c"]`], kept: true },
  { name: 'unknown key', value: ok(', "wieght": 3'), problems: [`MB_ENTRY_INVALID ${KEY}: wieght`], kept: true },
  { name: 'byte order mark', value: `\uFEFF${ok('')}`, problems: [], kept: true },
];

for (const c of cases) {
  test(`instance: ${c.name}`, () => {
    const { record, problems } = parse(c.value);
    assert.deepEqual(problems, c.problems);
    assert.equal(record !== undefined, c.kept);
  });
}
