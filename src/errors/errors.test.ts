import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from './codes.js';
import { MeshbridgeError } from './errors.js';

test('message is path: reason; reason and path are kept apart', () => {
  const e = new MeshbridgeError(ErrorCode.ENTRY_INVALID, 'bad port; skipped', { path: 'zk /dubbo/x' });
  assert.equal(e.message, 'zk /dubbo/x: bad port; skipped');
  assert.equal(e.reason, 'bad port; skipped');
  assert.equal(e.path, 'zk /dubbo/x');
  assert.equal(new MeshbridgeError(ErrorCode.INTERNAL, 'plain').message, 'plain');
});

test('a long path is shortened in the message, never in the path field', () => {
  const path = `demo//${'a'.repeat(300)}`;
  const e = new MeshbridgeError(ErrorCode.NAME_INVALID, 'host is not a valid DNS host', { path });
  assert.equal(e.path, path);
  assert.ok(e.message.length < 160, `message of ${e.message.length} characters`);
  assert.match(e.message, /^demo\/\/a+\.\.\.a+: host is not a valid DNS host$/);
});
