/**
 * End to end: the real CLI (`render`, `check`) reads a real Eureka server through a config with
 * a `eureka` block and prints ServiceEntries.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cli, tempDir, writeConfig, renderedObjects } from '../../test-support/cli.js';
import { loadEureka, type EurekaModule, type EurekaServer } from '../../test-support/eureka.js';

const mod: EurekaModule = await loadEureka();
const skip = mod.eurekaSkipReason();


describe('CLI with a eureka registry', { skip }, () => {
  let server: EurekaServer;
  before(async () => {
    server = await mod.startEureka();
    const u = server.url;
    await mod.register(u, { app: 'MY-APP', id: 'a1', ip: '10.9.0.1', port: 8080, metadata: { version: 'v1', zone: 'z1', weight: '3' } });
    await mod.register(u, { app: 'MY-APP', id: 'a2', ip: '10.9.0.2', port: 8081 });
    await mod.register(u, { app: 'MY-APP', id: 'a3', ip: '10.9.0.3', port: 8080, status: 'DOWN' });
    await mod.register(u, { app: 'MY-APP', id: 'bad', ip: 'not an ip!' });
    await mod.register(u, { app: 'BILLING', id: 'b1', ip: '10.9.1.1', port: 9000, securePort: 9443, securePortEnabled: true });
  });
  after(async () => {
    await server?.stop();
  });

  test('render prints one ServiceEntry per app, UP endpoints only; bad instances are reported with codes', async () => {
    const dir = await tempDir();
    const config = await writeConfig(
      dir,
      `registries:
  - name: eu
    kind: eureka
    namespace: mesh
    eureka:
      serviceUrls: ["${server.url}/"]
      auth: {username: mesh, password: "\${ENV:EUREKA_TEST_PASSWORD}"}
sinks: {render: {}}
log: {level: warn}
`,
    );
    const p = cli(['render', '--config', config], { EUREKA_TEST_PASSWORD: 'secret' });
    assert.equal(await p.exit, 0, p.stderr());
    const objs = renderedObjects(p.stdout());
    const byHost = new Map(objs.map((o) => [o.spec.hosts[0], o]));
    assert.deepEqual([...byHost.keys()].sort(), ['billing.eureka', 'my-app.eureka']);
    const app = byHost.get('my-app.eureka');
    assert.equal(app?.metadata.namespace, 'mesh');
    assert.equal(app?.spec.resolution, 'STATIC');
    assert.deepEqual(app?.spec.ports, [{ number: 8080, name: 'http', protocol: 'HTTP' }]);
    assert.deepEqual(app?.spec.endpoints?.map((e) => e.address), ['10.9.0.1', '10.9.0.2']);
    const a1 = app?.spec.endpoints?.find((e) => e.address === '10.9.0.1');
    assert.equal(a1?.labels?.['version'], 'v1');
    assert.equal(a1?.weight, 3);
    assert.equal(a1?.locality, '/z1');
    assert.deepEqual(app?.spec.endpoints?.find((e) => e.address === '10.9.0.2')?.ports, { http: 8081 });
    assert.deepEqual(byHost.get('billing.eureka')?.spec.ports.map((x) => `${x.name}/${x.number}/${x.protocol}`), ['http/9000/HTTP', 'https/9443/HTTPS']);
    assert.match(p.stderr(), /MB_ENTRY_BAD_ADDRESS/);
    assert.doesNotMatch(p.stderr() + p.stdout(), /secret/);
  });

  test('check reports the eureka registry', async () => {
    const dir = await tempDir();
    const config = await writeConfig(
      dir,
      `registries:
  - {name: eu, kind: eureka, namespace: mesh, eureka: {serviceUrls: ["${server.url}/"]}}
sinks: {render: {}}
log: {level: error}
`,
    );
    const p = cli(['check', '--config', config]);
    assert.equal(await p.exit, 0, p.stderr());
    assert.match(p.stdout(), /registry eu \(eureka\): ok, 2 services, 3 endpoints/);
  });
});
