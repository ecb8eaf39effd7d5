/** The `consul` config block: defaults, resolution, and the checks a schema cannot express. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { MeshbridgeError } from '../../src/errors/index.js';

const config = (block: string, env: Record<string, string> = {}) =>
  parseConfig(`registries:\n  - {name: c, kind: consul, namespace: n, consul: ${block}}\nsinks: {render: {}}\n`, { sourcePath: '/cfg/m.yaml', env });

test('consul block: defaults, host template, secrets from the environment, relative paths', () => {
  const r = config('{address: "https://127.0.0.1:8501", token: "${ENV:CONSUL_HTTP_TOKEN}", tls: {caFile: ca.pem, certFile: c.pem, keyFile: k.pem}}', { CONSUL_HTTP_TOKEN: 's3cret' })
    .registries[0];
  assert.ok(r?.kind === 'consul');
  assert.equal(r.hostTemplate, '{name}.service.{datacenter}.consul');
  assert.deepEqual(r.consul, {
    address: 'https://127.0.0.1:8501',
    datacenters: [],
    token: 's3cret',
    tokenFile: undefined,
    tls: { caFile: '/cfg/ca.pem', certFile: '/cfg/c.pem', keyFile: '/cfg/k.pem' },
    namespace: undefined,
    partition: undefined,
    healthFilter: 'passing',
    tagsAsLabels: 'prefix',
    tagPrefix: 'tag-',
    nodeMetaPrefix: 'node-',
    waitSeconds: 300,
    maxConcurrentWatches: 128,
    oversubscribedWaitSeconds: 10,
    skipServices: ['consul'],
  });
  const f = config('{address: "http://[::1]:8500", tokenFile: tok, datacenters: [dc1, dc2], healthFilter: any, tagsAsLabels: none, waitSeconds: 60}').registries[0];
  assert.ok(f?.kind === 'consul');
  assert.equal(f.consul.tokenFile, '/cfg/tok');
  assert.deepEqual([f.consul.datacenters, f.consul.healthFilter, f.consul.tagsAsLabels, f.consul.waitSeconds], [['dc1', 'dc2'], 'any', 'none', 60]);
});

test('consul block: refused with the key named', () => {
  const cases: Array<[string, string]> = [
    ['{address: "consul:8500"}', 'consul.address'],
    ['{address: "http://a:99999"}', 'consul.address'],
    ['{address: "http://a:8500", token: x, tokenFile: y}', 'consul.tokenFile'],
    ['{address: "http://a:8500", tls: {caFile: a}}', 'consul.tls'],
    ['{address: "https://a:8500", tls: {certFile: a}}', 'consul.tls'],
    ['{address: "http://a:8500", healthFilter: critical}', 'consul.healthFilter'],
    ['{address: "http://a:8500", waitSeconds: 601}', 'consul.waitSeconds'],
    ['{address: "http://a:8500", datacenters: [a, a]}', 'consul.datacenters'],
    ['{address: "http://a:8500", colour: blue}', 'consul'],
    ['{}', 'consul'],
  ];
  for (const [block, key] of cases) {
    assert.throws(
      () => config(block),
      (e: unknown) => e instanceof MeshbridgeError && e.code === 'MB_CONFIG_INVALID' && JSON.stringify(e.details).includes(`registries[0].${key}`),
      block,
    );
  }
});
