import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { AdsClient } from '../../test-support/xds/adsc.js';
import { serviceEntry, startHarness } from '../../test-support/xds/fixtures.js';

const SE = 'networking.istio.io/v1/ServiceEntry';

/** A self-signed certificate for 127.0.0.1 and localhost (openssl is on every Debian machine). */
function selfSigned(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=meshbridge-test', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  return { cert, key };
}

test('tls: SIMPLE TLS serves a client that trusts the certificate; a plaintext client gets nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshbridge-tls-'));
  const { cert, key } = selfSigned(dir);
  const h = await startHarness({ initial: [serviceEntry('ns', 'a', ['10.0.0.1'])], extra: { tls: { certFile: cert, keyFile: key } } });
  try {
    const tls = new AdsClient({ port: h.port, credentials: grpc.credentials.createSsl(readFileSync(cert)) });
    tls.subscribe([SE]);
    const r = await tls.forType(SE);
    assert.equal(r.resources.length, 1);
    tls.close();

    const plain = new AdsClient({ port: h.port });
    plain.subscribe([SE]);
    const end = await plain.ended;
    assert.equal(end.code, grpc.status.UNAVAILABLE);
    assert.equal(plain.received.length, 0);
  } finally {
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tls: a missing key file fails start with MB_XDS_LISTEN', async () => {
  await assert.rejects(
    startHarness({ extra: { tls: { certFile: '/nonexistent/tls.crt', keyFile: '/nonexistent/tls.key' } } }),
    (e: unknown) => (e as { code?: string }).code === 'MB_XDS_LISTEN',
  );
});
