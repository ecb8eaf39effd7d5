/**
 * The status page (GET / on the admin port) in a real headless Chromium, against `meshbridge run`
 * with a real etcd (stopped and restarted on the same ports) and a real MCP client: the page lists
 * the registry, its services and the xDS client's ACKs; the registry turns stale when etcd stops
 * and ok when it is back, through the live updates (no reload); a service name that is markup
 * renders as text; a click shows the host's published objects as YAML; when the admin server
 * restarts the page says it lost the stream and is live again by itself.
 *
 * Screenshots go to a temp dir, or to MESHBRIDGE_SCREENSHOT_DIR when set (the ones in docs/ were
 * taken with MESHBRIDGE_SCREENSHOT_DIR=docs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { freePort, mcpRunConfig, tempDir, until } from '../../test-support/cli.js';
import { startMeshbridge, writeRunConfig } from '../../test-support/meshbridge.js';
import { requirePeers } from '../../test-support/peers.js';
import { EtcdPeer } from '../../test-support/etcd.js';
import { launchChromium, requireChromium } from '../../test-support/browser.js';
import { AdsClient, ISTIOD_TYPE_URLS_V1 } from '../../test-support/xds/adsc.js';

const skip = (await requirePeers('etcd')) ?? requireChromium();

/** Markup as a service name: etcd takes any key, the page must show it as text and run nothing. */
const HOSTILE = '<img src=x onerror="window.__pwned=1;alert(1)">';

/** What the page's window may hold: a marker the test sets, and what an injected script would set. */
type Win = { __pwned?: number; __sameDocument?: boolean };

