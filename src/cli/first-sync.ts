import type { App } from '../app/app.js';
import { ErrorCode, MeshbridgeError } from '../errors/index.js';

/** Errors of a local source (a registry file, a TLS file) that a one-shot command cannot wait out. */
const LOCAL_SOURCE: ReadonlySet<string> = new Set([ErrorCode.SOURCE_READ, ErrorCode.SOURCE_PARSE]);
const POLL_MS = 100;

/**
 * Waits, for `render` and `check`, until every registry synced and the first snapshot is out.
 *
 * Contract: resolves when ready. Rejects at once, with the registry's own code, when a registry
 * that has not synced failed on a local source (MB_SOURCE_READ / MB_SOURCE_PARSE: a missing or
 * unparsable file); rejects with MB_REGISTRY_SYNC_TIMEOUT after `timeoutMs`, or when `signal`
 * aborts. Meanwhile, every `progressMs`, one line per registry still waiting goes to `progress`
 * (its kind, services listed so far, its last error), so a slow sync is never silent.
 */
export async function waitForFirstSync(app: App, signal: AbortSignal, timeoutMs: number, progress: (line: string) => void, progressMs = 5000): Promise<void> {
  const inner = new AbortController();
  const stop = (): void => inner.abort();
  signal.addEventListener('abort', stop, { once: true });
  const ready = app.whenReady(inner.signal, timeoutMs);
  ready.catch(() => undefined); // settled by the race below; never unhandled
  const timers: NodeJS.Timeout[] = [];
  const failFast = new Promise<never>((_, reject) => {
    timers.push(
      setInterval(() => {
        for (const r of app.registries) {
          const st = r.status();
          if (!st.synced && st.lastError !== undefined && LOCAL_SOURCE.has(st.lastError.code)) {
            reject(new MeshbridgeError(st.lastError.code as ErrorCode, `registry ${r.name} cannot sync: ${st.lastError.message}`));
          }
        }
      }, POLL_MS),
    );
  });
  timers.push(
    setInterval(() => {
      for (const r of app.registries) {
        const st = r.status();
        if (st.synced) continue;
        const error = st.lastError !== undefined ? `; last error ${st.lastError.code}: ${st.lastError.message}` : '';
        progress(`waiting for registry ${r.name} (${r.kind}): ${st.services} services so far${error}`);
      }
    }, progressMs),
  );
  try {
    await Promise.race([ready, failFast]);
  } finally {
    for (const t of timers) clearInterval(t);
    signal.removeEventListener('abort', stop);
    inner.abort();
  }
}
