/**
 * Pins what the docs say a new user sees (issue 15, "docs and behaviour disagree"): exit codes,
 * messages and refusals of the CLI, run as a user runs it (the built dist/src/main.js, the file
 * registry, no cluster).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI to its end (killed after `timeoutMs`). */
function meshbridge(args: readonly string[], cwd: string, timeoutMs = 20_000): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd, env: { ...process.env, MESHBRIDGE_SYNC_TIMEOUT_MS: '60000' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function workdir(config: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mb-doc-'));
  await writeFile(join(dir, 'services.yaml'), 'services:\n  - name: web\n    ports: [{number: 80, name: http}]\n    instances: [{address: 10.0.0.1}]\n');
  await writeFile(join(dir, 'meshbridge.yaml'), config);
  return dir;
}

function listen(): Promise<Server & { port: number }> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => resolve(Object.assign(s, { port: (s.address() as { port: number }).port })));
  });
}

const REGISTRY = 'registries:\n  - {name: demo, kind: file, file: {path: services.yaml}, namespace: demo}\n';

test('run: an xDS port in use exits 1 with MB_XDS_LISTEN and no uncoded grpc-js line', async () => {
  const busy = await listen();
  try {
    const dir = await workdir(`${REGISTRY}sinks: {xds: {address: 127.0.0.1:${busy.port}}}\n`);
    const r = await meshbridge(['run', '--config', 'meshbridge.yaml'], dir);
    assert.equal(r.code, 1, `exit status (docs/operations.md: 1 when a listener cannot start); stderr: ${r.stderr}`);
    assert.match(r.stderr, /MB_XDS_LISTEN/);
    assert.doesNotMatch(r.stderr, /^E /m, 'grpc-js prints nothing of its own');
  } finally {
    busy.close();
  }
});

test('run: an admin port in use exits 1 with a coded error', async () => {
  const busy = await listen();
  try {
    const dir = await workdir(`${REGISTRY}sinks: {render: {}}\nadmin: {address: 127.0.0.1:${busy.port}}\n`);
    const r = await meshbridge(['run', '--config', 'meshbridge.yaml'], dir);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /MB_[A-Z_]+/);
  } finally {
    busy.close();
  }
});

test('config: render and check need only registries; run refuses a config without sinks', async () => {
  const dir = await workdir(REGISTRY);
  const render = await meshbridge(['render', '--config', 'meshbridge.yaml'], dir);
  assert.equal(render.code, 0, render.stderr);
  assert.match(render.stdout, /kind: ServiceEntry/);
  const check = await meshbridge(['check', '--config', 'meshbridge.yaml'], dir);
  assert.equal(check.code, 0, check.stdout + check.stderr);
  const run = await meshbridge(['run', '--config', 'meshbridge.yaml'], dir);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /MB_CONFIG_INVALID: .*sinks: is required to run/);
});

test('config: admin: null disables the admin server; a bare :port is refused with the way to say every interface', async () => {
  const off = await workdir(`${REGISTRY}admin: null\n`);
  const r = await meshbridge(['check', '--config', 'meshbridge.yaml'], off);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const bare = await workdir(`${REGISTRY}admin: {address: ":15080"}\n`);
  const b = await meshbridge(['check', '--config', 'meshbridge.yaml'], bare);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /admin\.address: missing host.*0\.0\.0\.0 for all interfaces/);
});

test('render: writes to sinks.render.out when --out is not given', async () => {
  const dir = await workdir(`${REGISTRY}sinks: {render: {out: rendered}}\n`);
  const r = await meshbridge(['render', '--config', 'meshbridge.yaml'], dir);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), '', 'nothing on stdout: the YAML went to the folder');
  assert.ok((await readdir(join(dir, 'rendered'))).length > 0, 'one file per object in rendered/');
});

