import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveKubeConfig } from './kubeconfig.js';

const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');

async function kubeconfig(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mb-kubeconfig-'));
  const file = join(dir, 'config');
  await writeFile(file, text);
  return file;
}

const config = (current: string): string => `apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster: { server: "https://127.0.0.1:6443", certificate-authority-data: ${CA.toString('base64')} }
- name: c2
  cluster: { server: "https://127.0.0.1:7443", insecure-skip-tls-verify: true }
users:
- name: u1
  user: { token: secret-token }
contexts:
- name: one
  context: { cluster: c1, user: u1 }
- name: two
  context: { cluster: c2, user: u1 }
current-context: ${current}
`;

test('a kubeconfig resolves in a worker thread to the server, TLS material and auth header', async () => {
  const r = await resolveKubeConfig({ kubeconfig: await kubeconfig(config('one')) });
  assert.equal(r.server.href, 'https://127.0.0.1:6443/');
  assert.ok(Buffer.isBuffer(r.options.ca), 'the CA crosses the thread as a Buffer');
  assert.deepEqual(r.options.ca, CA);
  assert.equal((r.options.headers as Record<string, string>)['Authorization'], 'Bearer secret-token');
});

test('the context option picks another context', async () => {
  const r = await resolveKubeConfig({ kubeconfig: await kubeconfig(config('one')), context: 'two' });
  assert.equal(r.server.port, '7443');
  assert.equal(r.options.rejectUnauthorized, false);
});

test('a kubeconfig without a current cluster, or a missing file, is a clear error', async () => {
  await assert.rejects(resolveKubeConfig({ kubeconfig: await kubeconfig(config('nope')) }), /context|cluster/i);
  await assert.rejects(resolveKubeConfig({ kubeconfig: '/nonexistent/kubeconfig' }), /ENOENT|no such file/);
});
