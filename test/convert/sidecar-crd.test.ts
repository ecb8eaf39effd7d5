/**
 * Sidecars from convertSidecars must be accepted by Istio's real Sidecar CRD (v1 openAPIV3Schema
 * by ajv; its one CEL rule that can touch our output, "no wildcard in selector labels", checked
 * explicitly). The Kubernetes route's end-to-end test (test/istiod/sidecar-scoping-kubernetes)
 * has the real API server apply them too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { crdPath, crdSkip, isObj, walk, type Json } from '../../test-support/crd-validator.js';
import { toManifest } from '../../src/convert/index.js';
import { defaultSidecarOptions } from '../../src/convert/options.js';
import { convertSidecars, type ConsumedHost } from '../../src/convert/sidecars.js';

const skip = crdSkip();

function sidecarSchema(): Json {
  for (const doc of parseAllDocuments(readFileSync(crdPath, 'utf8'))) {
    const crd: unknown = doc.toJS();
    if (!isObj(crd) || !isObj(crd['spec']) || !isObj(crd['spec']['names']) || crd['spec']['names']['kind'] !== 'Sidecar') continue;
    for (const v of (crd['spec']['versions'] as unknown[]) ?? []) {
      if (isObj(v) && v['name'] === 'v1' && isObj(v['schema']) && isObj(v['schema']['openAPIV3Schema'])) return v['schema']['openAPIV3Schema'];
    }
  }
  throw new Error(`no v1 Sidecar CRD in ${crdPath}`);
}

test('every Sidecar conversion makes fits the real Sidecar CRD', { skip }, () => {
  const schema = sidecarSchema();
  const rules = new Set<string>();
  const keywords = new Set<string>();
  walk(schema, rules, keywords);
  assert.ok(rules.has('!self.contains("*")'), 'the selector wildcard rule is still there');
  const ajv = new Ajv({ strict: false, allErrors: true });
  for (const k of keywords) ajv.addKeyword(k);
  const validate = ajv.compile(schema);
  const apps = ['web', 'Shop_Web.v2', 'a'.repeat(56), 'x.y-z', '0start'];
  const hosts: ConsumedHost[] = Array.from({ length: 300 }, (_, i) => ({
    host: `${i % 3 === 0 ? '1.0.0.g1.' : ''}com.example.service${i}`,
    namespace: i % 2 === 0 ? 'dubbo' : 'other',
    consumers: apps.filter((_, j) => (i + j) % 2 === 0).map((application) => ({ registry: 'zk', application })),
  }));
  const out = convertSidecars(hosts, [
    { name: 'zk', sidecars: { ...defaultSidecarOptions, namespace: 'shop', workloadLabels: { app: '{application}', 'app.kubernetes.io/part-of': 'dubbo' }, alwaysInclude: ['istio-system/*', './*'] }, extraLabels: { team: 'payments' } },
  ]);
  assert.equal(out.resources.length, apps.length);
  for (const r of out.resources) {
    const m = toManifest(r);
    assert.ok(validate(m), `${r.key}: ${ajv.errorsText(validate.errors)}`);
    assert.match(m.metadata.name, /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    assert.ok(m.metadata.name.length <= 253);
    const labels = (m.spec['workloadSelector'] as { labels: Record<string, string> }).labels;
    for (const v of Object.values(labels)) assert.ok(!v.includes('*') && v.length <= 63, v);
  }
});
