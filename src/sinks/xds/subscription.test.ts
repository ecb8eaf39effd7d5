import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NonceSource, RequestClass, classifyRequest, newTypeState } from './subscription.js';

test('nothing sent yet: any nonce (istiod sends a timestamp) is a subscription', () => {
  assert.equal(classifyRequest(undefined, { responseNonce: '2024-01-01 10:00:00 +0000 UTC', hasError: false }), RequestClass.Subscribe);
  assert.equal(classifyRequest(newTypeState('t'), { responseNonce: '', hasError: false }), RequestClass.Subscribe);
});

test('after a send: echo is ACK, echo with error is NACK, anything else stale', () => {
  const st = { ...newTypeState('t'), sentNonce: 'n2', sentVersion: 'v' };
  assert.equal(classifyRequest(st, { responseNonce: 'n2', hasError: false }), RequestClass.Ack);
  assert.equal(classifyRequest(st, { responseNonce: 'n2', hasError: true }), RequestClass.Nack);
  assert.equal(classifyRequest(st, { responseNonce: 'n1', hasError: false }), RequestClass.Stale);
  assert.equal(classifyRequest(st, { responseNonce: '', hasError: false }), RequestClass.Stale);
});

test('nonces are unique and prefixed per source', () => {
  const a = new NonceSource('p');
  assert.deepEqual([a.next(), a.next()], ['p-1', 'p-2']);
  assert.notEqual(new NonceSource().next(), new NonceSource().next());
});
