import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TOKEN_FILE_REREAD_MS, resolveKubeConfig } from './kubeconfig.js';

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

test('the common kubeconfigs are read natively: no worker, no client library', async () => {
  const r = await resolveKubeConfig({ kubeconfig: await kubeconfig(config('one')) });
  assert.equal(r.via, 'native');
});

test('certificate files are relative to the kubeconfig folder; tls-server-name and basic auth', async () => {
  const file = await kubeconfig(`apiVersion: v1
clusters:
- name: c
  cluster: {server: "https://10.0.0.1:6443", certificate-authority: ca.pem, tls-server-name: api.internal}
users:
- name: u
  user: {client-certificate: certs/user.crt, client-key-data: ${Buffer.from('KEY').toString('base64')}, username: alice, password: s3cret}
contexts:
- {name: x, context: {cluster: c, user: u}}
current-context: x
`);
  const dir = join(file, '..');
  await writeFile(join(dir, 'ca.pem'), CA);
  await mkdir(join(dir, 'certs'));
  await writeFile(join(dir, 'certs', 'user.crt'), 'CERT');
  const r = await resolveKubeConfig({ kubeconfig: file });
  assert.equal(r.via, 'native');
  assert.deepEqual(r.options.ca, CA);
  assert.equal((r.options.cert as Buffer).toString(), 'CERT');
  assert.equal((r.options.key as Buffer).toString(), 'KEY');
  assert.equal(r.options.servername, 'api.internal');
  assert.equal((r.options.headers as Record<string, string>)['Authorization'], `Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
});

test('in-cluster: the service account token is sent and re-read as it rotates; $KUBECONFIG comes first', async () => {
  const sa = await mkdtemp(join(tmpdir(), 'mb-sa-'));
  await writeFile(join(sa, 'token'), 'token-1\n');
  await writeFile(join(sa, 'ca.crt'), CA);
  let clock = 0;
  const environment = { env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, home: sa, serviceAccountDir: sa, now: () => clock };
  const r = await resolveKubeConfig({}, environment);
  assert.equal(r.server.href, 'https://[fd00::1]/');
  assert.deepEqual(r.options.ca, CA);
  assert.equal(r.authorization?.(), 'Bearer token-1');
  await writeFile(join(sa, 'token'), 'token-2\n');
  assert.equal(r.authorization?.(), 'Bearer token-1', 'not re-read within the interval');
  clock += TOKEN_FILE_REREAD_MS;
  assert.equal(r.authorization?.(), 'Bearer token-2', 're-read after the interval');
  await rm(join(sa, 'token'));
  clock += TOKEN_FILE_REREAD_MS;
  assert.equal(r.authorization?.(), 'Bearer token-2', 'a failed re-read keeps the last token');
  const file = await kubeconfig(config('two'));
  const viaEnv = await resolveKubeConfig({}, { ...environment, env: { ...environment.env, KUBECONFIG: file } });
  assert.equal(viaEnv.server.port, '7443');
});

test('nothing to go on is a clear error; an exec user goes to the client library', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'mb-home-'));
  await assert.rejects(resolveKubeConfig({}, { env: {}, home: empty, serviceAccountDir: join(empty, 'none'), now: () => 0 }), /no kubeconfig found/);
  const plugin = join(empty, 'credential.sh');
  await writeFile(plugin, `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-exec"}}'\n`, { mode: 0o755 });
  const file = await kubeconfig(`apiVersion: v1
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: ${plugin}, interactiveMode: Never}}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`);
  const r = await resolveKubeConfig({ kubeconfig: file });
  assert.equal(r.via, 'library');
  assert.equal(r.server.port, '6443');
  assert.equal((r.options.headers as Record<string, string>)['Authorization'], 'Bearer from-exec');
});
