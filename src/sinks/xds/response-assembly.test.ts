import assert from 'node:assert/strict';
import { test } from 'node:test';
import { messageType, ProtoName } from '../../proto/index.js';
import { assembleResponse, encodeAny, frameResource } from './response-assembly.js';

test('hand-assembled DiscoveryResponse decodes as the protobufjs message', () => {
  const a = encodeAny('type.googleapis.com/x.A', Buffer.from([1, 2, 3]));
  const b = encodeAny('type.googleapis.com/x.B', Buffer.alloc(0));
  const bytes = assembleResponse({
    versionInfo: 'v1',
    typeUrl: 'networking.istio.io/v1/ServiceEntry',
    nonce: 'n-1',
    resources: Buffer.concat([frameResource(a), frameResource(b)]),
  });
  const t = messageType(ProtoName.DiscoveryResponse);
  const o = t.toObject(t.decode(bytes), { arrays: true }) as {
    versionInfo: string;
    typeUrl: string;
    nonce: string;
    resources: { type_url: string; value: Uint8Array }[];
  };
  assert.equal(o.versionInfo, 'v1');
  assert.equal(o.typeUrl, 'networking.istio.io/v1/ServiceEntry');
  assert.equal(o.nonce, 'n-1');
  assert.deepEqual(
    o.resources.map((r) => r.type_url),
    ['type.googleapis.com/x.A', 'type.googleapis.com/x.B'],
  );
  assert.deepEqual([...(o.resources[0]?.value ?? [])], [1, 2, 3]);
});

test('empty resources and empty strings are left out', () => {
  const bytes = assembleResponse({ versionInfo: '', typeUrl: 't', nonce: '', resources: Buffer.alloc(0) });
  assert.deepEqual([...bytes], [(4 << 3) | 2, 1, 't'.charCodeAt(0)]);
});

test('encodeAny writes field 1 type_url then field 2 value', () => {
  assert.deepEqual([...encodeAny('u', Buffer.from([9]))], [0x0a, 1, 'u'.charCodeAt(0), 0x12, 1, 9]);
});
