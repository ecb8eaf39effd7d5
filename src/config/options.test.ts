import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from './load.js';
import { Defaults } from './defaults.js';
import {
  conversionOptionsFor,
  kubeClientSettings,
  kubernetesSinkSettings,
  pipelineSettings,
  xdsServerSettings,
} from './options.js';

const config = parseConfig(
  `
registries:
  - {name: b, kind: file, file: {path: b.yaml, pollIntervalMs: 0}, namespace: zeta, network: n1, labels: {team: x}, exportTo: ["."], protectPercent: 10}
  - {name: a, kind: file, file: {path: a.yaml}, namespace: alpha, form: workloadEntry, portProtocols: {http: HTTP}}
  - {name: c, kind: file, file: {path: c.yaml}, namespace: zeta, namespaceMap: {prod: shop-prod, dev: zeta}}
conflictPolicy: precedence
sinks:
  xds: {address: "127.0.0.1:0", tls: {certFile: c.pem, keyFile: k.pem}}
  kubernetes: {kubeconfig: kc, qps: 3, burst: 4, leaderElection: {enabled: true, namespace: mb}}
admin: {address: ""}
log: {level: warn}
`,
  { sourcePath: '/cfg/m.yaml', env: {} },
);
const [b, a] = config.registries;

test('conversionOptionsFor maps a registry (network only when set)', () => {
  assert.deepEqual(conversionOptionsFor(b!), {
    namespace: 'zeta',
    exportTo: ['.'],
    hostTemplate: '{name}.{namespace}.{registry}.local',
    form: Defaults.registry.form,
    addresses: Defaults.registry.addresses,
    includeUnhealthy: Defaults.registry.includeUnhealthy,
    defaultProtocol: Defaults.registry.defaultProtocol,
    portProtocols: {},
    namespaceMap: {},
    network: 'n1',
    extraLabels: { team: 'x' },
    publish: { serviceEntries: true, kubernetesServices: false },
  });
  const oa = conversionOptionsFor(a!);
  assert.equal('network' in oa, false);
  assert.equal(oa.form, 'workloadEntry');
  assert.deepEqual(oa.portProtocols, { http: 'HTTP' });
  assert.deepEqual(conversionOptionsFor(config.registries[2]!).namespaceMap, { prod: 'shop-prod', dev: 'zeta' });
});

test('pipelineSettings: per-registry maps, policy, debounce', () => {
  const p = pipelineSettings(config);
  assert.deepEqual([...p.conversion.keys()], ['b', 'a', 'c']);
  assert.deepEqual([...p.protectPercent], [['b', 10], ['a', 50], ['c', 50]]);
  assert.equal(p.conflictPolicy, 'precedence');
  assert.deepEqual(p.debounce, { quietPeriodMs: 100, maxDelayMs: 1000, leadingEdge: true });
});

test('xdsServerSettings', () => {
  const x = xdsServerSettings(config.sinks.xds!);
  assert.equal(x.address, '127.0.0.1:0');
  assert.deepEqual(x.tls, { certFile: '/cfg/c.pem', keyFile: '/cfg/k.pem' });
  assert.equal(x.keepalive?.timeMs, 30_000);
});

test('kubernetes settings: client, sink, leader election in ms, default identity', () => {
  const k = config.sinks.kubernetes!;
  assert.deepEqual(kubeClientSettings(k), { qps: 3, burst: 4, kubeconfig: '/cfg/kc' });
  const s = kubernetesSinkSettings(config, k, 'host-1');
  assert.deepEqual(s, {
    instance: 'meshbridge',
    cleanupClusterWide: false,
    sidecars: false,
    registries: ['b', 'a', 'c'],
    namespaces: ['alpha', 'shop-prod', 'zeta'],
    maxDeletePercent: 50,
    concurrency: 8,
    kubernetesServices: false,
    leaderElection: { namespace: 'mb', name: 'meshbridge', identity: 'host-1', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
  });
});
