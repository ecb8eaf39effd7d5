import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../errors/index.js';
import { Health } from '../model/index.js';
import { ResourceKind, OwnershipLabel, toObject, type IstioResource } from '../snapshot/index.js';
import { convert } from './convert.js';
import { isLabelKey } from './labels.js';
import { isLabelValue } from './names.js';
import { isServiceName, MANAGED_BY_CONTROLLER, MAX_SLICE_ENDPOINTS, SERVICE_NAME_LABEL, SLICE_MANAGED_BY_LABEL, serviceNameFor, servicePortNames } from './kube-services.js';
import type { ConversionOptions } from './options.js';
import { baseOptions, ep, inputOf, port, service } from './testing/fixtures.js';

const both: ConversionOptions = { ...baseOptions, publish: { serviceEntries: true, kubernetesServices: true } };
const only: ConversionOptions = { ...baseOptions, publish: { serviceEntries: false, kubernetesServices: true } };

function ofKind(rs: readonly IstioResource[], kind: ResourceKind): IstioResource[] {
  return rs.filter((r) => r.kind === kind);
}

interface SliceBody {
  addressType: string;
  endpoints: Array<{ addresses: string[]; conditions: { ready: boolean; serving: boolean; terminating: boolean }; zone?: string; hints?: unknown }>;
  ports: Array<{ name: string; port: number; protocol: string; appProtocol: string }>;
}

test('service names are DNS-1035 labels, deterministic, shortened with a hash when too long', () => {
  assert.equal(serviceNameFor('web'), 'web');
  assert.equal(serviceNameFor('com.example.Foo'), 'com-example-foo');
  assert.equal(serviceNameFor('Foo_Bar'), 'foo-bar');
  assert.equal(serviceNameFor('1.0.0.g1.com.example.Foo'), 's-1-0-0-g1-com-example-foo');
  assert.equal(serviceNameFor('--'), serviceNameFor('--'));
  assert.ok(isServiceName(serviceNameFor('--')), serviceNameFor('--'));
  const long = `org.example.${'x'.repeat(80)}.Service`;
  const n = serviceNameFor(long);
  assert.equal(n.length, 63);
  assert.ok(isServiceName(n), n);
  assert.notEqual(n, serviceNameFor(`${long}2`), 'distinct long names keep distinct hashes');
  for (const raw of ['a', 'A-', '9lives', 'x'.repeat(200), '_.-', 'ünïcode']) assert.ok(isServiceName(serviceNameFor(raw)), `${raw} -> ${serviceNameFor(raw)}`);
});

test('service ports are protocol-prefixed as Istio reads them, with appProtocol, unique', () => {
  const s = service('svc', [port(80, 'web', 'HTTP'), port(81, 'grpc', 'GRPC'), port(82, 'http-admin', 'HTTP'), port(83, '', 'TCP', 9083), port(53, 'dns', 'UDP')], [ep('10.0.0.1')]);
  const out = convert(inputOf(s, 'svc.local'), only);
  assert.deepEqual(out.resources.map((r) => r.kind)[0], ResourceKind.Service);
  const svc = ofKind(out.resources, ResourceKind.Service)[0];
  assert.ok(svc);
  assert.equal(svc.name, 'svc');
  assert.deepEqual(svc.spec['ports'], [
    { name: 'udp-dns', port: 53, protocol: 'UDP', appProtocol: 'udp', targetPort: 53 },
    { name: 'http-web', port: 80, protocol: 'TCP', appProtocol: 'http', targetPort: 80 },
    { name: 'grpc', port: 81, protocol: 'TCP', appProtocol: 'grpc', targetPort: 81 },
    { name: 'http-admin', port: 82, protocol: 'TCP', appProtocol: 'http', targetPort: 82 },
    { name: 'tcp-83', port: 83, protocol: 'TCP', appProtocol: 'tcp', targetPort: 9083 },
  ]);
  assert.equal(svc.spec['selector'], undefined, 'selector-less');
  assert.equal(svc.labels[OwnershipLabel.MANAGED_BY], OwnershipLabel.MANAGED_BY_VALUE);
  // Two SE port names that prefix to the same Service port name stay unique.
  const names = servicePortNames([
    { number: 80, name: 'x', protocol: 'HTTP' },
    { number: 81, name: 'http-x', protocol: 'HTTP' },
  ]);
  assert.equal(new Set(names).size, 2, names.join(','));
});

test('without publish.serviceEntries only the Service and its slices are published; with both, both', () => {
  const s = service('svc', [port(80, 'http', 'HTTP')], [ep('10.0.0.1')]);
  assert.deepEqual(convert(inputOf(s, 'svc.local'), only).resources.map((r) => r.kind), ['Service', 'EndpointSlice']);
  assert.deepEqual(convert(inputOf(s, 'svc.local'), both).resources.map((r) => r.kind), ['ServiceEntry', 'Service', 'EndpointSlice']);
  assert.deepEqual(convert(inputOf(s, 'svc.local'), baseOptions).resources.map((r) => r.kind), ['ServiceEntry']);
});

