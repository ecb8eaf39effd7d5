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

test('servicesEqual agrees with the canonical text on random pairs (shuffled, repeated addresses, small edits)', () => {
  let x = 3;
  const next = (n: number): number => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return (x >>> 12) % n;
  };
  const pick = <T>(xs: readonly T[]): T => xs[next(xs.length)] as T;
  const endpoint = (): Endpoint =>
    ep(pick(['10.0.0.1', '10.0.0.2', '10.0.0.3']), {
      labels: pick([{ app: 'a', version: 'v1' }, { version: 'v1', app: 'a' }, { app: 'a' }]),
      ...(next(3) === 0 ? { weight: pick([1, 2]) } : {}),
      ...(next(3) === 0 ? { locality: pick([{ region: 'r' }, { region: 'r', zone: 'z' }, { region: 'r/z' }]) } : {}),
      ...(next(4) === 0 ? { ports: { http: 8081 } } : {}),
    });
  const shuffled = <T>(xs: readonly T[]): T[] => {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = next(i + 1);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  };
  let equal = 0;
  let paired = 0;
  for (let i = 0; i < 3000; i++) {
    const eps = Array.from({ length: 1 + next(3) }, endpoint);
    const a = svc(eps);
    const b = next(2) === 0 ? svc(shuffled(eps)) : svc(shuffled(eps.map((e) => (next(4) === 0 ? endpoint() : { ...e, labels: { ...e.labels } }))));
    const want = canonicalService(a) === canonicalService(b);
    assert.equal(servicesEqual(a, b), want, JSON.stringify({ a, b }));
    assert.equal(servicesEqual(b, a), want);
    if (want) equal += 1;
    if (new Set(eps.map((e) => e.address)).size === eps.length) paired += 1;
  }
  assert.ok(equal > 500 && equal < 2500, `a mix of equal and different pairs: ${equal}`);
  assert.ok(paired > 500, `many pairs take the pairing path: ${paired}`);
});

test('canonical text: a field cannot pass for a separator', () => {
  const a = svc([ep('10.0.0.1', { locality: { region: 'r/z' } })]);
  const b = svc([ep('10.0.0.1', { locality: { region: 'r', zone: 'z' } })]);
  assert.notEqual(canonicalService(a), canonicalService(b));
  assert.equal(servicesEqual(a, b), false);
});

test('consumers: part of equality (absent, empty list and names all differ); agrees with the canonical text', () => {
  const base = [ep('10.0.0.1'), ep('10.0.0.2')];
  const cases: Array<readonly string[] | undefined> = [undefined, [], ['web'], ['cart', 'web'], ['web', 'x']];
  for (const a of cases) {
    for (const b of cases) {
      const sa = svc(base, a === undefined ? {} : { consumers: a });
      // b in another endpoint order: the slow path decides too.
      const sb = svc([...base].reverse(), b === undefined ? {} : { consumers: [...b] });
      const same = JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
      assert.equal(servicesEqual(sa, sb), same, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
      assert.equal(servicesEqual(sa, svc(base, b === undefined ? {} : { consumers: [...b] })), same);
      assert.equal(canonicalService(sa) === canonicalService(sb), same);
    }
  }
});
