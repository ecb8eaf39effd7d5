import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Health, servicesEqual, type Endpoint, type Service } from '../../model/index.js';
import { shareEndpointRecords } from './endpoint-records.js';

const ep = (address: string, labels: Record<string, string>, ports: Record<string, number>): Endpoint => ({ address, ports, labels, health: Health.HEALTHY, origin: 'r' });
const svc = (endpoints: Endpoint[]): Service => ({ registry: 'r', registryKind: 'file', name: 's', namespace: 'ns', attributes: {}, ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], endpoints });

test('shareEndpointRecords: equal labels and ports become one object each; the service stays deep-equal', () => {
  const s = svc([
    ep('10.0.0.1', { app: 'a', version: 'v1' }, { http: 80 }),
    ep('10.0.0.2', { app: 'a', version: 'v1' }, { http: 80 }),
    ep('10.0.0.3', { app: 'a', version: 'v2' }, { http: 8080 }),
    ep('10.0.0.4', { app: 'a', version: 'v2' }, { http: 80 }),
  ]);
  const out = shareEndpointRecords(s);
  assert.deepEqual(out, s);
  assert.ok(servicesEqual(out, s));
  const [a, b, c, d] = out.endpoints as [Endpoint, Endpoint, Endpoint, Endpoint];
  assert.equal(a, s.endpoints[0], 'the first endpoint is kept as it is');
  assert.equal(b.labels, a.labels);
  assert.equal(b.ports, a.ports);
  assert.equal(c, s.endpoints[2], 'nothing of it equals an earlier one: the same object');
  assert.equal(d.labels, c.labels);
  assert.equal(d.ports, a.ports);
});

test('shareEndpointRecords: key order is part of equality; a service with nothing to share is returned as it is', () => {
  const s = svc([ep('10.0.0.1', { a: '1', b: '2' }, { http: 80 }), ep('10.0.0.2', { b: '2', a: '1' }, { http: 81 })]);
  assert.equal(shareEndpointRecords(s), s);
  const one = svc([ep('10.0.0.1', {}, { http: 80 })]);
  assert.equal(shareEndpointRecords(one), one);
});
