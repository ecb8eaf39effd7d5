/**
 * Consumers (ADR 0023) against a real ZooKeeper: consumer nodes written as Dubbo writes them
 * (URL-encoded URLs under /dubbo/<interface>/consumers) reach the model through the adapter's
 * watches, and `meshbridge render` turns them into Sidecars.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/errors/index.js';
import type { Service } from '../../src/model/index.js';
import { adapterCommon, kindSettings } from '../../src/registry/testing/adapter-options.js';
import { ZookeeperRegistry } from '../../src/registry/zookeeper/index.js';
import { cli, renderedObjects, tempDir, writeConfig } from '../../test-support/cli.js';
import { Recorder, ZkWriter, javaUrlEncode, loadZookeeperPeers, missingPeers, sleep, until, type ZookeeperServer } from '../../test-support/zookeeper.js';

const peers = await loadZookeeperPeers();
const skip = missingPeers(peers, 'zookeeper');
const skipDubbo = skip || missingPeers(peers, 'dubbo-provider');

const provider = (iface: string, ip: string, params = ''): string =>
  javaUrlEncode(`dubbo://${ip}:20880/${iface}?application=p&interface=${iface}&side=provider&timestamp=1${params}`);
const consumer = (iface: string, app: string, ip: string, params = ''): string =>
  javaUrlEncode(`consumer://${ip}/${iface}?application=${app}&category=consumers&interface=${iface}&side=consumer&pid=1&timestamp=1${params}`);

describe('zookeeper consumers against a real ZooKeeper', { skip }, () => {
  let zk: ZookeeperServer;
  let w: ZkWriter;
  const running: AbortController[] = [];
  before(async () => {
    zk = await peers.startZookeeper();
    w = await ZkWriter.connect(zk.connectString);
  });
  after(async () => {
    for (const ac of running) ac.abort();
    w?.close();
    await zk?.stop();
  });

  test('watched consumers: a folder that appears later, malformed URLs reported once, new applications, the last instance going; idle costs no reads', async () => {
    const iface = 'com.example.Orders';
    await w.mkdirp(`/dubbo/${iface}/providers`);
    await w.create(`/dubbo/${iface}/providers/${provider(iface, '10.0.0.1')}`);
    await w.create(`/dubbo/${iface}/providers/${provider(iface, '10.0.0.2', '&version=2.0')}`);
    const rec = new Recorder();
    const ac = new AbortController();
    running.push(ac);
    const reg = new ZookeeperRegistry({
      ...kindSettings('zookeeper', { servers: zk.connectString, sessionTimeoutMs: 4000 }),
      ...adapterCommon('zk', (p) => rec.problems.push(p)),
      watchConsumers: true,
      maxFlushDelayMs: 50,
    });
    await reg.start(ac.signal);
    await until(() => reg.hasSynced(), 'sync');
    const svc = (name: string): Service | undefined => reg.services().get(`zk//${name}`);
    assert.equal(svc(iface)?.consumers, undefined, 'no consumers folder yet: no consumers');

    // The consumers folder appears (its creation watch fires) with two instances of web.
    await w.mkdirp(`/dubbo/${iface}/consumers`);
    await w.create(`/dubbo/${iface}/consumers/${consumer(iface, 'web', '10.1.0.1')}`);
    await w.create(`/dubbo/${iface}/consumers/${consumer(iface, 'web', '10.1.0.2')}`);
    await w.create(`/dubbo/${iface}/consumers/${javaUrlEncode(`consumer://10.1.0.9/${iface}?side=consumer`)}`);
    await until(() => svc(iface)?.consumers?.join() === 'web', () => `web consumes ${iface}: ${JSON.stringify(svc(iface)?.consumers)}`);
    await until(() => rec.problems.length > 0, 'the malformed consumer is reported');
    assert.deepEqual(rec.problems.map((p) => [p.code, p.path?.includes(`/dubbo/${iface}/consumers/`)]), [[ErrorCode.ENTRY_INVALID, true]]);
    // Version 2.0 has its own service; web asks for no version, so it does not consume it.
    assert.equal(svc(`2.0.${iface}`)?.consumers, undefined);

    await sleep(300);
    const idle = reg.stats().reads;
    await sleep(2000);
    assert.equal(reg.stats().reads, idle, 'no reads while idle');

    // cart consumes any version: both services; one consumer change costs one re-read.
    await w.create(`/dubbo/${iface}/consumers/${consumer(iface, 'cart', '10.1.0.3', '&version=*')}`);
    await until(() => svc(`2.0.${iface}`)?.consumers?.join() === 'cart' && svc(iface)?.consumers?.join() === 'cart,web', 'cart consumes both versions');
    await sleep(300);
    assert.equal(reg.stats().reads - idle, 1, 'one re-read of the consumers folder re-arms its watch');

    // One of web's instances goes: web still consumes; then the last one goes.
    await w.remove(`/dubbo/${iface}/consumers/${consumer(iface, 'web', '10.1.0.1')}`);
    await sleep(500);
    assert.deepEqual(svc(iface)?.consumers, ['cart', 'web']);
    await w.remove(`/dubbo/${iface}/consumers/${consumer(iface, 'web', '10.1.0.2')}`);
    await until(() => svc(iface)?.consumers?.join() === 'cart', 'web no longer consumes');
    assert.equal(rec.problems.length, 1, 'the malformed consumer was reported once');
  });

  test('bounded reads: one listing per providers and consumers folder (and one creation watch per missing consumers folder)', async () => {
    const root = '/many';
    const n = 200;
    for (let i = 0; i < n; i++) {
      const iface = `com.example.Many${i}`;
      await w.mkdirp(`${root}/${iface}/providers`);
      await w.create(`${root}/${iface}/providers/${provider(iface, `10.5.${i >> 8}.${(i & 255) + 1}`)}`);
      if (i % 2 === 0) {
        await w.mkdirp(`${root}/${iface}/consumers`);
        await w.create(`${root}/${iface}/consumers/${consumer(iface, `app${i % 10}`, '10.6.0.1')}`);
      }
    }
    const ac = new AbortController();
    running.push(ac);
    const reg = new ZookeeperRegistry({
      ...kindSettings('zookeeper', { servers: zk.connectString, sessionTimeoutMs: 4000, dubbo: { root }, maxConcurrentReads: 16 }),
      ...adapterCommon('zk'),
      watchConsumers: true,
      maxFlushDelayMs: 50,
    });
    await reg.start(ac.signal);
    await until(() => reg.hasSynced(), 'sync');
    assert.equal(reg.services().size, n);
    assert.equal([...reg.services().values()].filter((s) => s.consumers !== undefined).length, n / 2);
    // The root, every providers folder, every consumers folder; a missing one costs a creation watch (exists).
    assert.equal(reg.stats().reads, 1 + n + n + n / 2);
  });

  test('meshbridge render: consumer nodes become Sidecars listing the consumed ServiceEntry hosts', async () => {
    for (const [i, iface] of ['com.example.Cart', 'com.example.Stock', 'com.example.Unconsumed'].entries()) {
      await w.mkdirp(`/render/${iface}/providers`);
      await w.create(`/render/${iface}/providers/${provider(iface, `10.3.0.${i + 1}`)}`);
      await w.mkdirp(`/render/${iface}/consumers`);
    }
    await w.create(`/render/com.example.Cart/consumers/${consumer('com.example.Cart', 'shop-web', '10.4.0.1')}`);
    await w.create(`/render/com.example.Stock/consumers/${consumer('com.example.Stock', 'shop-web', '10.4.0.1')}`);
    await w.create(`/render/com.example.Stock/consumers/${consumer('com.example.Stock', 'nowhere', '10.4.0.2')}`);
    // Consumed but no provider: no ServiceEntry, so not listed.
    await w.mkdirp('/render/com.example.NoProvider/consumers');
    await w.create(`/render/com.example.NoProvider/consumers/${consumer('com.example.NoProvider', 'shop-web', '10.4.0.1')}`);
    const dir = await tempDir();
    const config = await writeConfig(
      dir,
      `registries:
  - name: dubbo
    kind: zookeeper
    namespace: dubbo
    zookeeper: {servers: "${zk.connectString}", dubbo: {root: /render}}
    sidecars: {namespaces: {shop-web: shop}, workloadLabels: {app.kubernetes.io/name: "{application}"}, alwaysInclude: ["./*"]}
sinks: {render: {}}
log: {level: warn}
`,
    );
    const p = cli(['render', '--config', config]);
    assert.equal(await p.exit, 0, p.stderr());
    const objs = renderedObjects(p.stdout()) as unknown as Array<{ kind: string; metadata: { name: string; namespace: string }; spec: Record<string, unknown> }>;
    const sidecars = objs.filter((o) => o.kind === 'Sidecar');
    assert.deepEqual(sidecars.map((o) => `${o.metadata.namespace}/${o.metadata.name}`), ['shop/shop-web']);
    assert.deepEqual(sidecars[0]?.spec, {
      workloadSelector: { labels: { 'app.kubernetes.io/name': 'shop-web' } },
      egress: [{ hosts: ['./*', 'dubbo/com.example.cart', 'dubbo/com.example.stock'] }],
    });
    assert.match(p.stderr(), /MB_SIDECAR_SKIPPED/, 'the application without a namespace is reported');
    assert.equal(objs.filter((o) => o.kind === 'ServiceEntry').length, 3);
  });

  test('a real Dubbo 3.3 consumer registers as Meshbridge reads it: its application gets a Sidecar listing what it references', { skip: skipDubbo, timeout: 180_000 }, async () => {
    const root = '/dubbo';
    const provider = await peers.startDubboProvider({ zk: zk.connectString, app: 'demo-provider', services: ['org.apache.dubbo.demo.DemoService', 'org.apache.dubbo.demo.GreetingService:greeting:1.0.0', 'org.apache.dubbo.demo.Other'] });
    const consumerApp = await peers.startDubboProvider({
      zk: zk.connectString,
      app: 'demo-consumer',
      services: [],
      references: ['org.apache.dubbo.demo.DemoService', 'org.apache.dubbo.demo.GreetingService:greeting:1.0.0'],
    });
    try {
      const nodes = await w.children(`${root}/org.apache.dubbo.demo.DemoService/consumers`);
      assert.equal(nodes.length, 1, `one consumer node: ${nodes.join(', ')}`);
      const dir = await tempDir();
      const config = await writeConfig(
        dir,
        `registries:
  - name: dubbo
    kind: zookeeper
    namespace: dubbo
    zookeeper: {servers: "${zk.connectString}"}
    sidecars: {namespace: shop}
sinks: {render: {}}
log: {level: warn}
`,
      );
      const p = cli(['render', '--config', config]);
      assert.equal(await p.exit, 0, p.stderr());
      const objs = renderedObjects(p.stdout()) as unknown as Array<{ kind: string; metadata: { name: string; namespace: string }; spec: Record<string, unknown> }>;
      const sc = objs.filter((o) => o.kind === 'Sidecar' && o.metadata.name === 'demo-consumer');
      assert.equal(sc.length, 1, objs.filter((o) => o.kind === 'Sidecar').map((o) => o.metadata.name).join(', '));
      assert.deepEqual(sc[0]?.spec, {
        workloadSelector: { labels: { app: 'demo-consumer' } },
        egress: [{ hosts: ['dubbo/1.0.0.greeting.org.apache.dubbo.demo.greetingservice', 'dubbo/org.apache.dubbo.demo.demoservice', 'istio-system/*'] }],
      });
    } finally {
      await consumerApp.stop();
      await provider.stop();
    }
  });
});
