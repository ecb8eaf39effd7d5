import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../errors/index.js';
import { serviceFromParts, type EndpointPart } from './build-service.js';
import { parseCuratorInstance } from './curator-instance.js';

const part = (address: string, protocol: string, port: number, labels: Record<string, string> = {}, weight?: number): EndpointPart => ({
  address,
  protocol,
  port,
  labels,
  id: `${protocol}://${address}:${port}`,
  ...(weight !== undefined ? { weight } : {}),
});
const input = (parts: EndpointPart[]) => ({ registry: 'zk', kind: 'zookeeper', name: 'com.Foo', attributes: { interface: 'com.Foo' }, parts });

test('serviceFromParts: one port per protocol (lowest number), one endpoint per address and process', () => {
  const parts = [
    part('10.0.0.2', 'dubbo', 20881, { v: '2' }),
    part('10.0.0.1', 'tri', 50051),
    part('10.0.0.1', 'dubbo', 20880, { v: '1' }, 5),
    part('10.0.0.1', 'dubbo', 20882),
  ];
  const { value: service, problems } = serviceFromParts(input(parts));
  assert.deepEqual(problems, []);
  assert.deepEqual(service?.ports, [
    { number: 20880, name: 'tcp-dubbo', protocol: 'TCP' },
    { number: 50051, name: 'grpc-tri', protocol: 'GRPC' },
  ]);
  assert.deepEqual(
    service?.endpoints.map((e) => [e.address, e.ports, e.labels, e.weight]),
    [
      ['10.0.0.1', { 'tcp-dubbo': 20880, 'grpc-tri': 50051 }, { v: '1' }, 5],
      ['10.0.0.1', { 'tcp-dubbo': 20882 }, {}, undefined],
      ['10.0.0.2', { 'tcp-dubbo': 20881 }, { v: '2' }, undefined],
    ],
  );
  // deterministic: input order does not matter
  assert.deepEqual(serviceFromParts(input([...parts].reverse())).value, service);
});

test('serviceFromParts: two processes on one address are paired by registration order, not by port order', () => {
  const at = (protocol: string, port: number, order: number): EndpointPart => ({ ...part('::1', protocol, port), order });
  // process A registered first (dubbo 45055, tri 41551), B later (dubbo 46023, tri 38879)
  const { value: service } = serviceFromParts(input([at('dubbo', 45055, 100), at('tri', 41551, 101), at('dubbo', 46023, 200), at('tri', 38879, 202)]));
  assert.deepEqual(service?.endpoints.map((e) => e.ports), [
    { 'tcp-dubbo': 45055, 'grpc-tri': 41551 },
    { 'tcp-dubbo': 46023, 'grpc-tri': 38879 },
  ]);
});

test('serviceFromParts: a protocol whose port numbers are all taken is skipped with ENTRY_DUPLICATE_PORT; empty is no service', () => {
  const { value: service, problems } = serviceFromParts(input([part('10.0.0.1', 'dubbo', 8080), part('10.0.0.2', 'rest', 8080)]));
  assert.deepEqual(service?.ports.map((p) => p.name), ['tcp-dubbo']);
  assert.deepEqual(problems.map((p) => p.code), [ErrorCode.ENTRY_DUPLICATE_PORT]);
  assert.equal(serviceFromParts(input([])).value, undefined);
  // another of its numbers is free: used
  const r = serviceFromParts(input([part('10.0.0.1', 'dubbo', 8080), part('10.0.0.2', 'rest', 8080), part('10.0.0.3', 'rest', 8081)]));
  assert.deepEqual(r.value?.ports.map((p) => `${p.name}/${p.number}`), ['tcp-dubbo/8080', 'http-rest/8081']);
  assert.deepEqual(r.problems, []);
});

test('parseCuratorInstance: Dubbo application level and Spring Cloud Zookeeper JSON', () => {
  const dubbo = JSON.stringify({
    name: 'demo',
    id: '[::1]:20991',
    address: '[::1]',
    port: 20991,
    sslPort: null,
    payload: {
      '@class': 'org.apache.dubbo.registry.zookeeper.ZookeeperInstance',
      metadata: {
        'dubbo.endpoints': '[{"port":20991,"protocol":"dubbo"},{"port":50991,"protocol":"tri"}]',
        'dubbo.metadata.revision': 'abc',
        'dubbo.metadata-service.url-params': '{}',
        timestamp: '1',
        zone: 'z1',
      },
    },
    registrationTimeUTC: 1,
  });
  const r = parseCuratorInstance(dubbo, { defaultProtocol: 'dubbo' });
  assert.deepEqual(r, {
    type: 'ok',
    instance: { name: 'demo', id: '[::1]:20991', address: '::1', ports: [{ protocol: 'dubbo', port: 20991 }, { protocol: 'tri', port: 50991 }], labels: { zone: 'z1' } },
  });
  const spring = JSON.stringify({ name: 'orders', id: 'x', address: '10.0.0.1', port: 8080, sslPort: 8443, payload: { metadata: { instance_status: 'UP', weight: '3' } } });
  const s = parseCuratorInstance(spring, { defaultProtocol: 'http' });
  assert.deepEqual(s.type === 'ok' ? [s.instance.ports, s.instance.labels, s.instance.weight] : s, [
    [{ protocol: 'http', port: 8080 }, { protocol: 'https', port: 8443 }],
    {},
    3,
  ]);
  const cases: Array<[string, string, ErrorCode?]> = [
    ['{', 'invalid', ErrorCode.ENTRY_INVALID],
    ['[]', 'invalid', ErrorCode.ENTRY_INVALID],
    ['{"address":"10.0.0.1","port":1,"enabled":false}', 'disabled'],
    ['{"port":1}', 'invalid', ErrorCode.ENTRY_BAD_ADDRESS],
    ['{"address":"0.0.0.0","port":1}', 'invalid', ErrorCode.ENTRY_BAD_ADDRESS],
    ['{"address":"10.0.0.1"}', 'invalid', ErrorCode.ENTRY_BAD_PORT],
    ['{"address":"10.0.0.1","port":70000}', 'invalid', ErrorCode.ENTRY_BAD_PORT],
    ['{"address":"10.0.0.1","port":1,"payload":{"metadata":{"dubbo.endpoints":"[{\\"port\\":0,\\"protocol\\":\\"dubbo\\"}]"}}}', 'invalid', ErrorCode.ENTRY_BAD_PORT],
  ];
  for (const [text, type, code] of cases) {
    const p = parseCuratorInstance(text, { defaultProtocol: 'http' });
    assert.equal(p.type, type, text);
    if (p.type === 'invalid') assert.equal(p.code, code, text);
  }
});
