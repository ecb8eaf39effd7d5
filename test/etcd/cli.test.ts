/**
 * End to end through the real CLI: a real etcd -> `meshbridge render` / `check` -> ServiceEntries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cli, freePort, get, mcpRunConfig, tempDir, until, writeConfig, renderedObjects } from '../../test-support/cli.js';
import { AdsClient, ISTIOD_TYPE_URLS_V1 } from '../../test-support/xds/adsc.js';
import { requirePeers } from '../../test-support/peers.js';
import { EtcdPeer } from '../../test-support/etcd.js';
import { writeRunConfig } from '../../test-support/meshbridge.js';

const skip = await requirePeers('etcd');


test('cli render: etcd instances become ServiceEntries; bad keys are reported, not fatal', { skip }, async (t) => {
  const peer = await EtcdPeer.start();
  t.after(() => peer.stop());
  await peer.put('/mb/shop/reviews/r1', { address: '10.0.0.1', ports: { http: 9080 }, labels: { version: 'v1' } });
  await peer.put('/mb/shop/reviews/r2', { address: '10.0.0.2', ports: { http: 9081 }, labels: { version: 'v2' } });
  await peer.put('/mb/shop/ratings/a', { address: '10.0.1.1', ports: { 'grpc-api': 9090 } });
  await peer.put('/mb/shop/broken/x', 'not json');
  const dir = await tempDir('meshbridge-etcd-e2e-');
  const config = await writeConfig(
    dir,
    `registries:
  - name: reg
    kind: etcd
    etcd:
      endpoints: [${peer.endpoint}]
      prefix: /mb
      layout: "{namespace}/{service}/{instance}"
    namespace: etcd-e2e
sinks: {render: {}}
log: {level: warn}
`,
  );
  const p = cli(['render', '--config', config]);
  assert.equal(await p.exit, 0, p.stderr());
  const docs = renderedObjects(p.stdout());
  const byHost = new Map(docs.map((d) => [d.spec.hosts[0], d]));
  assert.deepEqual([...byHost.keys()].sort(), ['ratings.shop.reg.etcd', 'reviews.shop.reg.etcd']);
  const reviews = byHost.get('reviews.shop.reg.etcd')!;
  assert.equal(reviews.kind, 'ServiceEntry');
  assert.equal(reviews.metadata.namespace, 'etcd-e2e');
  assert.equal(reviews.metadata.labels['meshbridge.io/registry'], 'reg');
  assert.deepEqual(reviews.spec.ports, [{ number: 9080, name: 'http', protocol: 'HTTP' }]);
  assert.deepEqual(
    reviews.spec.endpoints?.map((e) => [e.address, e.ports ?? {}, e.labels?.['version']]),
    [
      ['10.0.0.1', {}, 'v1'],
      ['10.0.0.2', { http: 9081 }, 'v2'],
    ],
  );
  assert.deepEqual(byHost.get('ratings.shop.reg.etcd')?.spec.ports, [{ number: 9090, name: 'grpc-api', protocol: 'GRPC' }]);
  assert.match(p.stderr(), /MB_ENTRY_INVALID/);
  assert.match(p.stderr(), /\/mb\/shop\/broken\/x/);

  const c = cli(['check', '--config', config]);
  assert.equal(await c.exit, 0, c.stderr());
  assert.match(c.stdout(), /registry reg \(etcd\): ok, 2 services, 3 endpoints/);
});

test('cli check: an unreachable etcd is not synced and says why; a bad layout is a config error', { skip }, async () => {
  const dir = await tempDir('meshbridge-etcd-e2e-');
  const config = await writeConfig(
    dir,
    `registries:
  - {name: reg, kind: etcd, etcd: {endpoints: ["127.0.0.1:1"], requestTimeoutMs: 500}, namespace: etcd-e2e}
sinks: {render: {}}
log: {level: warn}
`,
  );
  const c = cli(['check', '--config', config], { MESHBRIDGE_SYNC_TIMEOUT_MS: '1500' });
  assert.equal(await c.exit, 1, c.stderr());
  assert.match(c.stdout(), /NOT SYNCED/);
  assert.match(c.stdout(), /MB_REGISTRY_UNREACHABLE/);

  const bad = await writeConfig(
    dir,
    `registries:
  - {name: reg, kind: etcd, etcd: {endpoints: ["http://127.0.0.1:2379", "https://127.0.0.1:2380"], layout: "{service}"}, namespace: etcd-e2e}
sinks: {render: {}}
`,
  );
  const b = cli(['check', '--config', bad]);
  assert.equal(await b.exit, 2);
  assert.match(b.stderr(), /MB_CONFIG_INVALID/);
  assert.match(b.stderr(), /registries\[0\]\.etcd\.layout/);
  assert.match(b.stderr(), /registries\[0\]\.etcd\.endpoints/);
});

test('cli run: etcd -> MCP client; a put is pushed; an etcd outage keeps the services (stale) and converges after', { skip }, async (t) => {
  const peer = await EtcdPeer.start();
  t.after(() => peer.stop());
  await peer.put('/mb/pay/p1', { address: '10.0.0.1', ports: { http: 8080 } });
  const dir = await tempDir('meshbridge-etcd-e2e-');
  const xds = await freePort();
  const admin = await freePort();
  const config = await writeRunConfig(
    dir,
    mcpRunConfig(
      `  - name: reg
    kind: etcd
    etcd: {endpoints: [${peer.endpoint}], prefix: /mb}
    namespace: etcd-e2e`,
      xds,
      admin,
    ),
  );
  const p = cli(['run', '--config', config]);
  const SE = 'networking.istio.io/v1/ServiceEntry';
  const base = `http://127.0.0.1:${admin}`;
  try {
    await until(async () => ((await get(`${base}/readyz`)).status === 200 ? true : undefined), 15_000, '/readyz 200');
    const client = new AdsClient({ port: xds });
    t.after(() => client.close());
    client.subscribe(ISTIOD_TYPE_URLS_V1);
    await client.allAnswered(ISTIOD_TYPE_URLS_V1, 10_000);
    const first = [...client.store.get(SE)!.values()];
    assert.deepEqual(first.map((r) => r.name), ['etcd-e2e/pay.reg.etcd']);

    const seen = client.received.length;
    await peer.put('/mb/pay/p2', { address: '10.0.0.2', ports: { http: 8080 } });
    const pushed = await client.next((x) => x.type_url === SE, seen, 10_000);
    assert.match(JSON.stringify(pushed.resources[0]?.body), /10\.0\.0\.2/);

    // etcd goes away: nothing is withdrawn, the registry shows stale; it converges when etcd is back.
    const published = client.store.get(SE)!.size; // pay, and the entry of its second HTTP address
    await peer.pause();
    type Status = { name: string; stale: boolean; connected: boolean; services: Array<{ endpoints: unknown[] }> };
    const registryz = async () => (JSON.parse((await get(`${base}/debug/registryz`)).text) as Status[])[0]!;
    await until(async () => ((await registryz()).stale ? true : undefined), 10_000, 'stale on /debug/registryz');
    assert.equal((await registryz()).services[0]?.endpoints.length, 2);
    assert.equal(client.store.get(SE)!.size, published, 'nothing withdrawn while etcd is down');
    await peer.resume();
    const seen2 = client.received.length;
    await peer.del('/mb/pay/p1');
    const after = await client.next((x) => x.type_url === SE, seen2, 20_000);
    const body = JSON.stringify(after.resources[0]?.body);
    assert.doesNotMatch(body, /10\.0\.0\.1"/);
    assert.match(body, /10\.0\.0\.2/);
    await until(async () => ((await registryz()).connected ? true : undefined), 10_000, 'connected again');
  } finally {
    p.child.kill('SIGTERM');
  }
  assert.equal(await p.exit, 0, p.stderr());
});
