/**
 * The example plug-in (examples/plugin-registry) passes the conformance check, imported the way a
 * plug-in author imports it: `meshbridge/registry-kit` and `meshbridge/registry-kit/testing`
 * (package.json "exports"). And the http kind passes the same check against a real HTTP registry.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { registryKit, type RegistryPlugin } from 'meshbridge/registry-kit';
import { checkRegistryConformance } from 'meshbridge/registry-kit/testing';
import { HttpRegistry } from '../../src/registry/http/http-registry.js';
import { kindSettings } from '../../src/registry/testing/adapter-options.js';
import { REPO } from '../../test-support/paths.js';
import { startCatalogueServer } from '../../test-support/http-registry.js';

test('the example plug-in keeps the registry contract (conformance check through the kit exports)', async () => {
  const { registryPlugin } = (await import(pathToFileURL(join(REPO, 'examples', 'plugin-registry', 'index.js')).href)) as { registryPlugin: RegistryPlugin };
  const dir = await mkdtemp(join(tmpdir(), 'mb-lines-'));
  const file = join(dir, 'directory.txt');
  await writeFile(file, 'web 10.0.0.1:8080 v=1\nweb 10.0.0.2:8080\napi 10.0.1.1:9090\nbroken 999.0.0.1:80\nnoport 10.0.0.5\n');
  const settings = registryPlugin.resolve?.({ path: 'directory.txt', intervalMs: 100 }, dir);
  assert.deepEqual(settings, { path: file, intervalMs: 100, portName: 'http', protocol: 'HTTP' });
  await checkRegistryConformance({
    kind: registryPlugin.kind,
    services: ['web', 'api'],
    problemCodes: ['MB_ENTRY_BAD_ADDRESS', 'MB_ENTRY_INVALID'],
    create: (common) => registryPlugin.create(settings, common, registryKit),
    change: async () => {
      await writeFile(file, 'web 10.0.0.1:8080\napi 10.0.1.1:9090\nnew 10.0.2.1:8080\n');
      return 'new';
    },
    outage: () => rm(file),
    timeoutMs: 5000,
  });
});

test('the http kind keeps the registry contract against a real HTTP registry', async (t) => {
  for (const mode of ['poll', 'longPoll', 'sse'] as const) {
    const doc = (names: string[]) => ({ services: names.map((service) => ({ service, nodes: [{ ip: '10.0.0.1', port: 80 }, { ip: 'not an ip', port: 80 }] })) });
    const srv = await startCatalogueServer({ doc: doc(['web', 'api']) });
    t.after(() => srv.close());
    await checkRegistryConformance({
      kind: 'http',
      services: ['web', 'api'],
      problemCodes: ['MB_ENTRY_BAD_ADDRESS'],
      create: (common) =>
        new HttpRegistry({
          ...kindSettings('http', { url: srv.url, mode, intervalMs: 100, waitSeconds: 5, ...(mode === 'sse' ? { eventsUrl: srv.eventsUrl } : {}), map: { items: '/services', name: '/service', instances: '/nodes', address: '/ip' } }),
          ...common,
          backoff: { initialMs: 50, maxMs: 200 },
        }),
      change: () => {
        srv.set(doc(['web', 'api', 'new']));
        return 'new';
      },
      outage: () => srv.close(),
      timeoutMs: 5000,
    });
  }
});
