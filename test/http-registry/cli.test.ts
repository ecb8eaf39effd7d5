/**
 * The worked example end to end: examples/http-registry's server serving its catalog.json, and
 * `meshbridge render` with the example's config (its URLs pointed at the server's free port), in
 * each mode.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, renderedObjects, tempDir, writeConfig } from '../../test-support/cli.js';
import { HTTP_REGISTRY_EXAMPLE, startCatalogueServer } from '../../test-support/http-registry.js';

test('render: the example http registry, in every mode', async (t) => {
  const doc = JSON.parse(await readFile(join(HTTP_REGISTRY_EXAMPLE, 'catalog.json'), 'utf8')) as unknown;
  const srv = await startCatalogueServer({ doc });
  t.after(() => srv.close());
  const example = (await readFile(join(HTTP_REGISTRY_EXAMPLE, 'meshbridge.yaml'), 'utf8')).replaceAll('127.0.0.1:18500', `127.0.0.1:${srv.port}`);
  for (const mode of ['sse', 'auto', 'poll', 'longPoll']) {
    const text = mode === 'sse' ? example : example.replace('mode: sse ', `mode: ${mode} `).replace(/^\s+eventsUrl:.*\n/m, '');
    const dir = await tempDir('meshbridge-http-');
    const p = cli(['render', '--config', await writeConfig(dir, text)]);
    assert.equal(await p.exit, 0, `${mode}: ${p.stderr()}`);
    const ses = renderedObjects(p.stdout()).filter((o) => o.kind === 'ServiceEntry');
    const orders = ses.find((o) => o.spec.hosts[0] === 'orders.home.local');
    assert.ok(orders !== undefined, `${mode}: ${p.stdout()}`);
    assert.deepEqual(orders.spec.ports, [{ number: 8080, name: 'http', protocol: 'HTTP' }]);
    assert.deepEqual(orders.spec.endpoints?.map((e) => [e.address, e.labels?.['version']]).sort(), [
      ['10.1.0.11', 'v1'],
      ['10.1.0.12', 'v2'],
    ]);
    const inventory = ses.find((o) => o.spec.hosts[0] === 'inventory.home.local');
    assert.deepEqual(inventory?.spec.ports, [{ number: 9090, name: 'grpc', protocol: 'GRPC' }]);
  }
});
