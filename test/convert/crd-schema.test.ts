/**
 * Every object conversion produces for the hostile fixtures and the bundled examples must be
 * accepted by Istio's real CRDs (`../shared/istio/crd-all.gen.yaml` beside the repository).
 *
 * ajv checks the v1 openAPIV3Schema (types, enums, maxItems, maxLength, required...). ajv cannot
 * evaluate CEL (`x-kubernetes-validations`) nor list-map keys, so the rules that matter for our
 * output are re-implemented below as explicit checks (`celChecks`), and the test fails when the
 * CRD carries a CEL rule this file does not know about (a new Istio release added one: decide
 * whether it matters and add it). Also checked, because istiod (not the CRD) rejects them:
 * STATIC resolution with non-IP addresses, endpoint port names that are not service ports,
 * invalid label syntax, non-DNS-1123 object names, hosts that are not DNS names.
 */
import { test } from 'node:test';
import { celChecks, crdSkip, KNOWN_CEL_RULES, loadSchemas, repoRoot, schemaValidators, walk, type Json } from '../../test-support/crd-validator.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { convert, defaultHostTemplate, EndpointForm, hostFor, toManifest, type ConversionOptions, type IstioManifest } from '../../src/convert/index.js';
import { inputOf, bigService, baseOptions, fixtures, type Fixture } from '../../src/convert/testing/fixtures.js';
import { runFixture } from '../../src/convert/testing/golden.js';
import { validateDocument } from '../../src/registry/file/index.js';
import type { Service } from '../../src/model/index.js';
import type { IstioResource } from '../../src/snapshot/index.js';
import { AddressMode, claimOf, withAddresses } from '../../src/convert/addresses.js';
import { AddressIndex } from '../../src/core/address-index.js';
import { VipPool } from '../../src/core/vip-pool.js';
import { DEFAULT_VIP_CIDR } from '../../src/core/pipeline.js';

/** Everything the fixtures and examples convert to, by case name. */
function corpus(): Map<string, IstioResource[]> {
  const out = new Map<string, IstioResource[]>();
  const add = (name: string, rs: readonly IstioResource[]): void => {
    out.set(name, [...(out.get(name) ?? []), ...rs]);
  };
  const runBoth = (f: Fixture): void => {
    for (const form of [EndpointForm.INLINE, EndpointForm.WORKLOAD_ENTRY]) {
      for (const r of runFixture({ ...f, options: { ...f.options, form } })) add(`${f.name}/${form}`, r.output?.resources ?? []);
    }
  };
  for (const f of fixtures) runBoth(f);
  add('5000-endpoints', convert(inputOf(bigService(5000), 'big.local'), baseOptions).resources);
  add('300-ports', convert(inputOf(bigService(3, 300), 'ports.local'), baseOptions).resources);
  // Listener addresses: 5,000 providers of which 700 also serve a second service and 3 a third
  // (own addresses beyond 256 chunked, shared entries, a VIP for the service left without an IP).
  const ix = new AddressIndex(new VipPool(DEFAULT_VIP_CIDR));
  const hosts = (
    [
      ['big.local', bigService(5000)],
      ['also.local', bigService(700, 1, 'also')],
      ['three.local', bigService(3, 1, 'three')],
    ] as const
  ).map(([host, svc]) => [host, convert(inputOf(svc, host), baseOptions).resources] as const);
  for (const [host, resources] of hosts) ix.update(host, claimOf(host, resources), AddressMode.PROVIDERS);
  ix.settle();
  assert.ok(ix.sharedResources().length >= 3 && ix.addressesOf('three.local').length === 1);
  add('listener-addresses', [...hosts.flatMap(([host, resources]) => withAddresses(resources, ix.addressesOf(host))), ...ix.sharedResources()]);
  for (const file of ['examples/services.yaml', 'examples/hostile.yaml']) {
    const doc: unknown = parse(readFileSync(`${repoRoot}${file}`, 'utf8'));
    const res = validateDocument(doc, { registry: 'demo', file, defaultProtocol: 'TCP' });
    assert.equal(res.type, 'ok', file);
    const services: readonly Service[] = res.type === 'ok' ? res.services : [];
    assert.ok(services.length > 0, file);
    const options: ConversionOptions = { ...baseOptions, hostTemplate: defaultHostTemplate('file') };
    runBoth({ name: file, description: file, options, services });
  }
  return out;
}

