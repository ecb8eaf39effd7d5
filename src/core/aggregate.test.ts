import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeByHost } from './aggregate.js';
import { svc } from '../registry/testing/fake-registry.js';

const hostByName = (s: { name: string }): string => `${s.name}.mesh`;

test('merge policy: one input per host with endpoints of every registry and their origins', () => {
  const a = svc('a', 'reviews', ['10.0.0.1']);
  const b = svc('b', 'reviews', ['10.0.0.2', '10.0.0.1']);
  const r = mergeByHost(
    [
      { registry: 'a', services: [a] },
      { registry: 'b', services: [b] },
    ],
    hostByName,
    'merge',
  );
  assert.equal(r.inputs.length, 1);
  const input = r.inputs[0]!;
  assert.equal(input.primary, a);
  assert.deepEqual(input.origins, ['a', 'b']);
  assert.deepEqual(
    input.endpoints.map((e) => `${e.origin}:${e.address}`),
    ['a:10.0.0.1', 'b:10.0.0.2', 'b:10.0.0.1'],
  );
  assert.equal(r.conflicts.length, 0);
});

test('precedence policy: only the first registry publishes; the conflict is reported', () => {
  const a = svc('a', 'reviews', ['10.0.0.1']);
  const b = svc('b', 'reviews', ['10.0.0.2']);
  const c = svc('b', 'ratings', ['10.0.0.3']);
  const r = mergeByHost(
    [
      { registry: 'b', services: [b, c] },
      { registry: 'a', services: [a] },
    ],
    hostByName,
    'precedence',
  );
  assert.deepEqual(r.inputs.map((i) => i.host), ['ratings.mesh', 'reviews.mesh']);
  assert.equal(r.inputs[1]!.primary, b);
  assert.deepEqual(r.conflicts, [{ host: 'reviews.mesh', winner: 'b', hidden: ['a'] }]);
});

test('ports merge by number; a later port reusing a taken name is skipped', () => {
  const a = svc('a', 's', ['10.0.0.1'], { ports: [{ number: 80, name: 'http', protocol: 'HTTP' }] });
  const b = svc('b', 's', ['10.0.0.2'], {
    ports: [
      { number: 80, name: 'web', protocol: 'TCP' },
      { number: 81, name: 'http', protocol: 'HTTP' },
      { number: 9000, name: 'grpc', protocol: 'GRPC' },
    ],
  });
  const r = mergeByHost([{ registry: 'a', services: [a] }, { registry: 'b', services: [b] }], hostByName, 'merge');
  assert.deepEqual(r.inputs[0]!.ports.map((p) => `${p.number}/${p.name}/${p.protocol}`), ['80/http/HTTP', '9000/grpc/GRPC']);
});

test('a service whose host cannot be computed is left out, others stay', () => {
  const a = svc('a', 'bad', ['10.0.0.1']);
  const b = svc('a', 'good', ['10.0.0.2']);
  const r = mergeByHost([{ registry: 'a', services: [a, b] }], (s) => (s.name === 'bad' ? undefined : `${s.name}.x`), 'merge');
  assert.deepEqual(r.inputs.map((i) => i.host), ['good.x']);
});

test('result order does not depend on arrival order', () => {
  const s1 = svc('a', 'x', ['1.1.1.1']);
  const s2 = svc('a', 'y', ['1.1.1.2']);
  const one = mergeByHost([{ registry: 'a', services: [s1, s2] }], hostByName, 'merge');
  const two = mergeByHost([{ registry: 'a', services: [s2, s1] }], hostByName, 'merge');
  assert.deepEqual(one.inputs.map((i) => i.host), two.inputs.map((i) => i.host));
});

test('services of one registry that map to the same host are merged and reported as a collision', () => {
  const a = svc('a', 'Foo_Bar', ['10.0.0.1']);
  const b = svc('a', 'foo-bar', ['10.0.0.2']);
  const c = svc('b', 'foo-bar', ['10.0.0.3']);
  const r = mergeByHost(
    [
      { registry: 'a', services: [a, b] },
      { registry: 'b', services: [c] },
    ],
    (s) => s.name.toLowerCase().replace('_', '-'),
    'merge',
  );
  assert.equal(r.inputs.length, 1);
  assert.equal(r.inputs[0]!.endpoints.length, 3);
  assert.equal(r.collisions.length, 1, 'across registries is a merge, not a collision');
  assert.equal(r.collisions[0]!.registry, 'a');
  assert.equal(r.collisions[0]!.services.length, 2);
});
