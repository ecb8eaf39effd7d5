import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, MeshbridgeError } from '../errors/index.js';
import type { Service } from '../model/index.js';
import { hostFor, isDnsSubdomain, isValidHost, labelValueFor, isLabelValue, objectName, renderTemplate } from './names.js';
import { defaultHostTemplate } from './options.js';
import { sanitizeLabels } from './labels.js';

function s(name: string, extra: Partial<Service> = {}): Service {
  return { registry: 'reg', registryKind: 'file', name, attributes: {}, ports: [], endpoints: [], ...extra };
}

test('template placeholders: name, namespace, registry, kind and attributes', () => {
  const svc = s('Orders', { namespace: 'Shop', attributes: { group: 'G1', version: '1.0' } });
  assert.equal(hostFor(svc, { hostTemplate: '{name}.{group}.{version}.{namespace}.{kind}.{registry}.svc' }), 'orders.g1.1.0.shop.file.reg.svc');
});

test('a missing placeholder removes itself and one adjacent dot', () => {
  const cases: Array<[string, string]> = [
    ['{name}.{group}.{registry}.local', 'a.reg.local'],
    ['{group}.{name}.local', 'a.local'],
    ['{name}.local.{group}', 'a.local'],
    ['{name}-{group}.local', 'a-local'],
  ];
  for (const [tpl, want] of cases) assert.equal(renderTemplate(tpl, s('a'), (v) => v), want, tpl);
  assert.equal(hostFor(s('a'), { hostTemplate: '{name}.{unknown}.x' }), 'a.x');
});

test('hostFor sanitises safely: lowercase, _ and other ASCII -> -, IDNA for unicode', () => {
  const t = { hostTemplate: '{name}.mesh' };
  assert.equal(hostFor(s('Foo_Bar'), t), 'foo-bar.mesh');
  assert.equal(hostFor(s('com.foo.Bar:1.0.0'), t), 'com.foo.bar-1.0.0.mesh');
  assert.equal(hostFor(s('_internal_'), t), 'internal.mesh');
  assert.equal(hostFor(s('bücher'), t), 'xn--bcher-kva.mesh');
});

test('hostFor throws MB_NAME_INVALID for what cannot be a host', () => {
  const bad = ['x'.repeat(64), 'a'.repeat(250) + '.b', 'a..b', '10.0.0.1', '::1', '', '1.2.3'];
  for (const name of bad) {
    assert.throws(
      () => hostFor(s(name), { hostTemplate: '{name}' }),
      (e: unknown) => e instanceof MeshbridgeError && e.code === ErrorCode.NAME_INVALID,
      JSON.stringify(name),
    );
  }
  // The literal text of the template is checked too.
  assert.throws(() => hostFor(s('a'), { hostTemplate: '{name}.my_mesh' }), /not a valid DNS host/);
});

test('isValidHost: labels <= 63, total <= 253, lowercase, not an IP', () => {
  assert.ok(isValidHost('a.b'));
  assert.ok(isValidHost(`${'a'.repeat(63)}.b`));
  assert.ok(!isValidHost(`${'a'.repeat(64)}.b`));
  assert.ok(!isValidHost('A.b'));
  assert.ok(!isValidHost('1.2.3.4'));
  assert.ok(!isValidHost('a.123'));
  assert.ok(isValidHost(Array.from({ length: 4 }, () => 'a'.repeat(61)).join('.') + '.bc'));
  assert.ok(!isValidHost(Array.from({ length: 4 }, () => 'a'.repeat(62)).join('.') + '.bc'));
});

test('objectName keeps valid names, sanitises and shortens others with a hash suffix', () => {
  assert.equal(objectName('reviews.shop.local'), 'reviews.shop.local');
  const n = objectName('Reviews_Shop');
  assert.match(n, /^reviews-shop-[0-9a-f]{10}$/);
  assert.notEqual(objectName('Reviews_Shop'), objectName('reviews-shop'));
  const long = objectName(`${'a'.repeat(60)}.`.repeat(6) + 'x');
  assert.ok(long.length <= 253 && isDnsSubdomain(long), long);
  assert.ok(objectName('x'.repeat(40), 20).length <= 20);
});

