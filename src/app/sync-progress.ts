import type { Logger } from '../observability/index.js';
import type { Registry } from '../registry/types.js';

/** How often a first sync still running is logged (and never more often). */
export const SYNC_PROGRESS_EVERY_MS = 10_000;

/**
 * Logs the progress of first syncs that take a while: every `everyMs` (default 10 s), one info
 * line per registry that has not synced yet, with its services and endpoints listed so far, its
 * listing progress when the adapter reports one (RegistryStatus.progress) and its last error code, so a large registry's initial listing is never silent. A fast sync logs nothing.
 *
 * Contract: no I/O but logging; reads `registries()` on every tick (registries added later are
 * included); stops by itself once every registry synced, and when `signal` aborts.
 */
export function logSyncProgress(registries: () => readonly Registry[], logger: Logger, signal: AbortSignal, everyMs = SYNC_PROGRESS_EVERY_MS): void {
  const started = Date.now();
  const timer = setInterval(() => {
    const waiting = registries().filter((r) => !r.status().synced);
    if (waiting.length === 0) {
      clearInterval(timer);
      return;
    }
    for (const r of waiting) {
      const st = r.status();
      logger.info(
        { registry: r.name, kind: r.kind, services: st.services, endpoints: st.endpoints, elapsedMs: Date.now() - started, ...(st.lastError !== undefined ? { code: st.lastError.code } : {}), ...(st.progress !== undefined ? { progress: st.progress } : {}) },
        `registry ${r.name} still syncing: ${st.services} services, ${st.endpoints} endpoints listed so far`,
      );
    }
  }, everyMs);
  timer.unref();
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}
