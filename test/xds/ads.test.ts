import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { AdsClient, ISTIOD_TYPE_URLS_V1, ISTIOD_TYPE_URLS_V1ALPHA3, sleep } from '../../test-support/xds/adsc.js';
import { serviceEntry, startHarness, workloadEntry, type Harness } from '../../test-support/xds/fixtures.js';

const SE1 = 'networking.istio.io/v1alpha3/ServiceEntry';
const WE1 = 'networking.istio.io/v1alpha3/WorkloadEntry';
const SE_V1 = 'networking.istio.io/v1/ServiceEntry';
const WE_V1 = 'networking.istio.io/v1/WorkloadEntry';

const base = [
  serviceEntry('ns1', 'orders', ['10.0.0.1', '10.0.0.2']),
  serviceEntry('ns2', 'users', ['10.0.1.1']),
  workloadEntry('ns1', 'orders-vm-1', '10.0.0.9'),
];

describe('MCP-over-xDS as istiod sees it', () => {
  let h: Harness;
  const clients: AdsClient[] = [];
  const client = (opts: { autoAck?: boolean } = {}): AdsClient => {
    const c = new AdsClient({ port: h.port, ...opts });
    clients.push(c);
    return c;
  };

  before(async () => {
    h = await startHarness({ initial: base });
  });
  after(async () => {
    for (const c of clients) c.close();
    await h.stop();
  });

  test('junk first nonces: MeshConfig and every Istio type are answered, echoing the type URL', async () => {
    const c = client();
    c.subscribe(ISTIOD_TYPE_URLS_V1ALPHA3);
    await c.allAnswered(ISTIOD_TYPE_URLS_V1ALPHA3);
    for (const t of ISTIOD_TYPE_URLS_V1ALPHA3) {
      const rs = c.responsesFor(t);
      assert.equal(rs.length, 1, t);
      const r = rs[0]!;
      assert.equal(r.type_url, t);
      assert.notEqual(r.nonce, '');
      assert.notEqual(r.version_info, '');
      if (t !== SE1 && t !== WE1) assert.equal(r.resources.length, 0, `${t} must be empty`);
    }
    assert.equal(c.responsesFor('core/v1alpha1/MeshConfig')[0]!.resources.length, 0);
    assert.equal(c.responsesFor(SE1)[0]!.resources.length, 2);
    assert.equal(c.responsesFor(WE1)[0]!.resources.length, 1);
  });

  test('resources are MCP Resources with namespace/name, content-hash version, labels and v1alpha3 bodies', async () => {
    const c = client();
    c.subscribe([SE1, WE1]);
    const se = await c.forType(SE1);
    const orders = se.resources.find((r) => r.name === 'ns1/orders');
    assert.ok(orders, 'ns1/orders present');
    assert.equal(orders.version, base[0]!.version);
    assert.equal(orders.bodyTypeUrl, 'type.googleapis.com/istio.networking.v1alpha3.ServiceEntry');
    assert.deepEqual(orders.labels, { 'app.kubernetes.io/managed-by': 'meshbridge' });
    assert.deepEqual(orders.annotations, { 'meshbridge.io/registry': 'test' });
    assert.ok((orders.createTimeSeconds ?? 0) > 1_600_000_000);
    assert.deepEqual(orders.body, {
      hosts: ['orders.ns1.svc.meshbridge'],
      ports: [{ number: 8080, protocol: 'HTTP', name: 'http', target_port: 8080 }],
      location: 1, // MESH_INTERNAL
      resolution: 1, // STATIC
      endpoints: [
        { address: '10.0.0.1', ports: { http: 8080 }, labels: { app: 'orders' }, weight: 1 },
        { address: '10.0.0.2', ports: { http: 8080 }, labels: { app: 'orders' }, weight: 1 },
      ],
    });
    const we = await c.forType(WE1);
    assert.equal(we.resources.length, 1);
    const w = we.resources[0]!;
    assert.equal(w.name, 'ns1/orders-vm-1');
    assert.equal(w.bodyTypeUrl, 'type.googleapis.com/istio.networking.v1alpha3.WorkloadEntry');
    assert.deepEqual(w.body, {
      address: '10.0.0.9',
      ports: { http: 8080 },
      labels: { app: 'orders-vm-1' },
      network: 'net1',
      locality: 'region/zone',
      weight: 3,
      service_account: 'sa1',
    });
  });

  test('v1 type URLs (Istio 1.24+) work and are echoed', async () => {
    const c = client();
    c.subscribe(ISTIOD_TYPE_URLS_V1);
    await c.allAnswered(ISTIOD_TYPE_URLS_V1);
    assert.equal((await c.forType(SE_V1)).resources.length, 2);
    assert.equal((await c.forType(WE_V1)).resources.length, 1);
    assert.equal((await c.forType('networking.istio.io/v1/DestinationRule')).resources.length, 0);
    assert.equal((await c.forType('networking.istio.io/v1beta1/ServiceEntry', 0, 10).catch(() => undefined)), undefined);
  });

  test('an ACK (echoed nonce) does not trigger a resend; a stale nonce is ignored', async () => {
    const c = client();
    c.subscribe([SE1, 'core/v1alpha1/MeshConfig']);
    await c.allAnswered([SE1, 'core/v1alpha1/MeshConfig']);
    c.send({ type_url: SE1, response_nonce: 'not-a-nonce-we-sent', version_info: 'x' });
    await sleep(200);
    assert.equal(c.received.length, 2);
  });

  test('a NACK is not answered by a resend of the same version', async () => {
    const c = client({ autoAck: false });
    c.subscribe([SE1]);
    const r = await c.forType(SE1);
    c.send({ type_url: SE1, response_nonce: r.nonce, version_info: '', error_detail: { code: 3, message: 'bad' } });
    await sleep(200);
    assert.equal(c.received.length, 1);
    const dbg = h.server.debugState().clients.find((x) => x.nodeId === c.nodeId);
    assert.equal(dbg?.types[0]?.reply, 'nacked');
    assert.equal(dbg?.types[0]?.nacks, 1);
  });

  test('debugState shows streams, node ids, subscribed types, versions, nonces and ACK state', async () => {
    const c = client();
    c.subscribe([SE1, WE1]);
    await c.allAnswered([SE1, WE1]);
    await sleep(100);
    const d = h.server.debugState();
    assert.equal(d.serving, true);
    const me = d.clients.find((x) => x.nodeId === c.nodeId);
    assert.ok(me);
    assert.match(me.peer, /127\.0\.0\.1/);
    assert.deepEqual(me.types.map((t) => t.typeUrl).sort(), [SE1, WE1]);
    for (const t of me.types) {
      assert.equal(t.reply, 'acked');
      assert.equal(t.ackedVersion, t.sentVersion);
      assert.equal(t.sentNonce, c.responsesFor(t.typeUrl)[0]!.nonce);
    }
  });

  test('DeltaAggregatedResources is UNIMPLEMENTED', async () => {
    const Ctor = grpc.makeGenericClientConstructor({}, 'x');
    const raw = new Ctor(`127.0.0.1:${h.port}`, grpc.credentials.createInsecure());
    const call = raw.makeBidiStreamRequest(
      '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources',
      (b: Buffer) => b,
      (b: Buffer) => b,
    );
    const code = await new Promise<number>((resolve) => {
      call.on('status', (s: grpc.StatusObject) => resolve(s.code));
      call.on('error', () => undefined);
      call.on('data', () => undefined);
    });
    raw.close();
    assert.equal(code, grpc.status.UNIMPLEMENTED);
  });
});

