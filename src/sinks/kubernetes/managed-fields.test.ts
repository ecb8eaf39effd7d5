import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ownedPart } from './managed-fields.js';

const live = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'ServiceEntry',
  metadata: {
    name: 'a',
    namespace: 'ns',
    uid: 'u-1',
    resourceVersion: '42',
    generation: 3,
    creationTimestamp: '2024-01-01T00:00:00Z',
    labels: { mine: '1', theirs: '2' },
    annotations: { 'meshbridge.io/content-hash': 'h', 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
    managedFields: [
      {
        manager: 'meshbridge-x',
        operation: 'Apply',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:metadata': { 'f:labels': { 'f:mine': {} }, 'f:annotations': { 'f:meshbridge.io/content-hash': {} } }, 'f:spec': { 'f:hosts': {}, 'f:ports': { 'k:{"number":80}': { '.': {}, 'f:number': {} } } } },
      },
      { manager: 'kubectl', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': { 'f:theirs': {} } }, 'f:spec': { 'f:location': {} } } },
      { manager: 'meshbridge-x', operation: 'Update', subresource: 'status', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': {} } },
    ],
  },
  spec: { hosts: ['a.example'], ports: [{ number: 80, name: 'http' }], location: 'MESH_EXTERNAL' },
  status: { conditions: [] },
};

test('ownedPart keeps only what the managers own: no server metadata, status or other managers\u2019 fields', () => {
  assert.deepEqual(ownedPart(live, new Set(['meshbridge-x'])), {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name: 'a', namespace: 'ns', labels: { mine: '1' }, annotations: { 'meshbridge.io/content-hash': 'h' } },
    spec: { hosts: ['a.example'], ports: [{ number: 80, name: 'http' }] },
  });
});

test('ownedPart merges the sets of several managers', () => {
  const part = ownedPart(live, new Set(['meshbridge-x', 'kubectl']));
  assert.deepEqual((part?.['metadata'] as { labels: unknown }).labels, { mine: '1', theirs: '2' });
  assert.deepEqual(part?.['spec'], live.spec);
});

test('ownedPart is undefined for an object the managers never applied', () => {
  assert.equal(ownedPart(live, new Set(['someone-else'])), undefined);
  assert.equal(ownedPart({ metadata: { name: 'b' } }, new Set(['meshbridge-x'])), undefined);
});
