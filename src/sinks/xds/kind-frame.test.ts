import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assembleResponse, encodeAny, frameResource } from './response-assembly.js';
import { EMPTY_FRAME, HEAD_ROOM, OutgoingResponse, ResponseFrame, TAIL_ROOM } from './kind-frame.js';

function frameOf(resources: Buffer): ResponseFrame {
  const f = ResponseFrame.allocate(resources.length, 2);
  resources.copy(f.block());
  return f;
}

const resources = Buffer.concat([
  frameResource(encodeAny('type.googleapis.com/x.A', Buffer.from([1, 2, 3]))),
  frameResource(encodeAny('type.googleapis.com/x.B', Buffer.alloc(0))),
]);

test('a frame writes the same bytes as assembleResponse, for every field combination', () => {
  const f = frameOf(resources);
  for (const versionInfo of ['', 'abcdef0123456789'])
    for (const typeUrl of ['', 'networking.istio.io/v1alpha3/ServiceEntry'])
      for (const nonce of ['', '17']) {
        const want = assembleResponse({ versionInfo, typeUrl, nonce, resources });
        const r = new OutgoingResponse(f, versionInfo, typeUrl, nonce);
        assert.deepEqual(r.serialize(), want);
        assert.equal(r.byteLength(), want.length);
      }
});

test('responses of one frame for several streams: each is right when taken, the resources never change', () => {
  const f = frameOf(resources);
  const a = Buffer.from(new OutgoingResponse(f, 'v1', 'type/one', 'n-1').serialize());
  const b = Buffer.from(new OutgoingResponse(f, 'v1', 'type/a-much-longer-type-url', 'nonce-2').serialize());
  assert.deepEqual(a, assembleResponse({ versionInfo: 'v1', typeUrl: 'type/one', nonce: 'n-1', resources }));
  assert.deepEqual(b, assembleResponse({ versionInfo: 'v1', typeUrl: 'type/a-much-longer-type-url', nonce: 'nonce-2', resources }));
  assert.deepEqual(f.block(), resources);
});

test('fields longer than the reserved room fall back to a copy', () => {
  const f = frameOf(resources);
  const longVersion = 'v'.repeat(HEAD_ROOM + 10);
  const longType = 't'.repeat(TAIL_ROOM + 10);
  const r = new OutgoingResponse(f, longVersion, longType, 'n');
  const want = assembleResponse({ versionInfo: longVersion, typeUrl: longType, nonce: 'n', resources });
  assert.deepEqual(r.serialize(), want);
  assert.equal(r.byteLength(), want.length);
  assert.deepEqual(f.block(), resources);
});

test('the empty frame answers types Meshbridge does not publish', () => {
  const r = new OutgoingResponse(EMPTY_FRAME, 'meshbridge-empty', 'type/x', '3');
  assert.deepEqual(r.serialize(), assembleResponse({ versionInfo: 'meshbridge-empty', typeUrl: 'type/x', nonce: '3', resources: Buffer.alloc(0) }));
});
