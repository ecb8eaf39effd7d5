import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { AdsClient, ISTIOD_TYPE_URLS_V1, ISTIOD_TYPE_URLS_V1ALPHA3, sleep } from '../../test-support/xds/adsc.js';
import { serviceEntry, startHarness, workloadEntry } from '../../test-support/xds/fixtures.js';

const SE = 'networking.istio.io/v1/ServiceEntry';
const base = [serviceEntry('ns1', 'orders', ['10.0.0.1']), workloadEntry('ns1', 'vm1', '10.0.0.9')];

test('nothing is answered before ready (nor before a first snapshot); held requests are answered then', async () => {
  const h = await startHarness({ ready: false });
  const c = new AdsClient({ port: h.port });
  try {
    c.subscribe(ISTIOD_TYPE_URLS_V1);
    await sleep(150);
    assert.equal(c.received.length, 0, 'not ready, no snapshot');
    h.store.publish(base);
    await sleep(150);
    assert.equal(c.received.length, 0, 'snapshot but not ready');
    assert.equal(h.server.debugState().serving, false);
    h.setReady(true);
    await c.allAnswered(ISTIOD_TYPE_URLS_V1);
    assert.equal((await c.forType(SE)).resources.length, 1);
    assert.equal(c.received.length, ISTIOD_TYPE_URLS_V1.length, 'each type answered exactly once');
  } finally {
    c.close();
    await h.stop();
  }
});

test('several concurrent streams each get full state, and each gets later pushes', async () => {
  const h = await startHarness({ initial: base });
  const cs = Array.from({ length: 8 }, (_, i) => new AdsClient({ port: h.port, nodeId: `istiod-${i}` }));
  try {
    cs.forEach((c, i) => c.subscribe(i % 2 === 0 ? ISTIOD_TYPE_URLS_V1 : ISTIOD_TYPE_URLS_V1ALPHA3));
    await Promise.all(cs.map((c, i) => c.allAnswered(i % 2 === 0 ? ISTIOD_TYPE_URLS_V1 : ISTIOD_TYPE_URLS_V1ALPHA3)));
    assert.equal(h.server.debugState().clients.length, 8);
    assert.equal((await h.metrics.registry.getSingleMetricAsString('meshbridge_xds_connected_clients')).split('\n').at(-1), 'meshbridge_xds_connected_clients 8');
    const marks = cs.map((c) => c.received.length);
    h.store.publish([...base, serviceEntry('ns3', 'extra', ['10.3.0.1'])]);
    await Promise.all(
      cs.map((c, i) => c.next((r) => r.type_url.endsWith('/ServiceEntry') && r.resources.length === 2, marks[i])),
    );
  } finally {
    for (const c of cs) c.close();
    await h.stop();
  }
});

test('a reconnecting client gets the full state again', async () => {
  const h = await startHarness({ initial: base });
  try {
    const a = new AdsClient({ port: h.port, nodeId: 'istiod-a' });
    a.subscribe(ISTIOD_TYPE_URLS_V1);
    await a.allAnswered(ISTIOD_TYPE_URLS_V1);
    a.close();
    await sleep(100);
    assert.equal(h.server.debugState().clients.length, 0, 'closed stream forgotten');
    const b = new AdsClient({ port: h.port, nodeId: 'istiod-a' });
    b.subscribe(ISTIOD_TYPE_URLS_V1);
    await b.allAnswered(ISTIOD_TYPE_URLS_V1);
    assert.equal((await b.forType(SE)).resources.length, 1);
    assert.equal((await b.forType('networking.istio.io/v1/WorkloadEntry')).resources.length, 1);
    b.close();
  } finally {
    await h.stop();
  }
});

test('graceful shutdown ends open streams with UNAVAILABLE and refuses new ones', async () => {
  const h = await startHarness({ initial: base });
  const c = new AdsClient({ port: h.port });
  c.subscribe(ISTIOD_TYPE_URLS_V1);
  await c.allAnswered(ISTIOD_TYPE_URLS_V1);
  const t0 = Date.now();
  h.abort.abort();
  const end = await c.ended;
  assert.equal(end.code, grpc.status.UNAVAILABLE);
  await h.server.stopped();
  assert.ok(Date.now() - t0 < 1000, 'stopped before the grace period forced it');
  assert.equal(h.server.debugState().clients.length, 0);
  const late = new AdsClient({ port: h.port });
  late.subscribe([SE]);
  const lateEnd = await late.ended;
  assert.notEqual(lateEnd.code, grpc.status.OK);
  late.close();
  c.close();
});

test('start rejects with MB_XDS_LISTEN when the address is taken', async () => {
  const h = await startHarness({ initial: base });
  try {
    await assert.rejects(
      startHarness({ extra: { address: `127.0.0.1:${h.port}` } }),
      (e: unknown) => (e as { code?: string }).code === 'MB_XDS_LISTEN',
    );
  } finally {
    await h.stop();
  }
});
