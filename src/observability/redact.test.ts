import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REDACTED, redactSecrets, registerConfigSecrets, registerSecret } from './redact.js';

test('config secrets are found by key, as basic auth and in URLs, and redacted in every wire form', () => {
  registerConfigSecrets({
    registries: [
      { eureka: { serviceUrls: ['http://svc:url-pa$$w0rd@eureka:8761/eureka/'], auth: { username: 'mesh', password: 'pa"ss\\word-1' } } },
      { consul: { token: 'tok-123456', tokenFile: '/var/run/token' } },
    ],
  });
  const basic = Buffer.from('mesh:pa"ss\\word-1').toString('base64');
  const line = JSON.stringify({ msg: `denied ${basic} x-consul-token: tok-123456 body=${encodeURIComponent('pa"ss\\word-1')}`, password: 'pa"ss\\word-1' });
  const out = redactSecrets(line);
  for (const leak of ['tok-123456', basic, 'pa\\"ss\\\\word-1', encodeURIComponent('pa"ss\\word-1')]) assert.ok(!out.includes(leak), `${leak} redacted in ${out}`);
  assert.ok(out.includes(REDACTED));
  assert.equal(redactSecrets('http://svc:url-pa$$w0rd@eureka'), `http://svc:${REDACTED}@eureka`);
  assert.ok(redactSecrets('/var/run/token').includes('/var/run/token'), 'file paths are not secrets');
});

test('short values are not registered (they would redact ordinary text)', () => {
  registerSecret('abc');
  assert.equal(redactSecrets('abcdef'), 'abcdef');
});
