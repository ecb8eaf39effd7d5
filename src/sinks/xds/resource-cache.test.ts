import assert from 'node:assert/strict';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { messageType, ProtoName } from '../../proto/index.js';
import { SnapshotStore, resourceKey, type IstioResource, type ResourceKind } from '../../snapshot/index.js';
import { encodeBody } from './spec-encoding.js';
import { ResourceCache, encodeResourceAny } from './resource-cache.js';
import { OutgoingResponse } from './kind-frame.js';

function res(kind: ResourceKind, name: string, spec: Record<string, unknown>, version = `v-${JSON.stringify(spec).length}`): IstioResource {
  return { kind, namespace: 'ns', name, key: resourceKey(kind, 'ns', name), labels: { a: 'b' }, annotations: {}, spec, version };
}

const se = (name: string, extra: Record<string, unknown> = {}): IstioResource =>
  res('ServiceEntry', name, { hosts: [`${name}.example`], location: 'MESH_INTERNAL', resolution: 'DNS_ROUND_ROBIN', ...extra });

test('enums encode to their numbers; camelCase spec fields land on their field numbers', () => {
  const t = messageType(ProtoName.ServiceEntry);
  const bytes = encodeBody(
    se('a', {
      ports: [{ number: 80, protocol: 'HTTP', name: 'http', targetPort: 8080 }],
      exportTo: ['.'],
      subjectAltNames: ['spiffe://x'],
      workloadSelector: { labels: { app: 'a' } },
    }),
  );
  const o = t.toObject(t.decode(bytes), { enums: Number });
  assert.equal(o['location'], 1);
  assert.equal(o['resolution'], 3);
  assert.deepEqual(o['exportTo'], ['.']);
  assert.deepEqual(o['subjectAltNames'], ['spiffe://x']);
  assert.deepEqual(o['workloadSelector'], { labels: { app: 'a' } });
  // raw check of one field number: target_port is field 4 of ServicePort (tag 0x20)
  const r = protobuf.Reader.create(bytes);
  let sawPorts = false;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 3) {
      const port = r.bytes();
      sawPorts = true;
      assert.ok(port.includes(0x20), 'target_port tag present');
    } else r.skipType(tag & 7);
  }
  assert.ok(sawPorts);
});

test('an unknown enum name is refused instead of silently becoming 0', () => {
  assert.throws(() => encodeBody(se('a', { resolution: 'DNSS' })), /not a Resolution value/);
  assert.throws(() => encodeBody(se('a', { location: 'MESH_INTERNALL' })), /not a Location value/);
});

test('MCP Resource Any: type URL, metadata name and version, body Any', () => {
  const bytes = encodeResourceAny(se('a'), 1_700_000_000_123);
  const anyT = messageType(ProtoName.Any);
  const any = anyT.decode(bytes) as unknown as { type_url: string; value: Uint8Array };
  assert.equal(any.type_url, 'type.googleapis.com/istio.mcp.v1alpha1.Resource');
  const rt = messageType(ProtoName.McpResource);
  const r = rt.toObject(rt.decode(any.value), { longs: Number }) as {
    metadata: { name: string; version: string; createTime: { seconds: number; nanos: number }; labels: Record<string, string> };
    body: { type_url: string };
  };
  assert.equal(r.metadata.name, 'ns/a');
  assert.equal(r.metadata.version, se('a').version);
  assert.deepEqual(r.metadata.createTime, { seconds: 1_700_000_000, nanos: 123_000_000 });
  assert.deepEqual(r.metadata.labels, { a: 'b' });
  assert.equal(r.body.type_url, 'type.googleapis.com/istio.networking.v1alpha3.ServiceEntry');
});

test('encodes each resource once per version; kind blocks are memoised; retain evicts', () => {
  const store = new SnapshotStore();
  const cache = new ResourceCache({ now: () => 1000 });
  const s1 = store.publish([se('a'), se('b')])!;
  const b1 = cache.encodeKind(s1.kinds.get('ServiceEntry')!);
  assert.equal(b1.count, 2);
  assert.equal(cache.encodeKind(s1.kinds.get('ServiceEntry')!), b1, 'same kind version: same block');
  const s2 = store.publish([se('a'), se('b', { exportTo: ['*'] })])!;
  cache.retain(s2);
  const b2 = cache.encodeKind(s2.kinds.get('ServiceEntry')!);
  assert.equal(b2.count, 2);
  assert.deepEqual(cache.stats(), { entries: 2, encodes: 3, hits: 1, failures: 0 });
  const s3 = store.publish([se('b', { exportTo: ['*'] })])!;
  cache.retain(s3);
  assert.equal(cache.stats().entries, 1);
});

