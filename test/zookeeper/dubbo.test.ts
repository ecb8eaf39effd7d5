/**
 * The ZooKeeper adapter against REAL Apache Dubbo 3.3 providers (test-support/peers/dubbo-provider,
 * built by test-support/peers/peers.d/dubbo-provider.sh) registering in a real ZooKeeper at interface
 * and application level. Dubbo refuses 127.x addresses, so the providers bind and register the
 * IPv6 loopback ::1 (see test-support/peers/zookeeper.mjs).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Service } from '../../src/model/index.js';
import { adapterCommon, kindSettings } from '../../src/registry/testing/adapter-options.js';
import { ZookeeperRegistry } from '../../src/registry/zookeeper/index.js';
import { Recorder, loadZookeeperPeers, missingPeers, sleep, until, type DubboProvider, type ZookeeperServer } from '../../test-support/zookeeper.js';

const peers = await loadZookeeperPeers();
const skip = missingPeers(peers, 'zookeeper', 'dubbo-provider');

const DEMO = 'org.apache.dubbo.demo.DemoService';
const GREETING = 'org.apache.dubbo.demo.GreetingService';
const APP = 'meshbridge-demo-provider';

let zk: ZookeeperServer;
const providers: DubboProvider[] = [];
const ac = new AbortController();

const eps = (s: Service | undefined): string[] =>
  (s?.endpoints ?? []).map((e) => `${e.address}|${Object.entries(e.ports).map(([k, v]) => `${k}=${v}`).sort().join(',')}`).sort();

describe('zookeeper registry with real Dubbo 3.3 providers', { skip, timeout: 240_000 }, () => {
  let reg: ZookeeperRegistry;
  const rec = new Recorder();
  const get = (name: string): Service | undefined => reg.services().get(`zk//${name}`);
  const state = (): string =>
    JSON.stringify({ services: [...reg.services().values()].map((s) => [s.name, eps(s)]), status: reg.status(), problems: rec.problems.map((p) => p.message) });

  before(async () => {
    zk = await peers.startZookeeper();
    reg = new ZookeeperRegistry({
      ...kindSettings('zookeeper', { servers: zk.connectString, sessionTimeoutMs: 10_000, dubbo: { levels: 'both' } }),
      ...adapterCommon('zk', (p) => rec.problems.push(p)),
    });
    reg.onEvent((e) => rec.events.push(e));
    await reg.start(ac.signal);
    await until(() => reg.hasSynced(), 'sync of the empty registry');
  });
  after(async () => {
    ac.abort();
    for (const p of providers) await p.stop();
    await zk?.stop();
  });

  test('a provider starts: its interfaces and its application appear with the ::1 endpoint', async () => {
    const a = await peers.startDubboProvider({ zk: zk.connectString, app: APP, services: [DEMO, `${GREETING}:greeting:1.0.0`] });
    providers.push(a);
    const want = [`::1|grpc-tri=${a.triPort},tcp-dubbo=${a.dubboPort}`];
    await until(() => eps(get(DEMO)).join() === want.join() && eps(get(APP)).join() === want.join(), () => `provider A: ${state()}`, 60_000);
    const demo = get(DEMO);
    assert.deepEqual(demo?.attributes, { interface: DEMO });
    assert.deepEqual(
      demo?.ports.map((p) => `${p.name}/${p.protocol}/${p.number}`).sort(),
      [`grpc-tri/GRPC/${a.triPort}`, `tcp-dubbo/TCP/${a.dubboPort}`],
    );
    const labels = demo?.endpoints[0]?.labels ?? {};
    assert.equal(labels['application'], APP);
    assert.equal(labels['side'], 'provider');
    assert.equal(labels['release'], '3.3.6');
    assert.equal(labels['timestamp'], undefined);
    assert.equal(labels['methods'], undefined);
    const greeting = get(`1.0.0.greeting.${GREETING}`);
    assert.deepEqual(greeting?.attributes, { interface: GREETING, group: 'greeting', version: '1.0.0' });
    assert.deepEqual(eps(greeting), want);
    assert.deepEqual(get(APP)?.attributes, { application: APP });
    assert.deepEqual([...reg.services().keys()].sort(), [`zk//${APP}`, `zk//${DEMO}`, `zk//1.0.0.greeting.${GREETING}`].sort());
    assert.deepEqual(rec.problems, []);
    // idle with a live provider: no reads at all (every watch stays armed, nothing fires)
    await sleep(1000);
    const reads = reg.stats().reads;
    const events = rec.events.length;
    await sleep(3000);
    assert.equal(reg.stats().reads, reads, 'no reads while idle');
    assert.equal(rec.events.length, events, 'no events while idle');
  });

  test('a second provider (scaling out): two endpoints; it stops: its ephemeral nodes and endpoints go', async () => {
    const a = providers[0]!;
    const b = await peers.startDubboProvider({ zk: zk.connectString, app: APP, services: [DEMO, `${GREETING}:greeting:1.0.0`] });
    providers.push(b);
    const both = [`::1|grpc-tri=${a.triPort},tcp-dubbo=${a.dubboPort}`, `::1|grpc-tri=${b.triPort},tcp-dubbo=${b.dubboPort}`].sort();
    await until(() => eps(get(DEMO)).join() === both.join() && eps(get(APP)).join() === both.join(), () => `two endpoints: ${state()}`, 60_000);
    assert.equal(get(`1.0.0.greeting.${GREETING}`)?.endpoints.length, 2);
    await b.stop();
    const one = [`::1|grpc-tri=${a.triPort},tcp-dubbo=${a.dubboPort}`];
    await until(() => eps(get(DEMO)).join() === one.join() && eps(get(APP)).join() === one.join(), () => `back to one endpoint: ${state()}`, 30_000);
    assert.deepEqual(rec.deletes(), []);
  });

  test('the last provider stops: its services are removed', async () => {
    await providers[0]!.stop();
    await until(() => reg.services().size === 0, () => `services removed: ${state()}`, 30_000);
    assert.deepEqual(rec.deletes().sort(), [APP, DEMO, `1.0.0.greeting.${GREETING}`].sort());
    assert.deepEqual(rec.problems, []);
  });
});
