import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PayloadError, decodePayload, encodePayload } from './wire.js';

test('nacos wire: payload round trip (type in metadata, JSON body, headers)', () => {
  const buf = encodePayload({ type: 'ServiceListRequest', body: { namespace: 'public', pageNo: 1 }, headers: { accessToken: 't' } });
  const m = decodePayload(buf);
  assert.equal(m.type, 'ServiceListRequest');
  assert.deepEqual(m.body, { namespace: 'public', pageNo: 1 });
  assert.deepEqual(m.headers, { accessToken: 't' });
  assert.throws(() => decodePayload(Buffer.from([0xff, 0xff, 0xff])), PayloadError);
  assert.throws(() => decodePayload(encodePayload({ type: '', body: {} })), PayloadError);
});