test('a kind rebuilt from the previous frame holds the same bytes as one built from nothing', () => {
  const names = Array.from({ length: 40 }, (_, i) => `s${String(i).padStart(2, '0')}`);
  let rnd = 7;
  const next = (n: number): number => {
    rnd = (rnd * 1103515245 + 12345) % 2 ** 31;
    return (rnd >>> 12) % n;
  };
  const store = new SnapshotStore();
  const cache = new ResourceCache({ now: () => 1000 });
  let live = names.slice(0, 30).map((n) => se(n));
  for (let round = 0; round < 25; round++) {
    const op = next(3);
    const i = next(live.length);
    if (op === 0) live = live.map((r, j) => (j === i ? se(r.name, { exportTo: [`ns${round}`] }) : r));
    else if (op === 1 && live.length > 1) live = live.filter((_, j) => j !== i);
    else {
      const name = names[next(40)]!;
      live = [...live.filter((r) => r.name !== name), se(name, { exportTo: [`x${round}`] })];
    }
    const snap = store.publish(live);
    if (snap === undefined) continue;
    cache.retain(snap);
    const ks = snap.kinds.get('ServiceEntry')!;
    const got = cache.encodeKind(ks);
    const fresh = new ResourceCache({ now: () => 1000 }).encodeKind(ks);
    assert.deepEqual(got.block, fresh.block, `round ${round}`);
    assert.equal(got.count, ks.resources.size);
  }
  assert.ok(cache.stats().hits > 0, 'unchanged resources were copied, not re-encoded');
});

test('a resource that cannot be encoded is left out and reported; the others are served', () => {
  const store = new SnapshotStore();
  const bad: IstioResource[] = [];
  const cache = new ResourceCache({ onEncodeError: (r) => bad.push(r) });
  const s = store.publish([se('good'), se('bad', { resolution: 'NOPE' }), se('worse', { hosts: 'not-a-list' })])!;
  const b = cache.encodeKind(s.kinds.get('ServiceEntry')!);
  assert.equal(b.count, 1);
  assert.deepEqual(bad.map((r) => r.name).sort(), ['bad', 'worse']);
  assert.equal(cache.stats().failures, 2);
});

test("a superseded frame's memory is reused once no queued response points at it", () => {
  const store = new SnapshotStore();
  const cache = new ResourceCache({ now: () => 1000 });
  const names = ['a', 'b', 'c', 'd'];
  const encodeRound = (round: number) => {
    const snap = store.publish(
      names.map((n, i) => {
        const exportTo = [i === round % names.length ? `r${round}` : 'x0'];
        return res('ServiceEntry', n, { hosts: [`${n}.example`], location: 'MESH_INTERNAL', resolution: 'DNS_ROUND_ROBIN', exportTo }, `v-${exportTo[0]}`);
      }),
    )!;
    cache.retain(snap);
    const ks = snap.kinds.get('ServiceEntry')!;
    const enc = cache.encodeKind(ks);
    assert.deepEqual(enc.block, new ResourceCache({ now: () => 1000 }).encodeKind(ks).block, `round ${round}: same bytes as from nothing`);
    return enc;
  };
  const e1 = encodeRound(1);
  const e2 = encodeRound(2);
  assert.notEqual(e2.block.buffer, e1.block.buffer, 'no spare yet: new memory');
  const e3 = encodeRound(3);
  assert.equal(e3.block.buffer, e1.block.buffer, 'the frame before the current one is reused');
  const e3bytes = Buffer.from(e3.block);
  const queued = new OutgoingResponse(e3.frame, 'v', 'type/x', 'n');
  const e4 = encodeRound(4);
  assert.equal(e4.block.buffer, e2.block.buffer);
  const e5 = encodeRound(5);
  assert.notEqual(e5.block.buffer, e3.block.buffer, 'a frame a queued response points at is not reused');
  // version_info 'v' is 3 bytes (tag, length, 'v'); the resources follow.
  assert.deepEqual(queued.serialize().subarray(3, 3 + e3bytes.length), e3bytes, 'the queued response still carries its own bytes');
});
