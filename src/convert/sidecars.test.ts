import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../errors/index.js';
import { defaultSidecarOptions } from './options.js';
import { convertSidecars, type ConsumedHost, type SidecarRegistry } from './sidecars.js';

const zk: SidecarRegistry = { name: 'zk', sidecars: { ...defaultSidecarOptions, namespace: 'shop', namespaces: { cart: 'carts' } } };
const host = (h: string, apps: string[], namespace = 'mesh', registry = 'zk'): ConsumedHost => ({ host: h, namespace, consumers: apps.map((application) => ({ registry, application })) });

test('convertSidecars: one Sidecar per application, hosts sorted and unique, deterministic names and versions', () => {
  const hosts = [host('com.example.Foo', ['web', 'cart']), host('com.example.Bar', ['web']), host('1.0.0.g1.com.example.Baz', ['web'], 'other')];
  const out = convertSidecars(hosts, [zk]);
  assert.deepEqual(out.skipped, []);
  assert.deepEqual(out.resources.map((r) => r.key), ['Sidecar/carts/cart', 'Sidecar/shop/web']);
  const web = out.resources[1];
  assert.deepEqual(web?.spec, {
    workloadSelector: { labels: { app: 'web' } },
    egress: [{ hosts: ['istio-system/*', 'mesh/com.example.Bar', 'mesh/com.example.Foo', 'other/1.0.0.g1.com.example.Baz'] }],
  });
  assert.equal(web?.labels['app.kubernetes.io/managed-by'], 'meshbridge');
  assert.equal(web?.labels['meshbridge.io/registry'], 'zk');
  assert.equal(web?.annotations['meshbridge.io/source'], 'zk/web');
  assert.equal(web?.annotations['meshbridge.io/content-hash'], web?.version);
  // Order of hosts and consumers does not matter.
  const again = convertSidecars([...hosts].reverse().map((h) => ({ ...h, consumers: [...h.consumers].reverse() })), [zk]);
  assert.deepEqual(again, out);
});

test('convertSidecars: only the hosts given count; a new consumed host changes the Sidecar; no hosts, no Sidecar', () => {
  const before = convertSidecars([host('a.svc', ['web'])], [zk]).resources[0];
  const after = convertSidecars([host('a.svc', ['web']), host('b.svc', ['web'])], [zk]).resources[0];
  assert.deepEqual((before?.spec['egress'] as Array<{ hosts: string[] }>)[0]?.hosts, ['istio-system/*', 'mesh/a.svc']);
  assert.deepEqual((after?.spec['egress'] as Array<{ hosts: string[] }>)[0]?.hosts, ['istio-system/*', 'mesh/a.svc', 'mesh/b.svc']);
  assert.notEqual(before?.version, after?.version);
  assert.equal(before?.key, after?.key);
  assert.deepEqual(convertSidecars([], [zk]).resources, []);
  assert.deepEqual(convertSidecars([host('a.svc', [])], [zk]).resources, []);
});

test('convertSidecars: templates, alwaysInclude, registries without sidecars, skipped applications', () => {
  const custom: SidecarRegistry = {
    name: 'zk',
    sidecars: { namespace: undefined, namespaces: { web: 'shop', Web_App: 'shop', ['x'.repeat(60)]: 'shop' }, workloadLabels: { 'app.kubernetes.io/name': '{application}', tier: 'dubbo-{application}' }, alwaysInclude: ['./*', 'istio-system/*'] },
  };
  const out = convertSidecars([host('a.svc', ['web', 'nowhere', 'Web_App', 'x'.repeat(60)]), host('b.svc', ['web'], 'mesh', 'other')], [custom]);
  // Web_App is not a DNS name: its Sidecar's name is sanitised with a hash, its labels are the name as is.
  assert.deepEqual(out.resources.map((r) => r.key), ['Sidecar/shop/web', 'Sidecar/shop/web-app-370a31f464']);
  assert.match(out.resources.find((r) => r.name !== 'web')?.name ?? '', /^web-app-[0-9a-f]{10}$/);
  assert.deepEqual(out.resources.find((r) => r.name !== 'web')?.spec['workloadSelector'], { labels: { 'app.kubernetes.io/name': 'Web_App', tier: 'dubbo-Web_App' } });
  assert.deepEqual(out.resources.find((r) => r.name === 'web')?.spec, {
    workloadSelector: { labels: { 'app.kubernetes.io/name': 'web', tier: 'dubbo-web' } },
    egress: [{ hosts: ['./*', 'istio-system/*', 'mesh/a.svc'] }],
  });
  // nowhere has no namespace; x*60 renders tier "dubbo-xxx..." longer than 63 characters.
  assert.deepEqual(out.skipped.map((e) => [e.code, e.path]), [
    [ErrorCode.SIDECAR_SKIPPED, 'zk/nowhere'],
    [ErrorCode.SIDECAR_SKIPPED, `zk/${'x'.repeat(60)}`],
  ]);
});

test('convertSidecars: the same application in one namespace from two registries is one Sidecar; the first registry decides its options', () => {
  const b: SidecarRegistry = { name: 'b', sidecars: { ...defaultSidecarOptions, namespace: 'shop', workloadLabels: { team: '{application}' } } };
  const out = convertSidecars([host('a.svc', ['web'], 'mesh', 'b'), host('z.svc', ['web'])], [zk, b]);
  assert.equal(out.resources.length, 1);
  assert.deepEqual(out.resources[0]?.spec['workloadSelector'], { labels: { app: 'web' } });
  assert.deepEqual((out.resources[0]?.spec['egress'] as Array<{ hosts: string[] }>)[0]?.hosts, ['istio-system/*', 'mesh/a.svc', 'mesh/z.svc']);
  assert.equal(out.resources[0]?.annotations['meshbridge.io/origins'], 'zk,b');
});