test('two names that truncate to the same prefix get distinct names', () => {
  const prefix = `${'p'.repeat(60)}.`.repeat(4);
  const a = objectName(`${prefix}service-a`);
  const b = objectName(`${prefix}service-b`);
  assert.notEqual(a, b);
  assert.ok(a.length <= 253 && b.length <= 253);
  assert.ok(isDnsSubdomain(a) && isDnsSubdomain(b));
  assert.equal(a, objectName(`${prefix}service-a`), 'stable');
  const la = labelValueFor(`${'v'.repeat(70)}a`);
  const lb = labelValueFor(`${'v'.repeat(70)}b`);
  assert.notEqual(la, lb);
  assert.ok(isLabelValue(la) && isLabelValue(lb));
});

test('sanitising can make two services of one registry share a host (the pipeline reports it)', () => {
  const opts = { hostTemplate: '{name}.mesh' };
  assert.equal(hostFor(s('Foo_Bar'), opts), hostFor(s('foo-bar'), opts));
  assert.notEqual(hostFor(s('other'), opts), hostFor(s('foo-bar'), opts));
});

test('default host templates per registry kind render valid hosts', () => {
  const cases: Array<[Service, string]> = [
    [s('reviews', { registryKind: 'file', namespace: 'shop' }), 'reviews.shop.reg.local'],
    [s('org.apache.dubbo.demo.DemoService', { registryKind: 'zookeeper' }), 'org.apache.dubbo.demo.demoservice'],
    [s('1.0.0.g1.org.apache.dubbo.demo.DemoService', { registryKind: 'zookeeper' }), '1.0.0.g1.org.apache.dubbo.demo.demoservice'],
    [s('demo-provider', { registryKind: 'zookeeper' }), 'demo-provider'],
    [s('web', { registryKind: 'consul', attributes: { datacenter: 'dc1' } }), 'web.service.dc1.consul'],
    [s('order_service', { registryKind: 'nacos', namespace: 'public', attributes: { group: 'DEFAULT_GROUP' } }), 'order-service.default-group.public.nacos'],
    [s('MY-APP', { registryKind: 'eureka' }), 'my-app.eureka'],
    [s('payments', { registryKind: 'etcd' }), 'payments.reg.etcd'],
    [s('x', { registryKind: 'custom' }), 'x.reg.local'],
  ];
  for (const [svc, want] of cases) assert.equal(hostFor(svc, { hostTemplate: defaultHostTemplate(svc.registryKind) }), want);
});

test('sanitizeLabels keeps valid labels unchanged and counts what it drops', () => {
  const r = sanitizeLabels({ app: 'a', 'x.io/y': '', 'Bad Key': 'v', ok: 'bad value', 'meshbridge.io/x': 'y', ['__proto__']: 'p' });
  assert.deepEqual(r.labels, { app: 'a', 'x.io/y': '' });
  assert.equal(r.dropped, 4);
  const many = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${String(i).padStart(3, '0')}`, 'v']));
  const m = sanitizeLabels(many);
  assert.equal(Object.keys(m.labels).length, 256);
  assert.equal(m.dropped, 44);
  assert.equal(Object.getPrototypeOf(r.labels), Object.prototype);
});

test('sanitizeLabels returns sorted, valid labels as they are (no copy) and copies anything else in sorted order', () => {
  const sorted = { app: 'a', version: 'v1', zone: 'z' };
  assert.equal(sanitizeLabels(sorted).labels, sorted, 'kept whole and already sorted: the same object');
  const unsorted = { version: 'v1', app: 'a' };
  const r = sanitizeLabels(unsorted);
  assert.notEqual(r.labels, unsorted);
  assert.deepEqual(Object.keys(r.labels), ['app', 'version']);
  const withBad = { app: 'a', 'bad key': 'x' };
  const b = sanitizeLabels(withBad);
  assert.notEqual(b.labels, withBad);
  assert.deepEqual(b.labels, { app: 'a' });
  assert.equal(b.dropped, 1);
  const many = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`k${i}`, 'v']));
  assert.deepEqual(Object.keys(sanitizeLabels(many, 3).labels), ['k0', 'k1', 'k2'], 'over max: cut, so a copy');
});