const skip = crdSkip();

test('every CEL rule of the v1 ServiceEntry/WorkloadEntry CRDs is known to this test', { skip }, () => {
  const schemas = loadSchemas();
  assert.deepEqual([...schemas.keys()].sort(), ['ServiceEntry', 'WorkloadEntry']);
  const rules = new Set<string>();
  for (const s of schemas.values()) walk(s, rules, new Set());
  const unknown = [...rules].filter((r) => !Object.hasOwn(KNOWN_CEL_RULES, r));
  assert.deepEqual(unknown, [], 'new CEL rules in the CRD: add checks for them to celChecks');
});

test('converted objects validate against the real Istio CRD schemas and CEL rules', { skip }, () => {
  const { ajv, validators } = schemaValidators();
  let objects = 0;
  const kinds = new Set<string>();
  for (const [name, resources] of corpus()) {
    const manifests = resources.map(toManifest);
    for (const m of manifests) {
      objects++;
      kinds.add(m.kind);
      const validate = validators.get(m.kind)!;
      const ok = validate(m);
      assert.ok(ok, `${name}: ${m.kind} ${m.metadata.name}: ${ajv.errorsText(validate.errors)}`);
      assert.deepEqual(celChecks(m, manifests), [], `${name}: ${m.kind} ${m.metadata.name}`);
    }
  }
  assert.ok(objects > 5000, `only ${objects} objects checked`);
  assert.deepEqual([...kinds].sort(), ['ServiceEntry', 'WorkloadEntry']);
});

test('the checks catch what the CRD rejects (the validator is not vacuous)', { skip }, () => {
  const schemas = loadSchemas();
  const ajv = new Ajv({ strict: false });
  const keywords = new Set<string>();
  for (const s of schemas.values()) walk(s, new Set(), keywords);
  for (const k of keywords) ajv.addKeyword(k);
  const validate = ajv.compile(schemas.get('ServiceEntry')!);
  const good = toManifest(convert(inputOf(bigService(2), 'svc.local'), baseOptions).resources[0]!);
  assert.ok(validate(good));
  const bad = (spec: Json): IstioManifest => ({ ...good, spec: { ...good.spec, ...spec } });
  assert.ok(!validate(bad({ location: 'SOMEWHERE' })));
  assert.ok(!validate(bad({ ports: [{ number: 80 }] })), 'port name is required');
  assert.ok(!validate(bad({ endpoints: Array.from({ length: 4097 }, () => ({ address: '10.0.0.1' })) })));
  assert.match(celChecks(bad({ workloadSelector: { labels: { a: 'b' } } }), [good]).join(), /only one of/);
  assert.match(celChecks(bad({ endpoints: [{ address: 'a.example' }] }), [good]).join(), /STATIC resolution with non-IP/);
  assert.match(celChecks(bad({ endpoints: [{ address: '10.0.0.1', ports: { under_score: 1 } }] }), [good]).join(), /port name must be valid/);
  assert.match(celChecks(bad({ endpoints: [{ address: '10.0.0.1', labels: { 'a b': 'c' } }] }), [good]).join(), /label key/);
  assert.match(celChecks({ ...good, metadata: { ...good.metadata, name: 'Upper' } }, [good]).join(), /DNS-1123/);
  assert.match(celChecks(bad({ ports: [{ number: 80, name: 'a' }, { number: 80, name: 'b' }] }), [good]).join(), /duplicated/);
  // hostFor keeps hosts valid, so the host check is exercised directly.
  assert.throws(() => hostFor({ registry: 'r', registryKind: 'file', name: '*', attributes: {}, ports: [], endpoints: [] }, { hostTemplate: '{name}' }));
});
