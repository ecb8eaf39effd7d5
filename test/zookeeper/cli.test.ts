/**
 * End to end through the real CLI: a real Dubbo 3.3 provider registers in a real ZooKeeper,
 * `meshbridge render` reads it through the zookeeper registry and prints the ServiceEntries.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cli, freePort, get, mcpRunConfig, tempDir, until as untilAsync, writeConfig, renderedObjects } from '../../test-support/cli.js';
import { AdsClient, ISTIOD_TYPE_URLS_V1 } from '../../test-support/xds/adsc.js';
import { writeRunConfig } from '../../test-support/meshbridge.js';
import { loadZookeeperPeers, missingPeers, type DubboProvider, type ZookeeperServer } from '../../test-support/zookeeper.js';

const peers = await loadZookeeperPeers();
const skip = missingPeers(peers, 'zookeeper', 'dubbo-provider');


describe('meshbridge render with a zookeeper registry and a real Dubbo provider', { skip, timeout: 180_000 }, () => {
  let zk: ZookeeperServer;
  let provider: DubboProvider;
  before(async () => {
    zk = await peers.startZookeeper();
    provider = await peers.startDubboProvider({
      zk: zk.connectString,
      app: 'meshbridge-demo-provider',
      services: ['org.apache.dubbo.demo.DemoService', 'org.apache.dubbo.demo.GreetingService:greeting:1.0.0'],
    });
  });
  after(async () => {
    await provider?.stop();
    await zk?.stop();
  });

  test('ServiceEntries per interface (with group and version) and per application, ::1 endpoints', async () => {
    const dir = await tempDir();
    const config = await writeConfig(
      dir,
      `registries:
  - name: dubbo
    kind: zookeeper
    namespace: dubbo
    zookeeper:
      servers: "${zk.connectString}"
      dubbo: {levels: both}
sinks: {render: {}}
log: {level: warn}
`,
    );
    const p = cli(['render', '--config', config]);
    assert.equal(await p.exit, 0, p.stderr());
    const objs = renderedObjects(p.stdout());
    const byHost = new Map(objs.map((o) => [o.spec.hosts[0] ?? '', o]));
    // One process exports the interfaces and the application on the same ip:ports: those go to
    // shared entries that serve them all (docs/mapping.md#listener-addresses).
    const shared = [...byHost.keys()].filter((h) => h.endsWith('.shared.meshbridge.internal'));
    assert.ok(shared.length > 0, 'shared entries for the ip:ports the services share');
    for (const h of shared) assert.match(byHost.get(h)?.metadata.annotations?.['meshbridge.io/serves'] ?? '', /meshbridge-demo-provider/);
    for (const h of shared) byHost.delete(h);
    assert.deepEqual([...byHost.keys()].sort(), [
      '1.0.0.greeting.org.apache.dubbo.demo.greetingservice',
      'meshbridge-demo-provider',
      'org.apache.dubbo.demo.demoservice',
    ]);
    const demo = byHost.get('org.apache.dubbo.demo.demoservice');
    assert.equal(demo?.kind, 'ServiceEntry');
    assert.equal(demo?.metadata.namespace, 'dubbo');
    assert.equal(demo?.spec.resolution, 'STATIC');
    assert.deepEqual(demo?.spec.ports.map((x) => `${x.name}/${x.protocol}/${x.number}`).sort(), [
      `grpc-tri/GRPC/${provider.triPort}`,
      `tcp-dubbo/TCP/${provider.dubboPort}`,
    ]);
    assert.equal(demo?.spec.endpoints?.length, 1);
    assert.equal(demo?.spec.endpoints?.[0]?.address, '::1');
    assert.equal(demo?.spec.endpoints?.[0]?.labels?.['application'], 'meshbridge-demo-provider');
    assert.equal(byHost.get('meshbridge-demo-provider')?.spec.endpoints?.[0]?.address, '::1');
  });

  test('run: registry -> MCP client; scaling out is pushed; a ZooKeeper outage withdraws nothing and converges', async (t) => {
    const dir = await tempDir();
    const xds = await freePort();
    const admin = await freePort();
    const config = await writeRunConfig(
      dir,
      mcpRunConfig(
        `  - name: dubbo
    kind: zookeeper
    namespace: dubbo
    zookeeper:
      servers: "${zk.connectString}"
      sessionTimeoutMs: 4000`,
        xds,
        admin,
      ),
    );
    const p = cli(['run', '--config', config]);
    const SE = 'networking.istio.io/v1/ServiceEntry';
    const DEMO = 'dubbo/org.apache.dubbo.demo.demoservice';
    const base = `http://127.0.0.1:${admin}`;
    const second: DubboProvider[] = [];
    try {
      await untilAsync(async () => ((await get(`${base}/readyz`)).status === 200 ? true : undefined), 20_000, '/readyz 200');
      const client = new AdsClient({ port: xds });
      t.after(() => client.close());
      client.subscribe(ISTIOD_TYPE_URLS_V1);
      await client.allAnswered(ISTIOD_TYPE_URLS_V1, 10_000);
      const names = () => [...(client.store.get(SE)?.keys() ?? [])].filter((k) => !k.endsWith('.shared.meshbridge.internal')).sort();
      assert.deepEqual(names(), ['dubbo/1.0.0.greeting.org.apache.dubbo.demo.greetingservice', DEMO]);
      const endpoints = () => (JSON.stringify(client.store.get(SE)?.get(DEMO)?.body).match(/"address":"::1"/g) ?? []).length;
      assert.equal(endpoints(), 1);

      // scaling out: a second real provider is pushed to the MCP client
      second.push(await peers.startDubboProvider({ zk: zk.connectString, app: 'meshbridge-demo-provider', services: ['org.apache.dubbo.demo.DemoService'] }));
      await untilAsync(() => Promise.resolve(endpoints() === 2 ? true : undefined), 30_000, 'two endpoints pushed');

      // ZooKeeper goes away: nothing withdrawn, stale on /debug/registryz; back: converges
      type Status = { stale: boolean; connected: boolean };
      const registryz = async () => (JSON.parse((await get(`${base}/debug/registryz`)).text) as Status[])[0]!;
      await zk.halt();
      await untilAsync(async () => ((await registryz()).stale ? true : undefined), 15_000, 'stale on /debug/registryz');
      assert.equal(endpoints(), 2, 'nothing withdrawn while ZooKeeper is down');
      assert.equal(names().length, 2);
      await zk.resume();
      await untilAsync(async () => ((await registryz()).connected ? true : undefined), 20_000, 'connected again');
      await second[0]!.stop();
      await untilAsync(() => Promise.resolve(endpoints() === 1 ? true : undefined), 30_000, 'the stopped provider withdrawn');
      assert.equal(names().length, 2);
    } finally {
      for (const s2 of second) await s2.stop();
      p.child.kill('SIGTERM');
    }
    assert.equal(await p.exit, 0, p.stderr());
  });
});
