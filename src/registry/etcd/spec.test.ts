import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeshbridgeError } from '../../errors/index.js';
import { parseConfig } from '../../config/load.js';

const SRC = '/etc/meshbridge/meshbridge.yaml';

function etcdOf(block: string, env: Record<string, string> = {}) {
  const c = parseConfig(`registries:\n  - {name: e, kind: etcd, namespace: n, etcd: ${block}}\nsinks: {render: {}}\n`, { sourcePath: SRC, env });
  const r = c.registries[0];
  assert.ok(r?.kind === 'etcd');
  return { etcd: r.etcd, hostTemplate: r.hostTemplate };
}

function problem(block: string): string {
  try {
    etcdOf(block);
  } catch (e) {
    assert.ok(e instanceof MeshbridgeError);
    assert.equal(e.code, 'MB_CONFIG_INVALID', e.message);
    return e.message;
  }
  return assert.fail('expected MB_CONFIG_INVALID');
}

test('etcd config: defaults, prefix slash, relative TLS paths, password from the environment', () => {
  const { etcd, hostTemplate } = etcdOf('{endpoints: ["127.0.0.1:2379"]}');
  assert.deepEqual(etcd, {
    endpoints: ['127.0.0.1:2379'],
    prefix: '/meshbridge/services/',
    layout: '{service}/{instance}',
    keyRegex: undefined,
    tls: undefined,
    auth: undefined,
    requestTimeoutMs: 5000,
    keepaliveMs: 30000,
  });
  assert.equal(hostTemplate, '{name}.{namespace}.{registry}.etcd');
  const full = etcdOf(
    '{endpoints: ["https://a:2379", "b:2379"], prefix: /svc, layout: "{namespace}/{service}/{instance}", tls: {caFile: ca.pem, certFile: /abs/c.pem, keyFile: k.pem}, auth: {username: mb, password: "${ENV:ETCD_PW}"}, dialTimeoutMs: 900}',
    { ETCD_PW: 'pw' },
  ).etcd;
  assert.equal(full.prefix, '/svc/');
  assert.deepEqual(full.tls, { caFile: '/etc/meshbridge/ca.pem', certFile: '/abs/c.pem', keyFile: '/etc/meshbridge/k.pem' });
  assert.deepEqual(full.auth, { username: 'mb', password: 'pw' });
  assert.equal(full.requestTimeoutMs, 900, 'dialTimeoutMs, the former name, is still read');
  assert.equal(etcdOf('{endpoints: ["a:1"], keyRegex: "(?<service>[^/]+)/(?<instance>.+)"}').etcd.keyRegex, '(?<service>[^/]+)/(?<instance>.+)');
});

const bad: ReadonlyArray<readonly [string, RegExp]> = [
  ['{}', /registries\[0\]\.etcd\.endpoints/],
  ['{endpoints: []}', /registries\[0\]\.etcd\.endpoints/],
  ['{endpoints: ["nohost"]}', /registries\[0\]\.etcd\.endpoints\[0\]: "nohost" is not host:port/],
  ['{endpoints: ["a:99999"]}', /endpoints\[0\]/],
  ['{endpoints: ["ftp://a:1"]}', /endpoints\[0\]/],
  ['{endpoints: ["http://a:1", "https://b:1"]}', /endpoints mix http:\/\/ and https:\/\//],
  ['{endpoints: ["http://a:1"], tls: {caFile: ca.pem}}', /registries\[0\]\.etcd\.tls: tls is set but endpoints use http:\/\//],
  ['{endpoints: ["a:1"], tls: {caFile: ca.pem, certFile: c.pem}}', /certFile and keyFile go together/],
  ['{endpoints: ["a:1"], tls: {certFile: c.pem, keyFile: k.pem}}', /registries\[0\]\.etcd\.tls/],
  ['{endpoints: ["a:1"], layout: "{service}"}', /registries\[0\]\.etcd\.layout: layout "\{service\}" has no \{instance\}/],
  ['{endpoints: ["a:1"], layout: "{service}//{instance}"}', /etcd\.layout: .*empty segment/],
  ['{endpoints: ["a:1"], keyRegex: "("}', /registries\[0\]\.etcd\.keyRegex: keyRegex is not a valid regular expression/],
  ['{endpoints: ["a:1"], layout: "{service}/{instance}", keyRegex: "(?<service>.)(?<instance>.)"}', /either layout or keyRegex/],
  ['{endpoints: ["a:1"], auth: {username: u}}', /registries\[0\]\.etcd\.auth/],
  ['{endpoints: ["a:1"], prefixx: /x}', /prefixx/],
  ['{endpoints: ["a:1"], dialTimeoutMs: 10}', /dialTimeoutMs/],
  ['{endpoints: ["a:1"], requestTimeoutMs: 10}', /requestTimeoutMs/],
  ['{endpoints: ["a:1"], requestTimeoutMs: 1000, dialTimeoutMs: 1000}', /former name of requestTimeoutMs/],
];

for (const [block, want] of bad) {
  test(`etcd config: ${block} is refused`, () => {
    assert.match(problem(block), want);
  });
}
