import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InstanceRecord } from './instance.js';
import { serviceFromInstances } from './services.js';

const O = { registry: 'r', defaultProtocol: 'TCP' } as const;

function rec(key: string, address: string, ports: InstanceRecord['ports'], attributes: Record<string, string> = {}): InstanceRecord {
  const instance = key.split('/').pop() ?? '';
  return { key, modRevision: 1, match: { service: 'svc', instance, namespace: 'ns', attributes }, address, ports, labels: {}, health: 'unknown' };
}

test('services: ports from every instance, smallest number, first stated protocol, default otherwise', () => {
  const { value: service, problems } = serviceFromInstances(
    [
      rec('/p/svc/b', '10.0.0.2', { http: { number: 8081, protocol: 'HTTP' }, admin: { number: 9000 } }),
      rec('/p/svc/a', '10.0.0.1', { http: { number: 8080, protocol: 'HTTP' } }),
      rec('/p/svc/c', '10.0.0.3', { admin: { number: 9001, protocol: 'HTTP2' } }),
    ],
    O,
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(service?.ports, [
    { number: 8080, name: 'http', protocol: 'HTTP' },
    { number: 9000, name: 'admin', protocol: 'HTTP2' },
  ]);
  assert.equal(service?.namespace, 'ns');
  assert.deepEqual(
    service?.endpoints.map((e) => [e.instanceId, e.address, e.ports]),
    [
      ['a', '10.0.0.1', { http: 8080 }],
      ['b', '10.0.0.2', { http: 8081, admin: 9000 }],
      ['c', '10.0.0.3', { admin: 9001 }],
    ],
  );
  assert.equal(service?.registryKind, 'etcd');
});

test('services: input order does not matter', () => {
  const rs = [rec('/p/svc/a', '10.0.0.1', { x: { number: 1 } }), rec('/p/svc/b', '10.0.0.2', { y: { number: 2 } })];
  assert.deepEqual(serviceFromInstances(rs, O), serviceFromInstances([...rs].reverse(), O));
});

test('services: two names on one service port number: the later is dropped', () => {
  const { value: service, problems } = serviceFromInstances([rec('/p/svc/a', '10.0.0.1', { http: { number: 80 } }), rec('/p/svc/b', '10.0.0.2', { web: { number: 80 } })], O);
  assert.deepEqual(problems.map((p) => `${p.code} ${p.path ?? ''}`), ['MB_ENTRY_DUPLICATE_PORT /p/svc/b']);
  assert.deepEqual(service?.ports.map((p) => p.name), ['http']);
  assert.deepEqual(service?.endpoints.map((e) => e.ports), [{ http: 80 }, {}]);
});

test('services: same address and ports twice: the later key is skipped', () => {
  const { value: service, problems } = serviceFromInstances([rec('/p/svc/a', '10.0.0.1', { http: { number: 80 } }), rec('/p/svc/b', '10.0.0.1', { http: { number: 80 } })], O);
  assert.deepEqual(problems.map((p) => `${p.code} ${p.path ?? ''}`), ['MB_ENTRY_INVALID /p/svc/b']);
  assert.equal(service?.endpoints.length, 1);
});

test('services: key attributes must agree with the first key', () => {
  const { value: service, problems } = serviceFromInstances(
    [rec('/p/g1/svc/a', '10.0.0.1', { http: { number: 80 } }, { group: 'g1' }), rec('/p/g2/svc/b', '10.0.0.2', { http: { number: 80 } }, { group: 'g2' })],
    O,
  );
  assert.deepEqual(problems.map((p) => `${p.code} ${p.path ?? ''}`), ['MB_ENTRY_INVALID /p/g2/svc/b']);
  assert.deepEqual(service?.attributes, { group: 'g1' });
  assert.equal(service?.endpoints.length, 1);
});

test('services: no instances: no service', () => {
  assert.equal(serviceFromInstances([], O).value, undefined);
});
