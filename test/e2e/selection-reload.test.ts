import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, until } from '../../test-support/cli.js';
import { metricSum, replaceFile, runConfigText, startMeshbridge, tempDir, writeServices, type FileService } from '../../test-support/meshbridge.js';
import { AdsClient, ISTIOD_TYPE_URLS_V1 } from '../../test-support/xds/adsc.js';

// registries[].select on a real `meshbridge run` (MCP sink, an istiod-like ADS client): a reload
// that narrows the selection is a deliberate change, applied live and at once (the deletion guard
// does not hold it), widening brings the services back with their old versions, and changes to
// excluded services push nothing.

const SE = 'networking.istio.io/v1/ServiceEntry';

const service = (name: string, ip: string, env = 'prod'): FileService => ({
  name,
  namespace: 'shop',
  ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }],
  instances: [{ address: ip, weight: 1, labels: { env } }],
});

const ALL = [...Array.from({ length: 8 }, (_, i) => service(`legacy-${i}`, `127.0.5.${i + 1}`)), service('cart', '127.0.6.1'), service('orders', '127.0.6.2')];

test('narrowing select by reload removes the excluded services at once, without a guard hold; widening restores them', async (t) => {
  const dir = await tempDir('meshbridge-select-');
  const registryFile = join(dir, 'services.yaml');
  await writeServices(registryFile, ALL);
  const [xds, admin] = [await freePort(), await freePort()];
  const text = (select: string): string =>
    runConfigText({
      registries: `  - name: shop\n    kind: file\n    namespace: demo\n    file: {path: ${registryFile}, pollIntervalMs: 200}\n${select}`,
      sinks: `  xds: {address: 127.0.0.1:${xds}}`,
      admin,
      debounce: { quietPeriodMs: 50, maxDelayMs: 500 },
    });
  const config = join(dir, 'meshbridge.yaml');
  await writeFile(config, text(''));
  const mb = await startMeshbridge({ config, adminPort: admin });
  const ads = new AdsClient({ port: xds });
  t.after(async () => {
    ads.close();
    await mb.stop();
  });
  ads.subscribe(ISTIOD_TYPE_URLS_V1);
  await ads.allAnswered(ISTIOD_TYPE_URLS_V1);
  const held = (): Map<string, string> => new Map([...(ads.store.get(SE)?.values() ?? [])].filter((r) => !r.name.includes('.shared.')).map((r) => [r.name, r.version]));
  const waitFor = (cond: () => boolean, what: string): Promise<true> => until(() => Promise.resolve(cond() ? true : undefined), 10_000, what);
  await waitFor(() => held().size === 10, 'all 10 services');
  const before = held();

  // 8 of 10 services (80%) excluded in one reload; the guard's default protectPercent is 50.
  await replaceFile(config, text('    select: {services: {exclude: ["legacy-*"]}}'));
  await waitFor(() => held().size === 2, 'only cart and orders left');
  assert.deepEqual([...held().keys()].sort(), ['demo/cart.shop.shop.local', 'demo/orders.shop.shop.local']);
  for (const [name, v] of held()) assert.equal(v, before.get(name), `${name} kept its version`);
  const m = await mb.metrics();
  assert.equal(metricSum(m, 'meshbridge_config_reloads_total', { result: 'applied' }), 1);
  assert.equal(metricSum(m, 'meshbridge_protect_held_total'), 0, 'no deletion-guard hold');
  assert.equal(metricSum(m, 'meshbridge_selection_excluded_services', { registry: 'shop' }), 8);
  assert.match(mb.stderr(), /registry shop re-tuned \(select\)/, 'applied live: the adapter was not restarted');
  const sel = (await mb.debug('selection')) as Array<{ registry: string; excludedServices: number; services: Array<{ service: string; rule: string }> }>;
  assert.equal(sel[0]?.excludedServices, 8);
  assert.deepEqual(new Set(sel[0]?.services.map((s) => s.rule)), new Set(['services.exclude "legacy-*"']));

  // A change to an excluded service pushes nothing; a change to a selected one does.
  const updates = ads.updates.get(SE) ?? 0;
  await writeServices(registryFile, [...ALL.slice(0, 7), service('legacy-7', '127.0.5.99'), ...ALL.slice(8)]);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(ads.updates.get(SE) ?? 0, updates, 'no ServiceEntry push for a change of an excluded service');
  await writeServices(registryFile, [...ALL.slice(0, 7), service('legacy-7', '127.0.5.99'), service('cart', '127.0.6.9'), ALL[9] as FileService]);
  await waitFor(() => held().get('demo/cart.shop.shop.local') !== before.get('demo/cart.shop.shop.local'), 'cart changed');

  // Endpoint metadata in the same reload mechanism: orders' only endpoint is env=prod, keep test only.
  await replaceFile(config, text('    select: {services: {exclude: ["legacy-*"]}, endpoints: {metadata: {env: {include: [test]}}, scope: services}}'));
  await waitFor(() => held().size === 0, 'no service has an env=test endpoint');
  assert.equal(metricSum(await mb.metrics(), 'meshbridge_protect_held_total'), 0);

  // Widening brings everything back; the untouched services with the versions they had.
  await replaceFile(config, text(''));
  await waitFor(() => held().size === 10, 'all 10 services again');
  for (const [name, v] of before) if (name !== 'demo/cart.shop.shop.local' && name !== 'demo/legacy-7.shop.shop.local') assert.equal(held().get(name), v, `${name} is back with its old version`);
  assert.equal(metricSum(await mb.metrics(), 'meshbridge_selection_excluded_services', { registry: 'shop' }), 0);
});
