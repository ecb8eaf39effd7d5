import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kindOfTypeUrl, parseTypeUrl } from './type-url.js';

test('group + kind match, any version', () => {
  const cases: [string, string | undefined][] = [
    ['networking.istio.io/v1alpha3/ServiceEntry', 'ServiceEntry'],
    ['networking.istio.io/v1beta1/ServiceEntry', 'ServiceEntry'],
    ['networking.istio.io/v1/ServiceEntry', 'ServiceEntry'],
    ['networking.istio.io/v1/WorkloadEntry', 'WorkloadEntry'],
    ['networking.istio.io/v1/Sidecar', 'Sidecar'],
    ['networking.istio.io/v1alpha3/Sidecar', 'Sidecar'],
    ['networking.istio.io/v1/WorkloadGroup', undefined],
    ['networking.istio.io/v1/DestinationRule', undefined],
    ['core/v1alpha1/MeshConfig', undefined],
    ['other.io/v1/ServiceEntry', undefined],
    ['type.googleapis.com/envoy.config.cluster.v3.Cluster', undefined],
    ['', undefined],
  ];
  for (const [url, kind] of cases) assert.equal(kindOfTypeUrl(url), kind, url);
});

test('parseTypeUrl needs exactly three non-empty parts', () => {
  assert.deepEqual(parseTypeUrl('a/b/C'), { group: 'a', version: 'b', kind: 'C' });
  assert.equal(parseTypeUrl('a//C'), undefined);
  assert.equal(parseTypeUrl('a/b/c/d'), undefined);
});
