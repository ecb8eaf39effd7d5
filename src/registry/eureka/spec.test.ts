import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeshbridgeError } from '../../errors/index.js';
import { EurekaDefaults } from './spec.js';
import { parseConfig } from '../../config/load.js';
import type { RegistryConfig } from '../../config/types.js';

const cfg = (block: string) => `registries:\n  - {name: eu, kind: eureka, namespace: mesh, eureka: ${block}}\nsinks: {render: {}}\n`;

function eurekaOf(text: string, env: Record<string, string> = {}) {
  const r: RegistryConfig | undefined = parseConfig(text, { env }).registries[0];
  assert.ok(r?.kind === 'eureka');
  return r;
}

function refusal(text: string): string {
  try {
    parseConfig(text, { env: {} });
  } catch (e) {
    assert.ok(e instanceof MeshbridgeError);
    assert.equal(e.code, 'MB_CONFIG_INVALID');
    return e.message;
  }
  return assert.fail('accepted');
}

test('eureka block: defaults, host template, secrets from the environment', () => {
  const r = eurekaOf(cfg('{serviceUrls: ["http://10.0.0.5:8761/eureka/"]}'));
  assert.deepEqual(r.eureka, {
    serviceUrls: ['http://10.0.0.5:8761/eureka/'],
    intervalMs: EurekaDefaults.intervalMs,
    statuses: ['UP'],
    hostFrom: 'app',
    auth: undefined,
    timeoutMs: EurekaDefaults.timeoutMs,
  });
  assert.equal(r.hostTemplate, '{name}.eureka');
  const full = eurekaOf(
    cfg('{serviceUrls: ["http://a:8761/eureka", "https://b/eureka/"], intervalMs: 1000, statuses: [UP, STARTING], hostFrom: vipAddress, timeoutMs: 500, auth: {username: u, password: "${ENV:EU_PW}"}}'),
    { EU_PW: 's3cret' },
  );
  assert.deepEqual(full.eureka, {
    serviceUrls: ['http://a:8761/eureka', 'https://b/eureka/'],
    intervalMs: 1000,
    statuses: ['UP', 'STARTING'],
    hostFrom: 'vipAddress',
    auth: { username: 'u', password: 's3cret' },
    timeoutMs: 500,
  });
});

test('eureka block: refusals name the key', () => {
  assert.match(refusal(cfg('{}')), /serviceUrls/);
  assert.match(refusal(cfg('{serviceUrls: []}')), /serviceUrls/);
  assert.match(refusal(cfg('{serviceUrls: ["not a url"]}')), /registries\[0\]\.eureka\.serviceUrls\[0\].*not a URL/);
  assert.match(refusal(cfg('{serviceUrls: ["ftp://h/eureka/"]}')), /serviceUrls\[0\].*scheme ftp:/);
  assert.match(refusal(cfg('{serviceUrls: ["http://h/eureka/?x=1"]}')), /serviceUrls\[0\].*query/);
  assert.match(refusal(cfg('{serviceUrls: ["http://u:p@h/eureka/"], auth: {username: a, password: b}}')), /serviceUrls\[0\].*credentials/);
  assert.match(refusal(cfg('{serviceUrls: ["http://h/eureka/"], statuses: [RUNNING]}')), /statuses/);
  assert.match(refusal(cfg('{serviceUrls: ["http://h/eureka/"], hostFrom: ip}')), /hostFrom/);
  assert.match(refusal(cfg('{serviceUrls: ["http://h/eureka/"], intervalMs: 10}')), /intervalMs/);
  assert.match(refusal(cfg('{serviceUrls: ["http://h/eureka/"], extra: 1}')), /extra/);
  // Credentials in a refusal are never echoed.
  assert.doesNotMatch(refusal(cfg('{serviceUrls: ["http://u:topsecret@h/eureka/"], auth: {username: a, password: b}}')), /topsecret/);
});
