/**
 * deploy/Dockerfile and .dockerignore, without Docker (it is not needed by the tests): the stages
 * are what the chart expects (non-root user = the chart's runAsUser, entrypoint, the config path
 * the chart mounts), and the runtime layout the Dockerfile assembles (dist/src, the .proto files,
 * schema/, examples/, no TypeScript, no tests) runs: `meshbridge run` from such a copy serves
 * MCP-over-xDS (which loads the .proto files) and answers /readyz.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { eventually } from '../../test-support/kube.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

interface Stage {
  from: string;
  name: string | undefined;
  lines: string[];
}

/** Instructions per stage, continuation lines joined, comments dropped. */
function stages(text: string): Stage[] {
  const joined = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const out: Stage[] = [];
  for (const line of joined) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from !== null) out.push({ from: from[1]!, name: from[2], lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

test('Dockerfile: node:20-bookworm-slim build (npm ci, npm run build) and runtime (npm ci --omit=dev), non-root, entrypoint and config path match the chart', async () => {
  const text = await readFile(join(REPO, 'deploy', 'Dockerfile'), 'utf8');
  const [build, runtime, ...rest] = stages(text);
  assert.equal(rest.length, 0, 'two stages');
  assert.ok(build !== undefined && runtime !== undefined);
  assert.equal(build.from, 'node:20-bookworm-slim');
  assert.equal(runtime.from, 'node:20-bookworm-slim');
  const has = (s: Stage, re: RegExp): boolean => s.lines.some((l) => re.test(l));
  assert.ok(has(build, /^RUN npm ci\b/), 'build: npm ci');
  assert.ok(has(build, /^RUN npm run build\b/), 'build: npm run build');
  assert.ok(has(runtime, /^RUN npm ci --omit=dev\b/), 'runtime: production dependencies only');
  assert.ok(has(runtime, new RegExp(`^COPY --from=${build.name ?? 'x'} /src/dist \\./dist$`)), 'runtime: dist/ from the build');
  assert.ok(has(runtime, /^COPY --from=\S+ \/src\/src\/proto \.\/src\/proto$/), 'runtime: src/proto');
  assert.ok(has(runtime, /find src\/proto -type f ! -name '\*\.proto' -delete/), 'runtime: only the .proto files of src/proto');
  assert.ok(has(runtime, /^COPY schema \.\/schema$/) && has(runtime, /^COPY examples \.\/examples$/));

  const user = runtime.lines.find((l) => l.startsWith('USER '));
  const uid = Number(/^USER (\d+)(?::\d+)?$/.exec(user ?? '')?.[1]);
  assert.ok(uid > 0, `numeric non-root USER (so runAsNonRoot can verify it): ${user}`);
  const values = parse(await readFile(join(REPO, 'deploy', 'helm', 'meshbridge', 'values.yaml'), 'utf8')) as { podSecurityContext: { runAsUser: number } };
  assert.equal(values.podSecurityContext.runAsUser, uid, "the chart's runAsUser is the image's user");

  const json = (prefix: string): string[] => JSON.parse(runtime.lines.find((l) => l.startsWith(prefix))!.slice(prefix.length)) as string[];
  assert.deepEqual(json('ENTRYPOINT '), ['node', '/app/dist/src/main.js']);
  assert.deepEqual(json('CMD '), ['run', '--config', '/etc/meshbridge/meshbridge.yaml']);
  const deployment = await readFile(join(REPO, 'deploy', 'helm', 'meshbridge', 'templates', 'deployment.yaml'), 'utf8');
  assert.match(deployment, /args: \[run, --config, \/etc\/meshbridge\/meshbridge\.yaml\]/);
  assert.match(deployment, /mountPath: \/etc\/meshbridge\n/);
});

test('.dockerignore keeps node_modules, dist, tests and the git folder out, and lets in what the Dockerfile copies', async () => {
  const rules = (await readFile(join(REPO, '.dockerignore'), 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  for (const p of ['**/node_modules', 'dist', '.git', 'test', 'test-support']) assert.ok(rules.includes(p), `${p} is ignored`);
  const copied = ['package.json', 'package-lock.json', '.npmrc', 'tsconfig.json', 'src', 'schema', 'examples', 'LICENSE', 'README.md'];
  for (const p of copied) assert.ok(!rules.some((r) => r === p || r === `${p}/` || r === `/${p}`), `${p} is not ignored`);
});

test('the runtime layout of the image runs: meshbridge run serves MCP (loads the .proto files) and turns ready', { timeout: 60000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'meshbridge-image-layout-'));
  const app = join(dir, 'app');
  try {
    // What the runtime stage holds: package.json, node_modules (here: the repository's), dist/ as
    // the build stage makes it (src only, no tests), the .proto files, schema/, examples/.
    await mkdir(app);
    await cp(join(REPO, 'package.json'), join(app, 'package.json'));
    await symlink(join(REPO, 'node_modules'), join(app, 'node_modules'), 'dir');
    await cp(join(REPO, 'dist', 'src'), join(app, 'dist', 'src'), {
      recursive: true,
      filter: (src) => !/\.test\.js(\.map)?$/.test(src),
    });
    await cp(join(REPO, 'src', 'proto'), join(app, 'src', 'proto'), {
      recursive: true,
      filter: async (src) => src.endsWith('.proto') || (await isDir(src)),
    });
    await cp(join(REPO, 'schema'), join(app, 'schema'), { recursive: true });
    const files = await listFiles(join(app, 'src'));
    assert.ok(files.length > 0 && files.every((f) => f.endsWith('.proto')), 'src/ holds only .proto files');

    const etc = join(dir, 'etc');
    await mkdir(etc);
    await writeFile(join(etc, 'services.yaml'), 'services:\n  - name: billing\n    ports: [{number: 8080, protocol: HTTP}]\n    instances: [{address: 10.1.2.3}]\n');
    await writeFile(join(etc, 'meshbridge.yaml'), [
      'registries: [{name: files, kind: file, file: {path: services.yaml}, namespace: legacy}]',
      'sinks: {xds: {address: "127.0.0.1:0"}}',
      'admin: {address: "127.0.0.1:0"}',
    ].join('\n'));
    let log = '';
    const child = spawn(process.execPath, [join(app, 'dist', 'src', 'main.js'), 'run', '--config', join(etc, 'meshbridge.yaml')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (c: Buffer) => (log += c.toString()));
    child.stderr.on('data', (c: Buffer) => (log += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const admin = await eventually(() => /"admin":(\d+)/.exec(log)?.[1], 20000, `meshbridge started (log: ${log})`);
      const ready = await eventually(async () => {
        const r = await fetch(`http://127.0.0.1:${admin}/readyz`);
        return r.status === 200 ? r.status : undefined;
      }, 20000, 'readyz');
      assert.equal(ready, 200);
      const xds = (await (await fetch(`http://127.0.0.1:${admin}/debug/xds`)).json()) as { serving: boolean };
      assert.equal(xds.serving, true, 'the MCP server runs (its .proto files were found)');
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0, log);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

async function isDir(p: string): Promise<boolean> {
  try {
    await readdir(p);
    return true;
  } catch {
    return false;
  }
}

async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true })) {
    const p = join(root, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else out.push(p);
  }
  return out;
}