test('IPv4 and IPv6 endpoints go to slices of their own addressType; conditions and zones from the model', () => {
  const s = service('svc', [port(80, 'http', 'HTTP')], [
    ep('10.0.0.1', { locality: { region: 'eu', zone: 'eu-1a' } }),
    ep('10.0.0.2', { health: Health.UNHEALTHY }),
    ep('[2001:db8::1]'),
  ]);
  const out = convert(inputOf(s, 'svc.local'), { ...only, includeUnhealthy: true });
  const slices = ofKind(out.resources, ResourceKind.EndpointSlice);
  assert.deepEqual(slices.map((r) => r.name), ['svc-ipv4-0', 'svc-ipv6-0']);
  const v4 = slices[0]?.spec as unknown as SliceBody;
  const v6 = slices[1]?.spec as unknown as SliceBody;
  assert.equal(v4.addressType, 'IPv4');
  assert.equal(v6.addressType, 'IPv6');
  assert.deepEqual(v6.endpoints.map((e) => e.addresses), [['2001:db8::1']]);
  assert.deepEqual(v4.endpoints[0], { addresses: ['10.0.0.1'], conditions: { ready: true, serving: true, terminating: false }, zone: 'eu-1a', hints: { forZones: [{ name: 'eu-1a' }] } });
  assert.deepEqual(v4.endpoints[1], { addresses: ['10.0.0.2'], conditions: { ready: false, serving: false, terminating: false } });
  assert.deepEqual(v4.ports, [{ name: 'http', port: 80, protocol: 'TCP', appProtocol: 'http' }]);
  for (const sl of slices) {
    assert.equal(sl.labels[SERVICE_NAME_LABEL], 'svc');
    assert.equal(sl.labels[SLICE_MANAGED_BY_LABEL], MANAGED_BY_CONTROLLER);
    for (const [k, v] of Object.entries(sl.labels)) assert.ok(isLabelKey(k) && isLabelValue(v), `${k}=${v} is a valid label`);
    const obj = toObject(sl);
    assert.equal(obj.apiVersion, 'discovery.k8s.io/v1');
    assert.equal(obj.spec, undefined, 'EndpointSlice fields are top-level');
    assert.ok(Array.isArray(obj['endpoints']));
  }
  // Unhealthy endpoints are left out unless includeUnhealthy.
  const strict = ofKind(convert(inputOf(s, 'svc.local'), only).resources, ResourceKind.EndpointSlice);
  assert.deepEqual((strict[0]?.spec as unknown as SliceBody).endpoints.map((e) => e.addresses[0]), ['10.0.0.1']);
});

test('slices hold at most 1,000 endpoints, split in address order', () => {
  const eps = Array.from({ length: 2 * MAX_SLICE_ENDPOINTS + 5 }, (_, i) => ep(`10.${Math.floor(i / 250)}.${i % 250}.1`));
  const s = service('big', [port(80, 'http', 'HTTP')], eps);
  const slices = ofKind(convert(inputOf(s, 'big.local'), only).resources, ResourceKind.EndpointSlice);
  assert.deepEqual(slices.map((r) => r.name), ['big-ipv4-0', 'big-ipv4-1', 'big-ipv4-2']);
  const counts = slices.map((r) => (r.spec as unknown as SliceBody).endpoints.length);
  assert.deepEqual(counts, [1000, 1000, 5]);
  const all = slices.flatMap((r) => (r.spec as unknown as SliceBody).endpoints.map((e) => e.addresses[0] ?? ''));
  assert.equal(new Set(all).size, eps.length, 'every endpoint exactly once');
});

test('endpoints with other port numbers go to a slice of their own; DNS endpoints are left out with a problem', () => {
  const s = service('svc', [port(80, 'http', 'HTTP')], [ep('10.0.0.1'), ep('10.0.0.2', { ports: { http: 8080 } }), ep('db.example.com')]);
  const out = convert(inputOf(s, 'svc.local'), both);
  const slices = ofKind(out.resources, ResourceKind.EndpointSlice);
  assert.equal(slices.length, 2);
  assert.ok(slices.every((r) => /^svc-ipv4-[0-9a-f]{6}-0$/.test(r.name)), slices.map((r) => r.name).join(','));
  const ports = slices.map((r) => (r.spec as unknown as SliceBody).ports[0]?.port).sort();
  assert.deepEqual(ports, [80, 8080]);
  const problem = out.problems.find((p) => p.code === ErrorCode.KUBE_SERVICE_DNS_ENDPOINT);
  assert.ok(problem, 'DNS endpoint reported');
  // The ServiceEntry keeps the DNS endpoint (resolution DNS).
  const se = ofKind(out.resources, ResourceKind.ServiceEntry)[0];
  assert.equal(se?.spec['resolution'], 'DNS');
});

test('equal input gives equal Services and slices, whatever the input order', () => {
  const a = service('svc', [port(80, 'http', 'HTTP'), port(81, 'grpc', 'GRPC')], [ep('10.0.0.2'), ep('10.0.0.1')]);
  const b = service('svc', [port(81, 'grpc', 'GRPC'), port(80, 'http', 'HTTP')], [ep('10.0.0.1'), ep('10.0.0.2')]);
  assert.deepEqual(convert(inputOf(a, 'svc.local'), only), convert(inputOf(b, 'svc.local'), only));
});

test("the registry's exportTo becomes the Service's networking.istio.io/exportTo annotation", () => {
  const s = service('svc', [port(80, 'http', 'HTTP')], [ep('10.0.0.1')]);
  const svc = (o: ConversionOptions): IstioResource | undefined => ofKind(convert(inputOf(s, 'svc.local'), o).resources, ResourceKind.Service)[0];
  assert.equal(svc({ ...only, exportTo: ['istio-system', '.'] })?.annotations['networking.istio.io/exportTo'], '.,istio-system');
  assert.equal(svc(only)?.annotations['networking.istio.io/exportTo'], undefined);
});
