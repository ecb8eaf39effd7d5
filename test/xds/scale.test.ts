import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdsClient, ISTIOD_TYPE_URLS_V1 } from '../../test-support/xds/adsc.js';
import { serviceEntry, startHarness } from '../../test-support/xds/fixtures.js';

const SE = 'networking.istio.io/v1/ServiceEntry';

function many(n: number, changedIndex = -1) {
  return Array.from({ length: n }, (_, i) =>
    serviceEntry(`ns${i % 50}`, `svc-${i}`, [`10.${(i >> 8) & 255}.${i & 255}.1`, i === changedIndex ? '10.255.255.255' : '10.254.0.1']),
  );
}

// Sanity at scale, no timing assertions (bench/ measures).
test('5,000 ServiceEntries: full push, then one change re-encodes one resource', async () => {
  const h = await startHarness({ initial: many(5000) });
  const c = new AdsClient({ port: h.port });
  try {
    c.subscribe(ISTIOD_TYPE_URLS_V1);
    await c.allAnswered(ISTIOD_TYPE_URLS_V1, 30_000);
    const first = await c.forType(SE);
    assert.equal(first.resources.length, 5000);
    assert.equal(new Set(first.resources.map((r) => r.name)).size, 5000);
    const encodes = h.server.debugState().cache.encodes;
    assert.equal(encodes, 5000);
    const n = c.received.length;
    h.store.publish(many(5000, 42));
    const second = await c.forType(SE, n, 30_000);
    assert.equal(second.resources.length, 5000);
    assert.equal(h.server.debugState().cache.encodes, encodes + 1, 'only the changed resource is re-encoded');
    assert.equal(c.updates.get(SE), 5001);
  } finally {
    c.close();
    await h.stop();
  }
});

test('a congested stream is coalesced: it catches up with the latest state only', async () => {
  const h = await startHarness({ initial: many(3000) });
  const c = new AdsClient({ port: h.port, autoAck: true });
  try {
    c.subscribe([SE]);
    await c.forType(SE, 0, 30_000);
    c.pause();
    for (let i = 0; i < 40; i++) h.store.publish(many(3000, i));
    const last = h.store.current()!.kinds.get('ServiceEntry')!.version;
    c.resume();
    const r = await c.next((x) => x.version_info === last, 0, 30_000);
    assert.equal(r.resources.length, 3000);
    assert.ok(c.responsesFor(SE).length < 41, `coalesced: ${c.responsesFor(SE).length} responses for 41 versions`);
  } finally {
    c.close();
    await h.stop();
  }
});
