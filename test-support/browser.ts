/**
 * A real headless Chromium for the browser tests (test/e2e/status-page.test.ts): Debian's
 * /usr/bin/chromium (installed by test-support/peers/peers.d/chromium.sh), driven by
 * playwright-core, which ships no browser of its own. A fresh profile per launch, and every flag
 * that keeps Chromium off the network (this machine's network is closed: without them it retries
 * component updates, sync and QUIC probes for the whole run).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

/**
 * Undefined when Chromium is there; else the skip reason, or (CI=true) a throw: in CI a missing
 * browser is a failure, never a skip (as requirePeers).
 */
export function requireChromium(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const msg = `${CHROMIUM} is missing; run test-support/peers/peers.d/chromium.sh (apt-get install -y chromium)`;
  if (process.env['CI'] === 'true') throw new Error(msg);
  return msg;
}

export interface Browser {
  readonly context: BrowserContext;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Launches headless Chromium with a fresh --user-data-dir. */
export async function launchChromium(viewport = { width: 1360, height: 900 }): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  const profile = await mkdtemp(join(tmpdir(), 'meshbridge-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS],
    viewport,
    offline: false,
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}
