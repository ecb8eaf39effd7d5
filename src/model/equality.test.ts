import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalEndpoint, canonicalService, endpointsEqual, servicesEqual } from './equality.js';
import { Health, type Endpoint, type Service } from './service.js';

function ep(address: string, extra: Partial<Endpoint> = {}): Endpoint {
  return { address, ports: { http: 8080 }, labels: { app: 'a', version: 'v1' }, health: Health.HEALTHY, origin: 'reg', ...extra };
}

function svc(endpoints: Endpoint[], extra: Partial<Service> = {}): Service {
  return {
    registry: 'reg',
    registryKind: 'file',
    name: 'orders',
    attributes: { group: 'g' },
    ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }],
    endpoints,
    ...extra,
  };
}

test('servicesEqual agrees with the canonical text, shortcut or not', () => {
  const base = svc([ep('10.0.0.1'), ep('10.0.0.2', { locality: { region: 'r', zone: 'z' }, weight: 3 })]);
  const variants: Service[] = [
    svc([ep('10.0.0.1'), ep('10.0.0.2', { locality: { region: 'r', zone: 'z' }, weight: 3 })]), // equal, same order
    svc([ep('10.0.0.2', { locality: { region: 'r', zone: 'z' }, weight: 3 }), ep('10.0.0.1')]), // equal, reordered
    svc([ep('10.0.0.1', { labels: { version: 'v1', app: 'a' } }), ep('10.0.0.2', { locality: { region: 'r', zone: 'z' }, weight: 3 })]), // keys reordered
    svc([ep('10.0.0.1'), ep('10.0.0.2', { locality: { region: 'r/z' }, weight: 3 })]), // separator collision: same text
    svc([ep('10.0.0.1'), ep('10.0.0.3', { locality: { region: 'r', zone: 'z' }, weight: 3 })]), // different address
    svc([ep('10.0.0.1'), ep('10.0.0.2', { locality: { region: 'r', zone: 'z' }, weight: 4 })]), // different weight
    svc([ep('10.0.0.1', { labels: { app: 'a' } }), ep('10.0.0.2', { locality: { region: 'r', zone: 'z' }, weight: 3 })]), // label gone
    svc([ep('10.0.0.1'), ep('10.0.0.2', { locality: { region: 'r', zone: 'z' }, weight: 3 })], { attributes: { group: 'h' } }),
    svc([ep('10.0.0.1'), ep('10.0.0.2', { locality: { region: 'r', zone: 'z' }, weight: 3 })], { ports: [{ number: 8080, name: 'http', protocol: 'GRPC' }] }),
  ];
  for (const v of variants) {
    assert.equal(servicesEqual(base, v), canonicalService(base) === canonicalService(v));
    assert.equal(servicesEqual(v, base), canonicalService(base) === canonicalService(v));
  }
  assert.equal(servicesEqual(base, variants[0] as Service), true);
  assert.equal(servicesEqual(base, variants[1] as Service), true);
  assert.equal(servicesEqual(base, variants[4] as Service), false);
});

test('endpointsEqual agrees with the canonical text', () => {
  const a = ep('10.0.0.1', { locality: { region: 'r' } });
  for (const b of [ep('10.0.0.1', { locality: { region: 'r' } }), ep('10.0.0.1'), ep('10.0.0.1', { locality: { region: 'r', zone: '' } }), ep('10.0.0.1', { ports: { http: 8081 } })]) {
    assert.equal(endpointsEqual(a, b), canonicalEndpoint(a) === canonicalEndpoint(b));
  }
});
