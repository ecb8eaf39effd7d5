import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, get, REPO, tempDir } from '../../test-support/cli.js';

// Issue 10, "also seen": an install without src/proto beside dist/ answered /readyz 200 while
// every MCP request failed to deserialize. Readiness must mean "can serve": such an install
// must refuse to start, with a code, and never answer ready.
test('an install without its .proto files exits with MB_XDS_PROTO and never reports ready', async () => {
  const root = await tempDir('meshbridge-noproto-');
  await cp(join(REPO, 'dist'), join(root, 'dist'), { recursive: true });
  await cp(join(REPO, 'package.json'), join(root, 'package.json'));
  await symlink(join(REPO, 'node_modules'), join(root, 'node_modules'));
  await writeFile(join(root, 'services.yaml'), 'services:\n  - name: a\n    ports: [{number: 80, name: http}]\n    instances: [{address: 127.0.0.21}]\n');
  const admin = await freePort();
  const xds = await freePort();
  await writeFile(
    join(root, 'meshbridge.yaml'),
    `registries:\n  - {name: demo, kind: file, namespace: demo, file: {path: services.yaml}}\nsinks:\n  xds: {address: 127.0.0.1:${xds}}\nadmin: {address: 127.0.0.1:${admin}}\n`,
  );
  const child = spawn(process.execPath, [join(root, 'dist', 'src', 'main.js'), 'run', '--config', join(root, 'meshbridge.yaml')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 128)));
  // Before the fix the process ran and became ready: give up (and fail) after 15 s.
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const readyAnswers: number[] = [];
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    try {
      readyAnswers.push((await get(`http://127.0.0.1:${admin}/readyz`)).status);
    } catch {
      // not listening (yet, or any more)
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const code = await exited;
  clearTimeout(killer);
  assert.notEqual(code, 0, `exits non-zero; output:\n${out}`);
  assert.match(out, /MB_XDS_PROTO/);
  assert.match(out, /proto files not found/);
  assert.ok(!readyAnswers.includes(200), `/readyz never answered 200 (answers: ${readyAnswers.join(',')})`);
});
