import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readFile } from 'node:fs/promises';
import type { MeshbridgeError } from '../../src/errors/index.js';
import { adapterCommon, kindSettings } from '../../src/registry/testing/adapter-options.js';
import { FileRegistry } from '../../src/registry/file/index.js';

const examples = fileURLToPath(new URL('../../../examples/', import.meta.url));

async function load(file: string) {
  const problems: MeshbridgeError[] = [];
  const ac = new AbortController();
  const reg = new FileRegistry({ ...kindSettings('file', { path: `${examples}${file}` }), ...adapterCommon('demo', (p) => problems.push(p)) });
  await reg.start(ac.signal);
  ac.abort();
  return { reg, problems };
}

test('examples/services.yaml: the bundled example loads cleanly', async () => {
  const { reg, problems } = await load('services.yaml');
  assert.deepEqual(problems, []);
  const st = reg.status();
  assert.equal(st.synced, true);
  assert.equal(st.services, 4);
  assert.equal(st.endpoints, 7);
  const byName = new Map([...reg.services().values()].map((s) => [s.name, s]));
  const reviews = byName.get('reviews')!;
  assert.deepEqual(
    reviews.endpoints.map((e) => [e.address, e.ports['http'], e.weight, e.locality?.zone, e.health]),
    [
      ['10.0.0.1', 9080, 80, 'us-east1-b', 'healthy'],
      ['10.0.0.2', 9080, 15, 'us-east1-c', 'healthy'],
      ['10.0.0.3', 19080, 5, 'us-east1-c', 'unhealthy'],
    ],
  );
  const dubbo = byName.get('org.apache.dubbo.demo.DemoService')!;
  assert.deepEqual(dubbo.attributes, { group: 'demo', version: '1.0.0', application: 'demo-provider' });
  assert.equal(dubbo.ports[0]?.protocol, 'TCP');
  const ratings = byName.get('ratings')!;
  assert.deepEqual(ratings.ports.map((p) => p.protocol), ['GRPC', 'HTTP']);
  assert.ok(ratings.endpoints.some((e) => e.address.includes(':')), 'an IPv6 instance');
  assert.equal(byName.get('details')?.ports[0]?.protocol, 'HTTP');
  for (const s of reg.services().values()) assert.equal(s.registryKind, 'file');
});

test('examples/hostile.yaml: malformed entries are skipped with their codes, the rest syncs', async () => {
  const { reg, problems } = await load('hostile.yaml');
  const st = reg.status();
  assert.equal(st.synced, true);
  assert.equal(st.services, 9);
  assert.equal(st.endpoints, 16, 'a bad weight or locality is ignored, its instance kept');
  assert.equal(problems.length, 21);
  const counts: Record<string, number> = {};
  for (const p of problems) counts[p.code] = (counts[p.code] ?? 0) + 1;
  assert.deepEqual(counts, {
    MB_ENTRY_INVALID: 12,
    MB_ENTRY_BAD_ADDRESS: 3,
    MB_ENTRY_BAD_PORT: 3,
    MB_ENTRY_DUPLICATE_PORT: 2,
    MB_ENTRY_DUPLICATE_SERVICE: 1,
  });
  // Every problem names its file and entry, and the file's comments list each one.
  const text = await readFile(`${examples}hostile.yaml`, 'utf8');
  for (const p of problems) {
    assert.ok(p.path?.startsWith(`${examples}hostile.yaml: services[`), p.path);
    const path = p.path ?? '';
    const entry = path.slice(path.indexOf(': ') + 2);
    assert.ok(text.includes(`${p.code} @ ${entry}`), `hostile.yaml does not document ${p.code} @ ${entry}`);
  }
  const names = [...reg.services().values()].map((s) => s.name);
  assert.ok(names.includes('Reviews_UPPER_Case'));
  assert.ok(names.includes('über-sërvice-ユニコード'));
  assert.ok(names.some((n) => n.length === 300));
  assert.deepEqual(names.filter((n) => /^foo.bar$/i.test(n)).sort(), ['FOO.BAR', 'foo.bar', 'foo_bar']);
  const labels = [...reg.services().values()].find((s) => s.name === 'labels.hostile')!.endpoints[0]!.labels;
  assert.equal(labels['number'], '1.10');
  assert.equal(labels['nested'], undefined);
  assert.equal(Object.keys(labels).length, 8);
});
