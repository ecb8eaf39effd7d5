/**
 * End to end: the real CLI (`render`, `check`) reads a real Consul server through a config with
 * a `consul` block — over HTTPS with a client certificate (Consul verifies it) and an ACL token
 * from the environment (Consul's default policy is deny) — and prints ServiceEntries.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli, tempDir, writeConfig, renderedObjects } from '../../test-support/cli.js';
import { loadConsul, type ConsulPeer } from '../../test-support/consul.js';

const mod = await loadConsul();
const skip = mod.consulSkipReason();
const TOKEN = 'b1e7c0de-0000-4000-8000-meshbridge01';


describe('CLI with a consul registry (TLS, client certificate, ACL token)', { skip }, () => {
  let consul: ConsulPeer;
  before(async () => {
    consul = await mod.startConsul({ tls: true, aclToken: TOKEN });
    const check = (id: string) => ({ CheckID: `chk-${id}`, TTL: '30m', Status: 'passing' });
    await consul.register({ ID: 'web-1', Name: 'web', Address: '10.9.0.1', Port: 8080, Meta: { protocol: 'http', version: 'v1' }, Tags: ['blue'], Weights: { Passing: 3, Warning: 1 }, Check: check('web-1') });
    await consul.register({ ID: 'web-2', Name: 'web', Address: '10.9.0.2', Port: 8081, Meta: { protocol: 'http' }, Check: check('web-2') });
    await consul.register({ ID: 'web-3', Name: 'web', Address: '10.9.0.3', Port: 8080, Check: check('web-3') });
    await consul.check('fail', 'chk-web-3');
    await consul.register({ ID: 'bad', Name: 'web', Address: 'not an ip!', Port: 8080 });
    await consul.register({ ID: 'db-1', Name: 'db', Address: '10.9.1.1', Port: 5432, Check: check('db-1') });
  });
  after(async () => {
    await consul?.stop();
  });

  const configText = (extra = '') => `registries:
  - name: cs
    kind: consul
    namespace: mesh
    consul:
      address: "${consul.httpsAddress ?? ''}"
      token: "\${ENV:CONSUL_TEST_TOKEN}"
      tls: {caFile: "${consul.tls?.caFile ?? ''}", certFile: "${consul.tls?.clientCertFile ?? ''}", keyFile: "${consul.tls?.clientKeyFile ?? ''}"}
${extra}sinks: {render: {}}
log: {level: warn}
`;

  test('render prints one ServiceEntry per service, passing endpoints only; bad instances are reported with codes', async () => {
    const dir = await tempDir();
    const config = await writeConfig(dir, configText());
    const p = cli(['render', '--config', config], { CONSUL_TEST_TOKEN: TOKEN });
    assert.equal(await p.exit, 0, p.stderr());
    const objs = renderedObjects(p.stdout());
    const byHost = new Map(objs.map((o) => [o.spec.hosts[0], o]));
    assert.deepEqual([...byHost.keys()].sort(), ['db.service.dc1.consul', 'web.service.dc1.consul']);
    const web = byHost.get('web.service.dc1.consul');
    assert.equal(web?.metadata.namespace, 'mesh');
    assert.equal(web?.spec.resolution, 'STATIC');
    assert.deepEqual(web?.spec.ports, [{ number: 8080, name: 'http', protocol: 'HTTP' }]);
    assert.deepEqual(web?.spec.endpoints?.map((e) => e.address), ['10.9.0.1', '10.9.0.2']);
    const w1 = web?.spec.endpoints?.find((e) => e.address === '10.9.0.1');
    assert.equal(w1?.labels?.['version'], 'v1');
    assert.equal(w1?.labels?.['tag-blue'], 'true');
    assert.equal(w1?.weight, 3);
    assert.equal(w1?.locality, 'dc1');
    assert.deepEqual(web?.spec.endpoints?.find((e) => e.address === '10.9.0.2')?.ports, { http: 8081 });
    assert.deepEqual(byHost.get('db.service.dc1.consul')?.spec.ports, [{ number: 5432, name: 'tcp', protocol: 'TCP' }]);
    assert.match(p.stderr(), /MB_ENTRY_BAD_ADDRESS/);
    assert.doesNotMatch(p.stderr() + p.stdout(), new RegExp(TOKEN));
  });

  test('without the token Consul shows nothing: the first sync never completes (no empty publish)', async () => {
    const dir = await tempDir();
    const config = await writeConfig(dir, configText());
    const p = cli(['render', '--config', config], { CONSUL_TEST_TOKEN: 'wrong-token', MESHBRIDGE_SYNC_TIMEOUT_MS: '4000' });
    assert.notEqual(await p.exit, 0);
    assert.match(p.stderr(), /MB_REGISTRY_SYNC_TIMEOUT/);
    assert.match(p.stderr(), /HTTP 403/);
    assert.doesNotMatch(p.stdout(), /ServiceEntry/);
  });

  test('the token can come from a file', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'consul.token'), `${TOKEN}\n`);
    const config = await writeConfig(dir, configText().replace('token: "${ENV:CONSUL_TEST_TOKEN}"', 'tokenFile: consul.token'));
    const p = cli(['render', '--config', config]);
    assert.equal(await p.exit, 0, p.stderr());
    assert.match(p.stdout(), /web\.service\.dc1\.consul/);
  });

  test('check reports the consul registry synced', async () => {
    const dir = await tempDir();
    const config = await writeConfig(dir, configText());
    const p = cli(['check', '--config', config], { CONSUL_TEST_TOKEN: TOKEN });
    assert.equal(await p.exit, 0, p.stderr());
    assert.match(p.stdout() + p.stderr(), /cs/);
  });
});
