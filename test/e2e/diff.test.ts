/**
 * `meshbridge diff` without a cluster: its exit status 1 for every error (2 means "changes", as
 * in kubectl diff), a config without sinks.kubernetes refused with MB_DIFF_NO_KUBERNETES.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli, tempDir, writeConfig } from '../../test-support/cli.js';

async function fileRegistryConfig(sinks: string): Promise<string> {
  const dir = await tempDir('meshbridge-diff-e2e-');
  await writeFile(join(dir, 'services.yaml'), 'services:\n  - name: web\n    ports: [{number: 80, name: http}]\n    instances: [{address: 10.0.0.1}]\n');
  return writeConfig(dir, `registries:\n  - {name: demo, kind: file, file: {path: services.yaml}, namespace: demo}\n${sinks}`);
}

test('diff with a config without sinks.kubernetes: exit 1, MB_DIFF_NO_KUBERNETES, stdout empty', async () => {
  const config = await fileRegistryConfig('sinks: {xds: {address: "127.0.0.1:0"}}\n');
  const p = cli(['diff', '--config', config]);
  assert.equal(await p.exit, 1);
  assert.match(p.stderr(), /^meshbridge: error MB_DIFF_NO_KUBERNETES: .*diff needs sinks\.kubernetes/m);
  assert.equal(p.stdout(), '');
});

test('diff usage errors and a bad config exit 1, not 2 (2 means changes)', async () => {
  for (const args of [['diff'], ['diff', '--config', 'x.yaml', '--output', 'yaml'], ['diff', '--bogus'], ['diff', '--config', '/nonexistent/meshbridge.yaml']]) {
    const p = cli(args);
    assert.equal(await p.exit, 1, `${args.join(' ')}: ${p.stderr()}`);
  }
  const p = cli(['check']);
  assert.equal(await p.exit, 2, 'other commands keep 2 for bad usage');
});

test('--help documents diff and its exit status', async () => {
  const p = cli(['--help']);
  assert.equal(await p.exit, 0);
  assert.match(p.stdout(), /meshbridge diff {3}--config FILE \[--output json\]/);
  assert.match(p.stdout(), /diff \(like kubectl diff\): 0 no changes, 2 changes/);
});
