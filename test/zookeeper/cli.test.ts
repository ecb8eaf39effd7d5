/**
 * End to end through the real CLI: a real Dubbo 3.3 provider registers in a real ZooKeeper,
 * `meshbridge render` reads it through the zookeeper registry and prints the ServiceEntries.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { cli, tempDir, writeConfig } from '../e2e/support.js';
import { loadZookeeperPeers, missingPeers, type DubboProvider, type ZookeeperServer } from './peers.js';

const peers = await loadZookeeperPeers();
const skip = missingPeers(peers, 'zookeeper', 'dubbo-provider');

interface Rendered {
  kind: string;
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: {
    hosts: string[];
    ports: Array<{ number: number; name: string; protocol: string }>;
    endpoints?: Array<{ address: string; ports?: Record<string, number>; labels?: Record<string, string> }>;
    resolution: string;
  };
}

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
    const objs = parseAllDocuments(p.stdout())
      .map((d) => d.toJS() as Rendered | null)
      .filter((o): o is Rendered => o !== null);
    const byHost = new Map(objs.map((o) => [o.spec.hosts[0] ?? '', o]));
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
});
