import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ErrorCode } from '../errors/index.js';
import { Health } from '../model/index.js';
import { ContentHashAnnotation, OwnershipLabel } from '../snapshot/index.js';
import { hashOf } from '../util/hash.js';
import { convert, formFor, formOf, MAX_INLINE_ENDPOINTS, SELECTOR_LABEL } from './convert.js';
import { isDnsSubdomain } from './names.js';
import { EndpointForm } from './options.js';
import { baseOptions, bigService, ep, fixtures, inputOf, port, service } from './testing/fixtures.js';
import { goldenText, runFixture } from './testing/golden.js';

/** Repository root: this file runs as dist/src/convert/convert.test.js, three levels below it. */
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const goldenDir = `${repoRoot}src/convert/testdata`;

/** Compares with the golden file, or rewrites it when UPDATE_GOLDEN=1. */
function assertGolden(name: string, actual: string): void {
  const path = `${goldenDir}/${name}.yaml`;
  if (process.env['UPDATE_GOLDEN'] === '1') {
    mkdirSync(goldenDir, { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  assert.ok(existsSync(path), `golden file ${path} is missing: run with UPDATE_GOLDEN=1`);
  assert.equal(actual, readFileSync(path, 'utf8'), `${name}: output differs from ${path} (UPDATE_GOLDEN=1 rewrites it)`);
}

test('the repository root is found from dist', () => {
  assert.ok(existsSync(`${repoRoot}package.json`), repoRoot);
  assert.ok(existsSync(`${repoRoot}src/convert/options.ts`), repoRoot);
});

for (const f of fixtures) {
  test(`golden: ${f.name} (${f.description})`, () => {
    const results = runFixture(f);
    assertGolden(f.name, goldenText(f, results));
    // Running it again gives the same bytes: conversion is deterministic.
    assert.equal(goldenText(f, runFixture(f)), goldenText(f, results));
  });
}

test('input order of endpoints, ports and label keys does not change the output', () => {
  const a = service('svc', [port(80, 'http', 'HTTP'), port(81, 'grpc', 'GRPC')], [
    ep('10.0.0.1', { labels: { a: '1', b: '2' } }),
    ep('10.0.0.2', { labels: { b: '2', a: '1' } }),
  ]);
  const b = service('svc', [port(81, 'grpc', 'GRPC'), port(80, 'http', 'HTTP')], [
    ep('10.0.0.2', { labels: { a: '1', b: '2' } }),
    ep('10.0.0.1', { labels: { b: '2', a: '1' } }),
  ]);
  const ra = convert(inputOf(a, 'svc.local'), baseOptions);
  const rb = convert(inputOf(b, 'svc.local'), baseOptions);
  assert.deepEqual(ra, rb);
});

test('version is stable across runs and changes when content changes', () => {
  const s = service('svc', [port(80, 'http', 'HTTP')], [ep('10.0.0.1'), ep('10.0.0.2')]);
  const v1 = convert(inputOf(s, 'svc.local'), baseOptions).resources[0]!;
  const again = convert(inputOf(structuredClone(s), 'svc.local'), baseOptions).resources[0]!;
  assert.equal(again.version, v1.version);
  assert.equal(v1.annotations[ContentHashAnnotation], v1.version);
  // The version is the hash of labels + annotations (without the hash) + spec.
  const rest = Object.fromEntries(Object.entries(v1.annotations).filter(([k]) => k !== ContentHashAnnotation));
  assert.equal(v1.version, hashOf({ labels: v1.labels, annotations: rest, spec: v1.spec }));

  const changes = [
    service('svc', [port(80, 'http', 'HTTP')], [ep('10.0.0.1'), ep('10.0.0.3')]),
    service('svc', [port(80, 'http', 'HTTP')], [ep('10.0.0.1', { weight: 2 }), ep('10.0.0.2')]),
    service('svc', [port(80, 'http', 'GRPC')], [ep('10.0.0.1'), ep('10.0.0.2')]),
    service('svc', [port(80, 'http', 'HTTP')], [ep('10.0.0.1', { labels: { v: '2' } }), ep('10.0.0.2')]),
  ];
  for (const c of changes) assert.notEqual(convert(inputOf(c, 'svc.local'), baseOptions).resources[0]!.version, v1.version);
  assert.notEqual(convert(inputOf(s, 'svc.local'), { ...baseOptions, extraLabels: { x: 'y' } }).resources[0]!.version, v1.version);
  // An endpoint that is left out (unhealthy) does not change the published content.
  const withSick = service('svc', [port(80, 'http', 'HTTP')], [ep('10.0.0.1'), ep('10.0.0.2'), ep('10.0.0.9', { health: Health.UNHEALTHY })]);
  assert.equal(convert(inputOf(withSick, 'svc.local'), baseOptions).resources[0]!.version, v1.version);
});

test('WorkloadEntry names are stable and unique per endpoint', () => {
  const opts = { ...baseOptions, form: EndpointForm.WORKLOAD_ENTRY };
  const s = service('svc', [port(80, 'http', 'HTTP')], [ep('10.0.0.1'), ep('10.0.0.1', { ports: { http: 8080 } }), ep('10.0.0.2')]);
  const names = convert(inputOf(s, 'svc.local'), opts).resources.slice(1).map((r) => r.name);
  assert.equal(names.length, 3);
  assert.equal(new Set(names).size, 3);
  // The same endpoint keeps its name when its neighbours change.
  const other = service('svc', [port(80, 'http', 'HTTP')], [ep('10.0.0.2'), ep('10.0.0.7', { weight: 3 })]);
  const names2 = convert(inputOf(other, 'svc.local'), opts).resources.slice(1).map((r) => r.name);
  assert.ok(names2.includes(names.find((n) => n.includes('10-0-0-2'))!));
});

test('5,000 endpoints switch to WorkloadEntry form (CRD inline limit 4,096)', () => {
  const s = bigService(5000);
  const out = convert(inputOf(s, 'big.local'), baseOptions);
  const [se, ...wes] = out.resources;
  assert.equal(se!.kind, 'ServiceEntry');
  assert.equal(se!.spec['endpoints'], undefined);
  assert.deepEqual(se!.spec['workloadSelector'], { labels: { [SELECTOR_LABEL]: 'big.local' } });
  assert.equal(wes.length, 5000);
  assert.ok(wes.every((w) => w.kind === 'WorkloadEntry' && w.namespace === 'meshbridge'));
  assert.equal(new Set(wes.map((w) => w.name)).size, 5000);
  assert.ok(wes.every((w) => isDnsSubdomain(w.name)));
  assert.ok(wes.every((w) => (w.spec['labels'] as Record<string, string>)[SELECTOR_LABEL] === 'big.local'));
  assert.deepEqual(out.problems, []);
  // Exactly at the limit stays inline.
  const atLimit = convert(inputOf(bigService(MAX_INLINE_ENDPOINTS), 'big.local'), baseOptions);
  assert.equal(atLimit.resources.length, 1);
  assert.equal((atLimit.resources[0]!.spec['endpoints'] as unknown[]).length, MAX_INLINE_ENDPOINTS);
});

// Issue 10 case 8: a service hovering around the limit must not switch form on every change.
test('form hysteresis: WorkloadEntry form above the limit, back to inline only at 90% or below', () => {
  const W = EndpointForm.WORKLOAD_ENTRY;
  const I = EndpointForm.INLINE;
  const rows: Array<[number, EndpointForm | undefined, EndpointForm]> = [
    [4096, undefined, I],
    [4097, undefined, W],
    [4097, I, W],
    [4096, W, W], // hovering at the limit: stays
    [3687, W, W],
    [3686, W, I], // floor(4096 x 0.9)
    [3686, I, I],
    [4000, I, I],
  ];
  for (const [n, prev, want] of rows) assert.equal(formFor(n, I, prev), want, `${n} endpoints after ${prev ?? 'nothing'}`);
  assert.equal(formFor(1, W, I), W, 'form: workloadEntry in the config always wins');
  // Through convert, with a small limit: the previous form is an input, output stays pure.
  const small = { ...baseOptions, maxInlineEndpoints: 10 };
  const svc10 = inputOf(bigService(10), 'big.local');
  assert.equal(formOf(convert(svc10, small).resources), I);
  assert.equal(formOf(convert(inputOf(bigService(11), 'big.local'), small).resources), W);
  assert.equal(formOf(convert({ ...svc10, previousForm: W }, small).resources), W);
  assert.equal(convert({ ...svc10, previousForm: W }, small).resources.length, 11, 'ServiceEntry plus 10 WorkloadEntries');
  assert.equal(formOf(convert({ ...inputOf(bigService(9), 'big.local'), previousForm: W }, small).resources), I);
  assert.deepEqual(convert({ ...svc10, previousForm: W }, small), convert({ ...svc10, previousForm: W }, small));
  // The limit option never raises the CRD's.
  assert.equal(formOf(convert(inputOf(bigService(MAX_INLINE_ENDPOINTS + 1), 'big.local'), { ...baseOptions, maxInlineEndpoints: 10_000 }).resources), W);
});

test('more than 256 ports: the excess is dropped with MB_LIMIT_EXCEEDED', () => {
  const out = convert(inputOf(bigService(2, 300), 'big.local'), baseOptions);
  const ports = out.resources[0]!.spec['ports'] as Array<{ number: number; name: string }>;
  assert.equal(ports.length, 256);
  assert.equal(ports[255]!.number, 10255);
  assert.equal(new Set(ports.map((p) => p.name)).size, 256);
  const limit = out.problems.filter((p) => p.code === ErrorCode.LIMIT_EXCEEDED);
  assert.equal(limit.length, 1);
  assert.match(limit[0]!.message, /300 ports.*44\) dropped/);
});

test('ownership labels win over extraLabels and are on every object', () => {
  const opts = {
    ...baseOptions,
    form: EndpointForm.WORKLOAD_ENTRY,
    extraLabels: { [OwnershipLabel.MANAGED_BY]: 'someone-else', [OwnershipLabel.REGISTRY]: 'x', team: 'a' },
  };
  const out = convert(inputOf(service('svc', [port(80, 'http')], [ep('10.0.0.1')]), 'svc.local'), opts);
  for (const r of out.resources) {
    assert.equal(r.labels[OwnershipLabel.MANAGED_BY], 'meshbridge');
    assert.equal(r.labels[OwnershipLabel.REGISTRY], 'demo');
    assert.equal(r.labels['team'], 'a');
  }
});

test('merged inputs: duplicate endpoints from several registries are published once; origins annotated', () => {
  const s = service('svc', [port(80, 'http')], [ep('10.0.0.1')]);
  const input = {
    host: 'svc.local',
    primary: s,
    ports: s.ports,
    endpoints: [ep('10.0.0.1'), ep('10.0.0.1', { origin: 'other' }), ep('10.0.0.2', { origin: 'other' })],
    origins: ['demo', 'other'],
  };
  const se = convert(input, baseOptions).resources[0]!;
  assert.equal((se.spec['endpoints'] as unknown[]).length, 2);
  assert.equal(se.annotations['meshbridge.io/origins'], 'demo,other');
});

test('an invalid host given to convert publishes nothing and reports MB_NAME_INVALID', () => {
  const out = convert(inputOf(service('svc', [port(80, 'http')], []), 'Not_A_Host'), baseOptions);
  assert.deepEqual(out.resources, []);
  assert.equal(out.problems[0]?.code, ErrorCode.NAME_INVALID);
});

test('a service without endpoints is published with its ports and no endpoints field', () => {
  const out = convert(inputOf(service('svc', [port(80, 'http')], []), 'svc.local'), baseOptions);
  assert.equal(out.resources.length, 1);
  assert.equal(out.resources[0]!.spec['endpoints'], undefined);
  assert.equal(out.resources[0]!.spec['resolution'], 'STATIC');
});

test('namespaceMap routes a service by its registry namespace; unmapped ones go to the default namespace', () => {
  const options = { ...baseOptions, namespaceMap: { prod: 'shop-prod' }, form: EndpointForm.WORKLOAD_ENTRY };
  const mapped = convert(inputOf(service('a', [port(80, 'http', 'HTTP')], [ep('10.0.0.1')], { namespace: 'prod' }), 'a.prod.local'), options);
  assert.deepEqual([...new Set(mapped.resources.map((r) => r.namespace))], ['shop-prod'], 'ServiceEntry and its WorkloadEntries stay together');
  const unmapped = convert(inputOf(service('b', [port(80, 'http', 'HTTP')], [ep('10.0.0.2')], { namespace: 'dev' }), 'b.dev.local'), options);
  assert.deepEqual([...new Set(unmapped.resources.map((r) => r.namespace))], ['meshbridge']);
  const none = convert(inputOf(service('c', [port(80, 'http', 'HTTP')], [ep('10.0.0.3')]), 'c.local'), options);
  assert.equal(none.resources[0]!.namespace, 'meshbridge');
});
