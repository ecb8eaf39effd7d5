import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { resource, serviceEntry, snapshotOf, workloadEntry } from './fixtures.js';
import { renderYaml } from './yaml.js';
import { toManifest } from '../../snapshot/index.js';
import { convert } from '../../convert/convert.js';
import { baseOptions, ep, inputOf, port, service } from '../../convert/testing/fixtures.js';

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: { endpoints: { labels: Record<string, string> }[]; ports: { number: number }[] };
}

const se = serviceEntry;
const we = workloadEntry;
const res = resource;

test('renderYaml: one complete Kubernetes object per document, ordered by kind, namespace, name', () => {
  const snap = snapshotOf([we('b', 'w1'), se('b', 'zeta'), se('a', 'zeta'), se('b', 'alpha'), we('a', 'w2')]);
  const text = renderYaml(snap);
  assert.ok(text.startsWith('---\n'));
  const docs = parseAllDocuments(text);
  assert.ok(Array.isArray(docs));
  const objs = docs.map((d) => {
    assert.deepEqual(d.errors, []);
    return d.toJS() as Obj;
  });
  assert.deepEqual(
    objs.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`),
    ['ServiceEntry/a/zeta', 'ServiceEntry/b/alpha', 'ServiceEntry/b/zeta', 'WorkloadEntry/a/w2', 'WorkloadEntry/b/w1'],
  );
  for (const o of objs) {
    assert.equal(o.apiVersion, 'networking.istio.io/v1');
    assert.deepEqual(Object.keys(o), ['apiVersion', 'kind', 'metadata', 'spec']);
    assert.deepEqual(Object.keys(o.metadata), ['name', 'namespace', 'labels', 'annotations']);
    assert.equal(o.metadata.labels['app.kubernetes.io/managed-by'], 'meshbridge');
    assert.match(o.metadata.annotations['meshbridge.io/content-hash'] ?? '', /^[0-9a-f]{16}$/);
  }
  // Round trip: the parsed objects are exactly the resources' Kubernetes form.
  const first = snap.kinds.get('ServiceEntry')?.resources.get('ServiceEntry/a/zeta');
  assert.ok(first);
  assert.deepEqual(objs[0], toManifest(first));
  assert.ok(objs[0]);
  // Strings that look like other YAML types stay strings.
  assert.equal(objs[0].spec.endpoints[0]!.labels.version, '1.0');
  assert.equal(objs[0].spec.endpoints[0]!.labels.canary, 'true');
  assert.equal(objs[0].spec.ports[0]!.number, 8080);
});

test('renderYaml: stable text, no anchors, long strings not folded; empty snapshot renders empty', () => {
  const shared = { app: 'x' };
  const long = 'h'.repeat(200);
  const a = res('ServiceEntry', 'ns', 'a', { hosts: [long], endpoints: [{ address: '1.1.1.1', labels: shared }, { address: '1.1.1.2', labels: shared }] });
  const text1 = renderYaml(snapshotOf([a, se('ns', 'b')]));
  const text2 = renderYaml(snapshotOf([se('ns', 'b'), a]));
  assert.equal(text1, text2);
  assert.doesNotMatch(text1, /[&*]a\d/);
  assert.ok(text1.includes(`- ${long}\n`));
  assert.equal(renderYaml(snapshotOf([])), '');
});

test('labels and annotations are rendered with sorted keys', () => {
  const r = res('ServiceEntry', 'ns', 'a', { hosts: ['a'] }, { zz: '1', aa: '2' });
  const o = toManifest(r);
  assert.deepEqual(Object.keys(o.metadata.labels), ['aa', 'app.kubernetes.io/managed-by', 'meshbridge.io/registry', 'zz']);
});

test('renderYaml: a Kubernetes Service is a v1 object; an EndpointSlice has its fields at the top level', () => {
  const out = convert(inputOf(service('cart', [port(8080, 'api', 'HTTP')], [ep('10.0.0.1')]), 'cart.local'), { ...baseOptions, publish: { serviceEntries: false, kubernetesServices: true } });
  const objs = parseAllDocuments(renderYaml(snapshotOf([...out.resources]))).map((d) => d.toJS() as Record<string, unknown>);
  assert.deepEqual(objs.map((o) => [o['apiVersion'], o['kind']]), [
    ['discovery.k8s.io/v1', 'EndpointSlice'],
    ['v1', 'Service'],
  ]);
  assert.deepEqual(Object.keys(objs[0] ?? {}), ['apiVersion', 'kind', 'metadata', 'addressType', 'endpoints', 'ports']);
  assert.deepEqual(Object.keys(objs[1] ?? {}), ['apiVersion', 'kind', 'metadata', 'spec']);
});
