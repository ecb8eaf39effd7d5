import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../config/index.js';
import { ErrorCode, type MeshbridgeError } from '../../errors/index.js';

const config = (http: string): string => `
registries:
  - name: cat
    kind: http
    namespace: shop
    http:
${http
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
sinks:
  render: {}
`;

function problems(http: string): string[] {
  try {
    parseConfig(config(http));
  } catch (e) {
    const err = e as MeshbridgeError;
    assert.equal(err.code, ErrorCode.CONFIG_INVALID);
    return ((err.details as { problems: { path: string; message: string }[] }).problems ?? []).map((p) => `${p.path}: ${p.message}`);
  }
  return [];
}

test('an http block resolves with every default and absolute paths', () => {
  const c = parseConfig(config('url: https://reg.example/catalog\nbearerTokenFile: token\ntls: { caFile: ca.pem }\nmap: { items: /services }'), { sourcePath: '/etc/mb/meshbridge.yaml' });
  const r = c.registries[0];
  assert.equal(r?.kind, 'http');
  if (r?.kind !== 'http') return;
  assert.equal(r.http.mode, 'auto');
  assert.equal(r.http.intervalMs, 5000);
  assert.equal(r.http.bearerTokenFile, '/etc/mb/token');
  assert.deepEqual(r.http.tls, { caFile: '/etc/mb/ca.pem' });
  assert.deepEqual(r.http.map, { items: '/services', name: '/name', instances: undefined, address: '/address', port: '/port', ports: undefined, protocol: undefined, metadata: undefined, healthy: undefined, weight: undefined, id: undefined });
});

test('bad http blocks are refused with key paths', () => {
  assert.deepEqual(problems('url: ftp://x/\ntls: {certFile: c.pem}\nbearerToken: abcd\nbearerTokenFile: t\nheaders: { If-None-Match: x, Authorization: y }\neventsUrl: http://x/e\nmap: { name: "/a~2" }'), [
    'registries[0].http.url: is not an http:// or https:// URL',
    'registries[0].http.eventsUrl: is used with mode: sse only (auto asks the url itself)',
    'registries[0].http.bearerTokenFile: set either bearerToken or bearerTokenFile, not both',
    'registries[0].http.tls: certFile and keyFile go together',
    'registries[0].http.headers["If-None-Match"]: is set by Meshbridge itself',
    'registries[0].http.headers.Authorization: conflicts with the bearer token',
    'registries[0].http.map.name: "/a~2" is not a JSON pointer (~ must be followed by 0 or 1)',
  ]);
  assert.deepEqual(problems('url: http://x/\nmode: push\nmap: { items: services }'), [
    'registries[0].http.mode: must be one of: auto, poll, longPoll, sse; got string "push"',
    'registries[0].http.map.items: must be a string matching ^(/.*)?$; got string "services"',
  ]);
});