test('status page: registry, services and xDS ACKs; stale and recovered live; hostile names as text; YAML on click', { skip, timeout: 180_000 }, async (t) => {
  const etcd = await EtcdPeer.start();
  t.after(() => etcd.stop());
  await etcd.put('/mb/reviews/r1', { address: '10.0.0.1', ports: { http: 9080 } });
  await etcd.put('/mb/reviews/r2', { address: '10.0.0.2', ports: { http: 9080 } });
  await etcd.put('/mb/ratings/a', { address: '10.0.1.1', ports: { 'grpc-api': 9090 } });
  await etcd.put(`/mb/${HOSTILE}/h1`, { address: '10.0.2.1', ports: { http: 8080 }, labels: { note: '<script>window.__pwned=2</script>' } });
  const dir = await tempDir('meshbridge-status-page-');
  const shots = process.env['MESHBRIDGE_SCREENSHOT_DIR'] ?? dir;
  const [xdsPort, adminPort] = [await freePort(), await freePort()];
  const config = await writeRunConfig(
    dir,
    mcpRunConfig(
      `  - name: shop
    kind: etcd
    etcd: {endpoints: [${etcd.endpoint}], prefix: /mb, requestTimeoutMs: 1000}
    namespace: shop-mesh`,
      xdsPort,
      adminPort,
    ),
  );
  const mb = await startMeshbridge({ config, adminPort });
  t.after(() => mb.stop());
  const ads = new AdsClient({ port: xdsPort, nodeId: 'istiod-status-page' });
  t.after(() => ads.close());
  ads.subscribe(ISTIOD_TYPE_URLS_V1);
  await ads.allAnswered(ISTIOD_TYPE_URLS_V1, 15_000);

  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  const res = await page.goto(`${mb.adminUrl}/`);
  assert.equal(res?.status(), 200);
  assert.match(res?.headers()['content-security-policy'] ?? '', /script-src 'self'/);
  await page.evaluate(() => ((globalThis as unknown as Win).__sameDocument = true));

  const registry = page.locator('#registries tbody tr[data-registry="shop"]');
  const inState = (state: string) => page.locator(`#registries tbody tr[data-registry="shop"][data-state="${state}"]`);
  await inState('ok').waitFor({ timeout: 15_000 }).catch(async (e: unknown) => {
    throw new Error(`${String(e)}\npage: ${await page.locator('body').innerText()}\nerrors: ${errors.join('; ')}`);
  });
  assert.match(await registry.innerText(), /etcd/);
  const rows = page.locator('#services tbody tr');
  await until(async () => ((await rows.count()) === 3 ? true : undefined), 10_000, 'three services listed');
  const names = await page.locator('#services td.service-name').allTextContents();
  assert.deepEqual([...names].sort(), [HOSTILE, 'ratings', 'reviews'].sort());
  assert.match(await page.locator('#services').innerText(), /reviews\.shop\.etcd|reviews\./);
  await page.locator('#sinks').getByText('istiod-status-page').waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('#live').textContent(), 'live');
  // The client's ACKed ServiceEntry version, as /debug/status has it, is on the page.
  type Status = { sinks: { xds: { servers: { clients: { nodeId: string; types: { type: string; acked?: string }[] }[] }[] } } };
  const status = (await (await fetch(`${mb.adminUrl}/debug/status`)).json()) as Status;
  const acked = status.sinks.xds.servers[0]?.clients.find((c) => c.nodeId === 'istiod-status-page')?.types.find((x) => x.type === 'ServiceEntry')?.acked;
  assert.match(acked ?? '', /^[0-9a-f]{16}$/);
  await page.locator('#sinks td', { hasText: acked ?? '' }).first().waitFor({ timeout: 5_000 });

  // The hostile name and label: text in the page, no element made of them, nothing run.
  assert.equal(await page.locator('img').count(), 0, 'no <img> injected');
  assert.equal(await page.locator('#services script, #objects script').count(), 0);
  assert.equal(await page.evaluate(() => (globalThis as unknown as Win).__pwned), undefined);

  // A click shows the host's published objects as YAML.
  await page.locator('#services tbody tr', { hasText: 'reviews' }).click();
  const yaml = page.locator('#objects-yaml');
  await until(async () => ((await yaml.textContent())?.includes('kind: ServiceEntry') === true ? true : undefined), 10_000, 'YAML of reviews');
  const text = (await yaml.textContent()) ?? '';
  assert.match(text, /apiVersion: networking\.istio\.io\/v1/);
  assert.match(text, /- reviews\./);
  assert.match(text, /10\.0\.0\.2/);
  await page.mouse.move(0, 0); // no hover highlight in the shot
  await page.evaluate('scrollTo(0, 0)'); // the sticky header belongs at the top of a full-page shot
  await page.screenshot({ path: join(shots, 'status-page.png'), fullPage: true });
  // The hostile service's YAML too: still text.
  await page.locator('#services tbody tr', { has: page.locator('td.service-name', { hasText: 'onerror' }) }).click();
  await until(async () => ((await yaml.textContent())?.includes('10.0.2.1') === true ? true : undefined), 10_000, 'YAML of the hostile service');
  assert.equal(await page.locator('img').count(), 0);

  // etcd stops: the page turns the registry stale by itself (no reload), and back when etcd returns.
  await etcd.pause();
  await inState('stale').waitFor({ timeout: 20_000 });
  assert.match(await registry.innerText(), /MB_REGISTRY_UNREACHABLE/);
  assert.match(await page.locator('#reasons').innerText(), /stale/);
  await page.evaluate('scrollTo(0, 0)');
  await page.screenshot({ path: join(shots, 'status-page-stale.png'), fullPage: true });
  await etcd.resume();
  await inState('ok').waitFor({ timeout: 30_000 });
  assert.match(await registry.innerText(), /none/, 'the error is cleared');
  assert.equal(await page.evaluate(() => (globalThis as unknown as Win).__sameDocument), true, 'updated in place, never reloaded');

  assert.deepEqual(dialogs, [], 'no dialog opened');
  assert.equal(await page.evaluate(() => (globalThis as unknown as Win).__pwned), undefined, 'no injected script ran');
  assert.deepEqual(errors, [], 'no page error, no CSP violation');

  // The admin server goes away (a restart): the page says so, and is live again once it is back.
  await mb.stop();
  await page.locator('#live.warn').waitFor({ timeout: 15_000 });
  const again = await startMeshbridge({ config, adminPort });
  t.after(() => again.stop());
  await page.locator('#live.ok').waitFor({ timeout: 30_000 });
  await inState('ok').waitFor({ timeout: 10_000 });
  assert.equal(await page.evaluate(() => (globalThis as unknown as Win).__sameDocument), true, 'reconnected in place');
  const unexpected = errors.filter((e) => !/ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE|Failed to load resource/.test(e));
  assert.deepEqual(unexpected, [], 'only the refused connections of the outage');
});
