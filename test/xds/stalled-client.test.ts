import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AdsClient, sleep } from '../../test-support/xds/adsc.js';
import { serviceEntry, startHarness } from '../../test-support/xds/fixtures.js';

const SE = 'networking.istio.io/v1/ServiceEntry';

function many(n: number, changedIndex: number) {
  return Array.from({ length: n }, (_, i) =>
    serviceEntry(`ns${i % 50}`, `svc-${i}`, [`10.${(i >> 8) & 255}.${i & 255}.1`, i === changedIndex ? '10.255.255.255' : '10.254.0.1']),
  );
}

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

/** Live memory after a full collection: heap plus Buffers (responses are Buffers). */
function live(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

async function metric(h: { metrics: { registry: { getSingleMetricAsString(n: string): Promise<string> } } }, name: string): Promise<number> {
  const text = await h.metrics.registry.getSingleMetricAsString(name);
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

// Issue 10 case 5: an istiod that stops reading must not make Meshbridge queue a full response per
// publish. One response per type is in flight until it is answered; newer state replaces it.
test('a stalled ADS client holds one response in flight; live memory stays flat; it catches up with the latest only', async () => {
  const N = 4000;
  const h = await startHarness({ initial: many(N, -1) });
  const c = new AdsClient({ port: h.port });
  try {
    c.subscribe([SE]);
    await c.forType(SE, 0, 30_000);
    await sleep(100); // the ACK of the first response reaches the server
    const oneResponse = await metric(h, 'meshbridge_xds_push_bytes_total');
    assert.ok(oneResponse > 500_000, `a sizeable response (${oneResponse} bytes)`);
    const pushesBefore = await metric(h, 'meshbridge_xds_pushes_total');

    c.pause();
    const live0 = live();
    const versions = 40;
    for (let i = 0; i < versions; i++) {
      h.store.publish(many(N, i));
      await sleep(20);
    }
    const grew = live() - live0;
    const pushesStalled = (await metric(h, 'meshbridge_xds_pushes_total')) - pushesBefore;
    const queued = await metric(h, 'meshbridge_xds_queued_bytes');
    const deferred = await metric(h, 'meshbridge_xds_pushes_deferred_total');
    // Printed, not asserted on time: the figures a reader wants to see.
    console.log(`# stalled client: ${versions} versions of ${N} ServiceEntries (${(oneResponse / 1048576).toFixed(1)} MiB each): ` +
      `${pushesStalled} written, ${deferred} deferred, ${(queued / 1048576).toFixed(1)} MiB queued, live memory +${(grew / 1048576).toFixed(1)} MiB`);
    assert.equal(pushesStalled, 1, 'one response written while the client does not answer');
    assert.ok(deferred >= versions - 1, `the other versions are deferred (${deferred})`);
    assert.ok(queued <= oneResponse * 1.1, `at most one response queued (${queued} bytes)`);
    assert.ok(grew < oneResponse * 8, `memory flat: live memory grew ${grew} bytes for ${versions} versions of ${oneResponse} bytes`);
    const dbg = h.server.debugState().clients.find((x) => x.nodeId === c.nodeId)!;
    assert.equal(dbg.types[0]!.reply, 'pending');
    assert.ok(dbg.types[0]!.sentAt !== undefined);

    c.resume();
    const last = h.store.current()!.kinds.get('ServiceEntry')!.version;
    const r = await c.next((x) => x.version_info === last, 0, 30_000);
    assert.equal(r.resources.length, N);
    assert.ok(c.responsesFor(SE).length <= 3, `caught up with the latest only (${c.responsesFor(SE).length} responses)`);
    await sleep(100);
    assert.equal(await metric(h, 'meshbridge_xds_queued_bytes'), 0, 'nothing left queued once ACKed');
  } finally {
    c.close();
    await h.stop();
  }
});

test('a client that never answers gets no second response of a type; an ACK releases the newest', async () => {
  const h = await startHarness({ initial: many(10, -1) });
  const c = new AdsClient({ port: h.port, autoAck: false });
  try {
    c.subscribe([SE]);
    const first = await c.forType(SE);
    h.store.publish(many(10, 1));
    h.store.publish(many(10, 2));
    await sleep(200);
    assert.equal(c.responsesFor(SE).length, 1, 'nothing sent while the first response is unanswered');
    c.send({ type_url: SE, response_nonce: 'not-ours', version_info: first.version_info });
    await sleep(100);
    assert.equal(c.responsesFor(SE).length, 1, 'a stale nonce does not release the slot');
    c.send({ type_url: SE, response_nonce: first.nonce, version_info: first.version_info });
    const latest = h.store.current()!.kinds.get('ServiceEntry')!.version;
    const second = await c.forType(SE, 1);
    assert.equal(second.version_info, latest, 'the ACK releases the newest version, skipping the one between');
    // A NACK releases the slot too (the next version is sent; the rejected one is not resent).
    h.store.publish(many(10, 3));
    await sleep(100);
    assert.equal(c.responsesFor(SE).length, 2);
    c.send({ type_url: SE, response_nonce: second.nonce, version_info: first.version_info, error_detail: { code: 3, message: 'bad' } });
    const third = await c.forType(SE, 2);
    assert.equal(third.version_info, h.store.current()!.kinds.get('ServiceEntry')!.version);
  } finally {
    c.close();
    await h.stop();
  }
});