test('/readyz?verbose names a stale registry while /readyz stays ok', async () => {
  const probe = await listen();
  const admin = probe.port;
  probe.close();
  const dir = await workdir(`${REGISTRY}sinks: {render: {out: rendered}}\nadmin: {address: 127.0.0.1:${admin}}\n`);
  const child = spawn(process.execPath, [MAIN, 'run', '--config', 'meshbridge.yaml'], { cwd: dir, stdio: 'ignore' });
  const get = async (path: string): Promise<{ status: number; body: string }> => {
    const r = await fetch(`http://127.0.0.1:${admin}${path}`);
    return { status: r.status, body: await r.text() };
  };
  const until = async (what: string, cond: () => Promise<boolean>): Promise<void> => {
    for (const end = Date.now() + 15_000; !(await cond().catch(() => false)); ) {
      if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    await until('ready', async () => (await get('/readyz')).status === 200);
    assert.doesNotMatch((await get('/readyz?verbose')).body, /stale/);
    await rm(join(dir, 'services.yaml'));
    await until('a stale note', async () => /- note: registry demo \(file\) is stale: unreachable \(MB_SOURCE_READ\), serving its last known 1 services/.test((await get('/readyz?verbose')).body));
    assert.deepEqual(await get('/readyz'), { status: 200, body: 'ok\n' }, 'a stale registry keeps Meshbridge ready');
  } finally {
    child.kill('SIGTERM');
  }
});

test('render and check fail at once on a missing or multi-document registry file, in plain words', async () => {
  const missing = await workdir('registries:\n  - {name: demo, kind: file, file: {path: nothere.yaml}, namespace: demo}\n');
  // Killed after 20 s: waiting out the 60 s sync timeout would fail this test.
  const r = await meshbridge(['render', '--config', 'meshbridge.yaml'], missing);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /MB_SOURCE_READ: registry demo cannot sync: .*nothere\.yaml: file does not exist/);
  const multi = await workdir('registries:\n  - {name: demo, kind: file, file: {path: two.yaml}, namespace: demo}\n');
  await writeFile(join(multi, 'two.yaml'), 'services: []\n---\nservices: []\n');
  const c = await meshbridge(['check', '--config', 'meshbridge.yaml'], multi);
  assert.equal(c.code, 1);
  assert.match(c.stdout, /more than one YAML document \(---\): a registry file is one document/);
  assert.doesNotMatch(c.stdout + c.stderr, /parseAllDocuments/, "the YAML library's hint to its callers never shows");
});

test('render: an output folder that cannot be made is one coded line, no stack trace', async () => {
  const dir = await workdir(REGISTRY);
  await writeFile(join(dir, 'afile'), '');
  const r = await meshbridge(['render', '--config', 'meshbridge.yaml', '--out', 'afile/x'], dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /MB_RENDER_WRITE/);
  assert.doesNotMatch(r.stderr, /\n\s+at |"stack"/, 'no stack trace');
});

const DOCS = fileURLToPath(new URL('../../../docs/', import.meta.url));

test('configuration.md: the sample refusal of an unknown kind is what the CLI prints', async () => {
  const md = await readFile(join(DOCS, 'configuration.md'), 'utf8');
  const sample = /Any other kind is refused with\s+`MB_CONFIG_INVALID`:\s+```\n(.+)\n```/.exec(md)?.[1];
  assert.ok(sample !== undefined, 'the sample is in configuration.md');
  const dir = await workdir('registries:\n  - {name: demo, kind: dubbo, namespace: demo}\n');
  const r = await meshbridge(['check', '--config', 'meshbridge.yaml'], dir);
  assert.equal(r.code, 2);
  assert.ok(r.stderr.includes(sample), `stderr: ${r.stderr}`);
});

test('mapping.md: exportTo listing a value twice is a config error; under merge the object goes to the first registry\'s namespace', async () => {
  const dup = await workdir(`registries:\n  - {name: demo, kind: file, file: {path: services.yaml}, namespace: demo, exportTo: [a, a]}\n`);
  const d = await meshbridge(['check', '--config', 'meshbridge.yaml'], dup);
  assert.equal(d.code, 2);
  assert.match(d.stderr, /registries\[0\]\.exportTo: must not list a value twice/);
  const dir = await workdir(
    'conflictPolicy: merge\nregistries:\n' +
      '  - {name: one, kind: file, file: {path: services.yaml}, namespace: first-ns, hostTemplate: "{name}.shared"}\n' +
      '  - {name: two, kind: file, file: {path: other.yaml}, namespace: second-ns, hostTemplate: "{name}.shared"}\n',
  );
  await writeFile(join(dir, 'other.yaml'), 'services:\n  - name: web\n    ports: [{number: 80, name: http}]\n    instances: [{address: 10.0.0.2}]\n');
  const r = await meshbridge(['render', '--config', 'meshbridge.yaml'], dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /name: web\.shared\n\s+namespace: first-ns/);
  assert.doesNotMatch(r.stdout, /namespace: second-ns/);
  assert.match(r.stdout, /address: 10\.0\.0\.1[\s\S]*address: 10\.0\.0\.2|address: 10\.0\.0\.2[\s\S]*address: 10\.0\.0\.1/, 'both registries\' endpoints');
});
