import { test } from 'node:test';
import assert from 'node:assert/strict';
import { convert } from '../convert/convert.js';
import type { ConversionOptions } from '../convert/options.js';
import { baseOptions, ep, inputOf, port, service } from '../convert/testing/fixtures.js';
import { dropServiceClashes } from './service-clashes.js';

const options: ConversionOptions = { ...baseOptions, publish: { serviceEntries: true, kubernetesServices: true } };

test('two hosts wanting one Service: the first source keeps it with its slices, the other keeps only its ServiceEntry', () => {
  const a = service('Foo_Bar', [port(80, 'http', 'HTTP')], [ep('10.0.0.1')]);
  const b = service('foo-bar', [port(80, 'http', 'HTTP')], [ep('10.0.0.2')]);
  const all = [...convert(inputOf(b, 'foo-bar-2.local'), options).resources, ...convert(inputOf(a, 'foo-bar-1.local'), options).resources];
  const { kept, clashes } = dropServiceClashes(all);
  assert.deepEqual(clashes, [{ service: 'Service/meshbridge/foo-bar', kept: 'demo//Foo_Bar', dropped: ['demo//foo-bar'] }]);
  assert.deepEqual(kept.map((r) => `${r.kind}/${r.name}`).sort(), [
    'EndpointSlice/foo-bar-ipv4-0',
    'Service/foo-bar',
    'ServiceEntry/foo-bar-1.local',
    'ServiceEntry/foo-bar-2.local',
  ]);
  const slice = kept.find((r) => r.kind === 'EndpointSlice');
  assert.deepEqual((slice?.spec['endpoints'] as Array<{ addresses: string[] }>).map((e) => e.addresses[0]), ['10.0.0.1'], "the winner's endpoints");
});

test('without a clash the list is handed back as it is', () => {
  const a = service('a', [port(80, 'http', 'HTTP')], [ep('10.0.0.1')]);
  const all = convert(inputOf(a, 'a.local'), options).resources;
  const r = dropServiceClashes(all);
  assert.equal(r.kept, all);
  assert.deepEqual(r.clashes, []);
});
