/**
 * A plug-in registry added by a config reload of a real `meshbridge run` (MCP sink, an istiod-like
 * ADS client): the reload loads the package and validates its settings like a start does; a bad
 * setting or a missing package is an invalid reload that keeps the running config.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, until } from '../../test-support/cli.js';
import { metricSum, replaceFile, runConfigText, startMeshbridge, writeServices } from '../../test-support/meshbridge.js';
import { installPluginExample, pluginRegistry } from '../../test-support/plugin.js';
import { AdsClient, ISTIOD_TYPE_URLS_V1 } from '../../test-support/xds/adsc.js';

const SE = 'networking.istio.io/v1/ServiceEntry';

test('reload: a plug-in registry is added live; bad settings or a missing package keep the running config', async (t) => {
  const dir = await installPluginExample();
  await writeServices(join(dir, 'a.yaml'), [{ name: 'a-svc', namespace: 'default', ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }], instances: [{ address: '127.0.1.1', weight: 1, labels: {} }] }]);
  const fileReg = `  - {name: a, kind: file, namespace: demo, file: {path: ${join(dir, 'a.yaml')}}}`;
  const [xds, admin] = [await freePort(), await freePort()];
  const text = (regs: string): string => runConfigText({ registries: regs, sinks: `  xds: {address: 127.0.0.1:${xds}}`, admin, debounce: { quietPeriodMs: 50, maxDelayMs: 500 } });
  const config = join(dir, 'meshbridge.yaml');
  await replaceFile(config, text(fileReg));
  const mb = await startMeshbridge({ config, adminPort: admin });
  const ads = new AdsClient({ port: xds });
  t.after(async () => {
    ads.close();
    await mb.stop();
  });
  ads.subscribe(ISTIOD_TYPE_URLS_V1);
  await ads.allAnswered(ISTIOD_TYPE_URLS_V1);
  const names = (): string[] => [...(ads.store.get(SE)?.values() ?? [])].map((r) => r.name).sort();
  const reloads = async (result: string): Promise<number> => metricSum(await mb.metrics(), 'meshbridge_config_reloads_total', { result });
  const has = (what: string, cond: () => boolean): Promise<boolean> => until(() => Promise.resolve(cond() ? true : undefined), 15_000, what);

  await replaceFile(config, text(`${fileReg}\n${pluginRegistry('legacy', '{ path: directory.txt, intervalMs: 500 }')}`));
  await has("the plug-in's services on the stream", () => names().some((n) => n.includes('orders')) && names().some((n) => n.includes('inventory')));
  assert.equal(await reloads('applied'), 1);

  await replaceFile(config, text(`${fileReg}\n${pluginRegistry('legacy', '{ path: directory.txt, intervalMs: 5 }')}`));
  await until(async () => ((await reloads('invalid')) >= 1 ? true : undefined), 10_000, 'an invalid reload');
  await has('logged with its key path', () => /registries\[1\]\.plugin\.settings\.intervalMs: must be >= 100/.test(mb.stderr()));
  await replaceFile(config, text(`${fileReg}\n${pluginRegistry('legacy', '{}', '@acme/not-installed')}`));
  await until(async () => ((await reloads('invalid')) >= 2 ? true : undefined), 10_000, 'a second invalid reload');
  await has('MB_PLUGIN_NOT_FOUND logged', () => /MB_PLUGIN_NOT_FOUND/.test(mb.stderr()));
  assert.ok(names().some((n) => n.includes('orders')), 'the running config (and the plug-in registry) kept');
  assert.equal(await reloads('applied'), 1);
});