describe('pushes follow per-kind snapshot versions', () => {
  let h: Harness;
  let c: AdsClient;
  before(async () => {
    h = await startHarness({ initial: base });
    c = new AdsClient({ port: h.port });
    c.subscribe(ISTIOD_TYPE_URLS_V1ALPHA3);
    await c.allAnswered(ISTIOD_TYPE_URLS_V1ALPHA3);
  });
  after(async () => {
    c.close();
    await h.stop();
  });

  test('republishing equal content pushes nothing', async () => {
    const n = c.received.length;
    h.store.publish([...base].reverse());
    await sleep(200);
    assert.equal(c.received.length, n);
  });

  test('a changed ServiceEntry pushes only ServiceEntry; unchanged resources keep their version', async () => {
    const before0 = c.responsesFor(SE1).at(-1)!;
    const n = c.received.length;
    const changed = serviceEntry('ns1', 'orders', ['10.0.0.1', '10.0.0.3']);
    h.store.publish([changed, base[1]!, base[2]!]);
    const r = await c.forType(SE1, n);
    await sleep(200);
    assert.deepEqual(
      c.received.slice(n).map((x) => x.type_url),
      [SE1],
      'only the changed type is pushed',
    );
    assert.notEqual(r.version_info, before0.version_info);
    const byName = new Map(r.resources.map((x) => [x.name, x]));
    assert.equal(byName.get('ns2/users')?.version, base[1]!.version, 'unchanged resource keeps its version');
    assert.equal(byName.get('ns1/orders')?.version, changed.version);
    assert.notEqual(changed.version, base[0]!.version);
    assert.equal(c.updates.get(SE1), 3, 'istiod would update 2 at start + 1 changed');
  });

  test('removal: the next response is the full state without the removed resource', async () => {
    const n = c.received.length;
    h.store.publish([base[1]!, base[2]!]);
    const r = await c.forType(SE1, n);
    assert.deepEqual(r.resources.map((x) => x.name), ['ns2/users']);
    assert.deepEqual([...c.store.get(SE1)!.keys()], ['ns2/users']);
    const n2 = c.received.length;
    h.store.publish([base[1]!]);
    const we = await c.forType(WE1, n2);
    assert.equal(we.resources.length, 0, 'the last WorkloadEntry removed: an empty full state');
  });
});

describe('a request that cannot be answered (MB_XDS_BAD_REQUEST, docs/errors.md)', () => {
  test('no type URL: that stream ends with INVALID_ARGUMENT naming the code, counted, logged with a readable reason; other streams stay', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const h = await startHarness({ initial: base, extra: { logger: pino({ level: 'info' }, sink) } });
    const good = new AdsClient({ port: h.port });
    const bad = new AdsClient({ port: h.port });
    try {
      good.subscribe([SE1]);
      await good.forType(SE1);
      bad.send({ type_url: '', response_nonce: '' });
      const end = await bad.ended;
      assert.equal(end.code, grpc.status.INVALID_ARGUMENT);
      assert.match(end.details, /^MB_XDS_BAD_REQUEST: DiscoveryRequest without type_url/);
      const counted = await h.metrics.registry.getSingleMetric('meshbridge_xds_bad_requests_total')?.get();
      assert.equal(counted?.values[0]?.value, 1);
      const closed = lines.find((l) => l['msg'] === 'xds stream closed');
      assert.ok(closed, `a close line: ${JSON.stringify(lines)}`);
      assert.match(String(closed['reason']), /INVALID_ARGUMENT: MB_XDS_BAD_REQUEST/);
      assert.doesNotMatch(String(closed['reason']), /object Object/);
      // The other stream still gets pushes.
      h.store.publish([...base, serviceEntry('ns3', 'late', ['10.0.3.1'])]);
      await good.next((r) => r.type_url === SE1 && r.resources.length === 3);
    } finally {
      good.close();
      bad.close();
      await h.stop();
    }
  });
});
