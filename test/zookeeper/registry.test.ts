/**
 * The ZooKeeper adapter against a real ZooKeeper server (Debian's zookeeper package, started by
 * test-support/peers/zookeeper.mjs on a free 127.0.0.1 port). Provider nodes are written here directly,
 * exactly as Dubbo writes them (URL-encoded URLs under /dubbo/<interface>/providers), which also
 * lets the tests write what a broken provider would.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ErrorCode } from '../../src/errors/index.js';
import type { Service } from '../../src/model/index.js';
import { adapterCommon, kindSettings } from '../../src/registry/testing/adapter-options.js';
import { ZookeeperRegistry, type ZookeeperRegistryOptions } from '../../src/registry/zookeeper/index.js';
import { Recorder, ZkWriter, javaUrlEncode, loadZookeeperPeers, missingPeers, sleep, until, type ZookeeperServer } from '../../test-support/zookeeper.js';

const peers = await loadZookeeperPeers();
const skip = missingPeers(peers, 'zookeeper');

let zk: ZookeeperServer;
let w: ZkWriter;
const running: AbortController[] = [];
let seq = 0;

function follow(opts: Partial<ZookeeperRegistryOptions> = {}) {
  const rec = new Recorder();
  const ac = new AbortController();
  running.push(ac);
  const reg = new ZookeeperRegistry({
    ...kindSettings('zookeeper', { servers: zk.connectString, sessionTimeoutMs: 4000 }),
    ...adapterCommon('zk', (p) => rec.problems.push(p)),
    maxFlushDelayMs: 50,
    ...opts,
  });
  reg.onEvent((e) => rec.events.push(e));
  return { reg, rec, ac, start: () => reg.start(ac.signal) };
}

function providerUrl(iface: string, host: string, port: number, params: Record<string, string> = {}, protocol = 'dubbo'): string {
  const p = { application: 'demo', side: 'provider', release: '3.3.6', interface: iface, methods: 'sayHello,sayHelloAsync', timestamp: String(Date.now() + seq++), ...params };
  return javaUrlEncode(`${protocol}://${host}:${port}/${iface}?${Object.entries(p).map(([k, v]) => `${k}=${v}`).join('&')}`);
}

async function addProvider(iface: string, node: string, root = '/dubbo'): Promise<string> {
  await w.mkdirp(`${root}/${iface}/providers`);
  await w.create(`${root}/${iface}/providers/${node}`);
  return `${root}/${iface}/providers/${node}`;
}

function svc(reg: ZookeeperRegistry, name: string): Service | undefined {
  return reg.services().get(`zk//${name}`);
}

const eps = (s: Service | undefined): string[] =>
  (s?.endpoints ?? []).map((e) => `${e.address}:${Object.values(e.ports).sort().join('/')}`).sort();

describe('zookeeper registry against a real ZooKeeper', { skip }, () => {
  before(async () => {
    zk = await peers.startZookeeper();
    w = await ZkWriter.connect(zk.connectString);
  });
  after(async () => {
    for (const ac of running) ac.abort();
    w?.close();
    await zk?.stop();
  });

  test('initial sync, malformed providers skipped with codes while neighbours sync, add/change/remove', async () => {
    const iface = 'com.example.MalformedNeighbours';
    await addProvider(iface, providerUrl(iface, '10.0.0.1', 20880, { weight: '50', env: 'prod' }));
    await addProvider(iface, 'not%20a%20url');
    await addProvider(iface, '%ZZbroken');
    await addProvider(iface, providerUrl(iface, '10.0.0.2', 70000));
    await addProvider(iface, providerUrl(iface, '0.0.0.0', 20880));
    await addProvider(iface, providerUrl(iface, '10.0.0.3', 20880, { weight: 'heavy' }));
    await addProvider(iface, providerUrl(iface, '10.0.0.4', 20880, { enabled: 'false' }));
    await addProvider(iface, providerUrl(iface, '10.0.0.5', 20880, { disabled: 'true' }));
    await w.mkdirp('/dubbo/mapping/com.example.MalformedNeighbours');
    const f = follow();
    await f.start();
    await until(() => f.reg.hasSynced(), 'sync');
    const s = svc(f.reg, iface);
    assert.deepEqual(eps(s), ['10.0.0.1:20880']);
    assert.deepEqual(s?.ports, [{ number: 20880, name: 'tcp-dubbo', protocol: 'TCP' }]);
    assert.deepEqual(s?.attributes, { interface: iface });
    const ep = s?.endpoints[0];
    assert.equal(ep?.weight, 50);
    assert.deepEqual(ep?.labels, { application: 'demo', side: 'provider', release: '3.3.6', env: 'prod' });
    assert.equal(f.reg.services().size, 1, 'mapping is not an interface');
    const codes = f.rec.problems.map((p) => p.code).sort();
    assert.deepEqual(codes, [ErrorCode.ENTRY_BAD_ADDRESS, ErrorCode.ENTRY_BAD_PORT, ErrorCode.ENTRY_INVALID, ErrorCode.ENTRY_INVALID, ErrorCode.ENTRY_INVALID].sort());
    assert.ok(f.rec.problems.every((p) => p.message.includes(`/dubbo/${iface}/providers/`)), 'problems name the node');

    // add: a tri provider on the same host joins the endpoint; another host is a second endpoint
    const tri = await addProvider(iface, providerUrl(iface, '10.0.0.1', 50051, {}, 'tri'));
    await addProvider(iface, providerUrl(iface, '10.0.0.9', 20881));
    await until(() => eps(svc(f.reg, iface)).length === 2 && svc(f.reg, iface)?.ports.length === 2, 'add');
    assert.deepEqual(eps(svc(f.reg, iface)), ['10.0.0.1:20880/50051', '10.0.0.9:20881']);
    assert.deepEqual(svc(f.reg, iface)?.ports.map((p) => `${p.name}/${p.protocol}/${p.number}`).sort(), ['grpc-tri/GRPC/50051', 'tcp-dubbo/TCP/20880']);
    // group + version: another service of the same interface
    await addProvider(iface, providerUrl(iface, '10.0.1.1', 20880, { group: 'g1', version: '1.0.0' }));
    await until(() => svc(f.reg, `1.0.0.g1.${iface}`) !== undefined, 'grouped service');
    assert.deepEqual(svc(f.reg, `1.0.0.g1.${iface}`)?.attributes, { interface: iface, group: 'g1', version: '1.0.0' });

    // a re-registration that only changes the timestamp changes nothing
    const upserts = f.rec.upserts();
    await w.remove(tri);
    await addProvider(iface, providerUrl(iface, '10.0.0.1', 50051, {}, 'tri'));
    await sleep(500);
    assert.ok(f.rec.upserts() - upserts <= 2, 'remove + add at most');
    assert.deepEqual(eps(svc(f.reg, iface)), ['10.0.0.1:20880/50051', '10.0.0.9:20881']);

    // remove: the last provider of the grouped service goes, and so does the service
    const grouped = (await listChildren(`/dubbo/${iface}/providers`)).filter((c) => c.includes('group%3Dg1'));
    for (const c of grouped) await w.remove(`/dubbo/${iface}/providers/${c}`);
    await until(() => svc(f.reg, `1.0.0.g1.${iface}`) === undefined, 'grouped service removed');
    assert.deepEqual(f.rec.deletes(), [`1.0.0.g1.${iface}`]);
    assert.equal(f.rec.problems.length, 5, 'nothing reported twice');
  });

  test('application level and plain Curator instances (JSON), malformed data skipped', async () => {
    const inst = (addr: string, port: number, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ name: 'x', id: `${addr}:${port}`, address: addr, port, sslPort: null, payload: { '@class': 'X', metadata: { zone: 'a', timestamp: '1' } }, registrationTimeUTC: Date.now(), serviceType: 'DYNAMIC', ...extra });
    await w.mkdirp('/sc/services/orders');
    await w.create('/sc/services/orders/i1', inst('10.1.0.1', 8080));
    await w.create('/sc/services/orders/i2', '{not json');
    await w.create('/sc/services/orders/i3', inst('10.1.0.3', 8080, { enabled: false }));
    await w.create('/sc/services/orders/i4', inst('10.1.0.4', 8080, { sslPort: 8443 }));
    const f = follow({ curator: { basePath: '/sc/services', protocol: 'http' }, dubbo: { levels: 'interface', root: '/nodubbo', servicesPath: '/services' } });
    await f.start();
    await until(() => f.reg.hasSynced(), 'sync');
    const s = svc(f.reg, 'orders');
    assert.deepEqual(eps(s), ['10.1.0.1:8080', '10.1.0.4:8080/8443']);
    assert.deepEqual(s?.ports.map((p) => `${p.name}/${p.number}`).sort(), ['http/8080', 'https/8443']);
    assert.deepEqual(s?.endpoints[0]?.labels, { zone: 'a' });
    assert.deepEqual(f.rec.problems.map((p) => p.code), [ErrorCode.ENTRY_INVALID]);
    // data change (re-armed data watch)
    await w.setData('/sc/services/orders/i1', inst('10.1.0.2', 8080));
    await until(() => eps(svc(f.reg, 'orders'))[0] === '10.1.0.2:8080', 'data change');
    await w.remove('/sc/services/orders/i1');
    await w.remove('/sc/services/orders/i4');
    await until(() => svc(f.reg, 'orders') === undefined, 'removed');
  });

  test('idle: no reads beyond watch re-arms; one change costs one re-read', async () => {
    const iface = 'com.example.Idle';
    for (let i = 0; i < 20; i++) await addProvider(iface, providerUrl(iface, `10.2.0.${i + 1}`, 20880));
    const f = follow({ dubbo: { levels: 'both', root: '/dubbo', servicesPath: '/sc/services' } });
    await f.start();
    await until(() => f.reg.hasSynced(), 'sync');
    await sleep(300);
    const before = f.reg.stats().reads;
    await sleep(3000);
    assert.equal(f.reg.stats().reads, before, 'no reads while idle');
    await addProvider(iface, providerUrl(iface, '10.2.1.1', 20880));
    await until(() => eps(svc(f.reg, iface)).length === 21, 'change');
    await sleep(300);
    assert.equal(f.reg.stats().reads - before, 1, 'one re-read of the providers folder re-arms its watch');
  });

  test('ZooKeeper restart: nothing is deleted, marked stale, converges afterwards', async () => {
    const iface = 'com.example.Restart';
    // Persistent provider nodes: what is tested is Meshbridge across the restart, not whether the
    // test's own writer session outlives the halt.
    await w.mkdirp(`/dubbo/${iface}/providers`);
    await w.create(`/dubbo/${iface}/providers/${providerUrl(iface, '10.3.0.1', 20880)}`, undefined, false);
    const f = follow();
    await f.start();
    await until(() => svc(f.reg, iface) !== undefined && f.reg.hasSynced(), 'sync');
    const total = f.reg.services().size;
    await zk.halt();
    await until(() => f.reg.status().stale, 'stale');
    assert.equal(f.reg.services().size, total);
    assert.deepEqual(f.rec.deletes(), []);
    assert.ok(f.rec.problems.some((p) => p.code === ErrorCode.REGISTRY_UNREACHABLE));
    await sleep(1000);
    await zk.resume();
    // The test's own writer may have lost its session while the server was down (on a loaded
    // machine the halt outlasts its timeout; its operations would then never answer): a new one.
    w.close();
    w = await ZkWriter.connect(zk.connectString);
    await until(() => !f.reg.status().stale && f.reg.status().connected, 'reconnected');
    await w.create(`/dubbo/${iface}/providers/${providerUrl(iface, '10.3.0.2', 20880)}`, undefined, false);
    await until(() => eps(svc(f.reg, iface)).length === 2, 'converged');
    // Converging may delete services, rightly, when they are gone from ZooKeeper: other tests'
    // providers are ephemeral nodes of the old writer session, which the server expires when the
    // halt outlasts its (server-capped) timeout. Every deletion must be such a service; none of the
    // persistent ones.
    assert.ok(!f.rec.deletes().includes(iface), `${iface} (persistent providers) never deleted`);
    for (const gone of f.rec.deletes()) {
      const left = await w.children(`/dubbo/${gone}/providers`).catch(() => []);
      assert.deepEqual(left, [], `${gone} was deleted, so ZooKeeper holds no provider of it`);
    }
  });

  test('session expiry: nothing is deleted while cut off; a new session converges to the truth', async () => {
    const iface = 'com.example.Expiry';
    const gone = await addProvider(iface, providerUrl(iface, '10.4.0.1', 20880), '/dubbo');
    await addProvider(iface, providerUrl(iface, '10.4.0.2', 20880));
    const proxy = await peers.startTcpProxy(zk.port);
    try {
      const f = follow({ connectString: proxy.connectString, sessionTimeoutMs: 2000 });
      await f.start();
      await until(() => f.reg.hasSynced() && eps(svc(f.reg, iface)).length === 2, 'sync');
      const total = f.reg.services().size;
      proxy.block();
      await w.remove(gone);
      await addProvider(iface, providerUrl(iface, '10.4.0.3', 20880));
      await sleep(4500); // > session timeout: the server expires the session
      assert.equal(f.reg.status().stale, true);
      assert.equal(f.reg.services().size, total);
      assert.deepEqual(f.rec.deletes(), []);
      proxy.unblock();
      await until(() => f.reg.stats().sessions === 2, 'new session');
      await until(() => eps(svc(f.reg, iface)).join() === '10.4.0.2:20880,10.4.0.3:20880', 'converged');
      assert.equal(f.reg.status().stale, false);
      assert.deepEqual(f.rec.deletes(), []);
    } finally {
      await proxy.stop();
    }
  });

  test('chroot and digest auth', async () => {
    const iface = 'com.example.Secure';
    await w.mkdirp('/tenant-a/dubbo');
    await addProvider(iface, providerUrl(iface, '10.5.0.1', 20880), '/tenant-a/dubbo');
    const f = follow({ connectString: `${zk.connectString}/tenant-a` });
    await f.start();
    await until(() => f.reg.hasSynced(), 'sync');
    assert.deepEqual([...f.reg.services().keys()], [`zk//${iface}`]);
    // a digest-protected root: readable with the credentials only
    const secured = await ZkWriter.connect(zk.connectString);
    secured.addDigest('meshbridge', 's3cret');
    await secured.mkdirp('/tenant-b');
    await secured.createProtected('/tenant-b/dubbo', 'meshbridge', 's3cret');
    await secured.mkdirp(`/tenant-b/dubbo/${iface}/providers`);
    await secured.create(`/tenant-b/dubbo/${iface}/providers/${providerUrl(iface, '10.6.0.1', 20880)}`);
    const ok = follow({ connectString: `${zk.connectString}/tenant-b`, auth: { scheme: 'digest', username: 'meshbridge', password: 's3cret' } });
    await ok.start();
    await until(() => ok.reg.hasSynced(), 'sync with auth');
    assert.deepEqual(eps(svc(ok.reg, iface)), ['10.6.0.1:20880']);
    const denied = follow({ connectString: `${zk.connectString}/tenant-b` });
    await denied.start();
    await until(() => denied.rec.problems.some((p) => p.code === ErrorCode.REGISTRY_UNREACHABLE && p.message.includes('NO_AUTH')), 'NO_AUTH reported');
    assert.equal(denied.reg.services().size, 0);
    secured.close();
  });

  test('10,000 providers sync without stalls', async () => {
    const interfaces = 200;
    const per = 50;
    const writes: Array<() => Promise<void>> = [];
    for (let i = 0; i < interfaces; i++) {
      const iface = `com.example.scale.Service${i}`;
      await w.mkdirp(`/scale/${iface}/providers`);
      for (let j = 0; j < per; j++) writes.push(() => w.create(`/scale/${iface}/providers/${providerUrl(iface, `10.${10 + (j >> 8)}.${i}.${(j % 250) + 1}`, 20880)}`));
    }
    for (let k = 0; k < writes.length; k += 500) await Promise.all(writes.slice(k, k + 500).map((fn) => fn()));
    const h = monitorEventLoopDelay({ resolution: 10 });
    const f = follow({ dubbo: { levels: 'interface', root: '/scale', servicesPath: '/services' } });
    const t0 = Date.now();
    h.enable();
    await f.start();
    await until(() => f.reg.hasSynced(), 'sync of 10,000 providers', 60_000);
    h.disable();
    const ms = Date.now() - t0;
    assert.equal(f.reg.services().size, interfaces);
    assert.equal(f.reg.status().endpoints, interfaces * per);
    assert.equal(f.reg.stats().reads, interfaces + 1, 'one listing per interface plus the root');
    const maxLagMs = h.max / 1e6;
    console.log(`# 10,000 providers: synced in ${ms} ms, ${f.reg.stats().reads} reads, max event-loop delay ${maxLagMs.toFixed(0)} ms`);
    // Measured 15-250 ms on the shared 2-core machine (the largest part: building all services at
    // once when the listing completes); a stall would be seconds.
    assert.ok(maxLagMs < 1000, `event loop stalled ${maxLagMs} ms`);
  });

  test('10,000 application-level instances (one data read each) sync with bounded reads', async () => {
    const apps = 100;
    const per = 100;
    const writes: Array<() => Promise<void>> = [];
    for (let i = 0; i < apps; i++) {
      await w.mkdirp(`/scale-apps/app-${i}`);
      for (let j = 0; j < per; j++) {
        const address = `10.${20 + i}.${j >> 8}.${(j % 250) + 1}`;
        const data = JSON.stringify({ name: `app-${i}`, id: `${address}:20880`, address, port: 20880, payload: { metadata: { 'dubbo.endpoints': '[{"port":20880,"protocol":"dubbo"},{"port":50051,"protocol":"tri"}]' } } });
        writes.push(() => w.create(`/scale-apps/app-${i}/${address}:20880`, data));
      }
    }
    for (let k = 0; k < writes.length; k += 500) await Promise.all(writes.slice(k, k + 500).map((fn) => fn()));
    const h = monitorEventLoopDelay({ resolution: 10 });
    const f = follow({ dubbo: { levels: 'application', root: '/dubbo', servicesPath: '/scale-apps' }, maxConcurrentReads: 64 });
    const t0 = Date.now();
    h.enable();
    await f.start();
    await until(() => f.reg.hasSynced(), 'sync of 10,000 instances', 60_000);
    h.disable();
    assert.equal(f.reg.services().size, apps);
    assert.equal(f.reg.status().endpoints, apps * per);
    assert.equal(f.reg.stats().reads, 1 + apps + apps * per);
    const maxLagMs = h.max / 1e6;
    console.log(`# 10,000 instances: synced in ${Date.now() - t0} ms, ${f.reg.stats().reads} reads, max event-loop delay ${maxLagMs.toFixed(0)} ms`);
    assert.ok(maxLagMs < 1000, `event loop stalled ${maxLagMs} ms`);
  });
});

async function listChildren(path: string): Promise<string[]> {
  return w.children(path);
}
