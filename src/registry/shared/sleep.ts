import { whenAborted } from '../../util/abort.js';
/**
 * Resolves after `ms`, or at once when `signal` aborts; never rejects. Adapters wait between
 * retries with it so an abort ends every backoff immediately and leaves no timer behind.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      unsubscribe();
      resolve();
    };
    const timer = setTimeout(done, ms);
    // One listener on the shared signal however many waits (util/abort.ts).
    const unsubscribe = whenAborted(signal, done);
  });
}
