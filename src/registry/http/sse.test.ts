import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseParser, type SseEvent } from './sse.js';

test('SseParser joins data lines, names events and ignores comments, across chunk borders', () => {
  const got: SseEvent[] = [];
  const p = new SseParser((e) => got.push(e));
  p.push(': keep-alive\n\ndata: {"a"');
  p.push(':1}\ndata: x\r');
  p.push('\n\r\nevent: changed\n\nid: 7\nretry: 10\nevent: other\ndata:y\n');
  assert.deepEqual(got, [
    { type: 'message', data: '{"a":1}\nx' },
    { type: 'changed', data: '' },
  ]);
  p.push('\n');
  assert.deepEqual(got[2], { type: 'other', data: 'y' });
});
