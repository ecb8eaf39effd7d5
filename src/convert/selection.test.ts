import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Health, type Endpoint, type Service } from '../model/index.js';
import { compilePattern, compileSelection, patternProblem, type SelectionRules } from './selection.js';

function ep(address: string, labels: Record<string, string> = {}): Endpoint {
  return { address, ports: {}, labels, health: Health.HEALTHY, origin: 'r' };
}

function svc(name: string, extra: Partial<Service> = {}): Service {
  return { registry: 'r', registryKind: 'file', name, attributes: {}, ports: [], endpoints: [ep('10.0.0.1')], ...extra };
}

test('globs match the whole value; * any run, ? one character, the rest literal', () => {
  const g = compilePattern('com.example.*');
  assert.ok(g('com.example.Foo'));
  assert.ok(g('com.example.'));
  assert.ok(!g('com.exampleXFoo'), '. is literal');
  assert.ok(!g('xcom.example.Foo'), 'anchored at the start');
  const q = compilePattern('svc-?');
  assert.ok(q('svc-a') && !q('svc-ab') && !q('svc-'));
  const lit = compilePattern('a+b(c)');
  assert.ok(lit('a+b(c)') && !lit('aab(c)'), 'regex characters in a glob are literal');
  assert.ok(compilePattern('*')(''), '* matches the empty value');
});

test('/regex/ patterns match the whole value; /.../i ignores case', () => {
  const r = compilePattern('/org\\.(foo|bar)\\..+/');
  assert.ok(r('org.foo.Service'));
  assert.ok(!r('xorg.foo.Service'), 'anchored though written without ^');
  assert.ok(!r('org.baz.Service'));
  assert.ok(compilePattern('/ORDER.*/i')('order-service'));
  assert.ok(!compilePattern('/ORDER.*/')('order-service'));
});

test('patternProblem names a broken regular expression and accepts any glob', () => {
  assert.match(patternProblem('/([a/') ?? '', /invalid regular expression \/\(\[a\/: /);
  assert.equal(patternProblem('/^ok$/'), undefined);
  assert.equal(patternProblem('([a'), undefined, 'a glob: the brackets are literal');
});

test('include and exclude by service name: exclude wins, the rule that excluded is named', () => {
  const sel = compileSelection({ services: { include: ['com.shop.*'], exclude: ['*.Internal*'] } });
  const kept = svc('com.shop.Cart');
  assert.deepEqual(sel.apply(kept), { kept, excludedEndpoints: 0 });
  assert.deepEqual(sel.apply(svc('com.shop.InternalAudit')), { excluded: 'services.exclude "*.Internal*"', endpoints: 1 });
  assert.deepEqual(sel.apply(svc('org.other.Thing')), { excluded: 'services.include (no pattern matches)', endpoints: 1 });
});

test('namespaces and attributes: an absent value is matched as the empty string', () => {
  const sel = compileSelection({ namespaces: { exclude: ['dev'] }, attributes: { group: { include: ['prod', 'canary'] }, datacenter: { exclude: ['dc9'] } } });
  assert.ok('kept' in sel.apply(svc('a', { namespace: 'public', attributes: { group: 'prod' } })));
  assert.equal((sel.apply(svc('a', { namespace: 'dev', attributes: { group: 'prod' } })) as { excluded: string }).excluded, 'namespaces.exclude "dev"');
  assert.equal((sel.apply(svc('a', { attributes: {} })) as { excluded: string }).excluded, 'attributes.group.include (no pattern matches)', 'no group: "" is not included');
  assert.ok('kept' in sel.apply(svc('a', { attributes: { group: 'canary' } })), 'no namespace and no datacenter: "" is not excluded');
  assert.ok('excluded' in sel.apply(svc('a', { attributes: { group: 'prod', datacenter: 'dc9' } })));
  // An include of "" (or *) keeps services without the value.
  assert.ok('kept' in compileSelection({ namespaces: { include: [''] } }).apply(svc('a')));
});

test('endpoint metadata, scope endpoints: only matching endpoints are kept; all kept gives the same object', () => {
  const rules: SelectionRules = { endpoints: { metadata: { env: { include: ['prod'] }, zone: { exclude: ['z9'] } }, scope: 'endpoints' } };
  const sel = compileSelection(rules);
  const s = svc('a', { endpoints: [ep('10.0.0.1', { env: 'prod' }), ep('10.0.0.2', { env: 'test' }), ep('10.0.0.3', { env: 'prod', zone: 'z9' }), ep('10.0.0.4')] });
  const o = sel.apply(s);
  assert.ok('kept' in o);
  assert.deepEqual(o.kept.endpoints.map((e) => e.address), ['10.0.0.1']);
  assert.equal(o.excludedEndpoints, 3);
  assert.equal(o.kept.name, 'a');
  const allProd = svc('b', { endpoints: [ep('10.0.0.1', { env: 'prod' })] });
  const same = sel.apply(allProd);
  assert.ok('kept' in same && same.kept === allProd, 'nothing dropped: the same service object');
  const none = sel.apply(svc('c', { endpoints: [ep('10.0.0.9', { env: 'dev' })] }));
  assert.ok('kept' in none && none.kept.endpoints.length === 0, 'the service stays, without endpoints');
});

test('endpoint metadata, scope services: a service with one matching endpoint is kept whole, others excluded', () => {
  const sel = compileSelection({ endpoints: { metadata: { mesh: { include: ['true'] } }, scope: 'services' } });
  const s = svc('a', { endpoints: [ep('10.0.0.1', { mesh: 'true' }), ep('10.0.0.2')] });
  assert.deepEqual(sel.apply(s), { kept: s, excludedEndpoints: 0 });
  assert.deepEqual(sel.apply(svc('b', { endpoints: [ep('10.0.0.2'), ep('10.0.0.3')] })), { excluded: 'endpoints.metadata (no endpoint matches)', endpoints: 2 });
});

test('rules are compiled once per rules object; no rules or empty lists select everything', () => {
  const rules: SelectionRules = { services: { include: ['a*'] } };
  assert.equal(compileSelection(rules), compileSelection(rules));
  assert.equal(compileSelection(undefined).everything, true);
  assert.equal(compileSelection({ services: { include: [], exclude: [] }, attributes: {} }).everything, true);
  assert.equal(compileSelection(rules).everything, false);
});

test('rules over 100,000 services keep exactly the matching ones (timing: bench/selection.ts)', () => {
  const sel = compileSelection({
    services: { include: ['com.shop.*', '/org\\.(a|b)\\..*/'], exclude: ['*Internal*'] },
    attributes: { group: { include: ['prod'] } },
    endpoints: { metadata: { env: { exclude: ['test'] } }, scope: 'endpoints' },
  });
  const services = Array.from({ length: 100_000 }, (_, i) =>
    svc(i % 3 === 0 ? `com.shop.S${i}` : `org.a.S${i}`, { attributes: { group: i % 5 === 0 ? 'dev' : 'prod' }, endpoints: [ep('10.0.0.1', { env: 'prod' }), ep('10.0.0.2', { env: i % 2 === 0 ? 'test' : 'prod' })] }),
  );
  let kept = 0;
  for (const s of services) if ('kept' in sel.apply(s)) kept++;
  assert.equal(kept, 80_000);
});
