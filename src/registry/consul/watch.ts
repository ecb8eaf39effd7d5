import { backoffDelay, type BackoffOptions } from '../../util/backoff.js';
import { ErrorCode, MeshbridgeError, describeError } from '../../errors/index.js';
import { blockingTimeoutMs, jitteredWait, sleep, stepIndex, type IndexStep, type Slots } from './blocking.js';
import type { ConsulHttpLike } from './http.js';

export interface BlockingWatchOptions {
  readonly http: ConsulHttpLike;
  /** API path below the address, e.g. `v1/health/service/web`. */
  readonly path: string;
  /** Fixed query parameters (dc, ns, partition); index and wait are added per request. */
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly waitSeconds: number;
  /** Wait asked for while there are more watches than slots (see Slots). */
  readonly shortWaitSeconds: number;
  readonly slots: Slots;
  readonly signal: AbortSignal;
  readonly backoff: BackoffOptions;
  /** Least time between the starts of two requests of this watch (busy-loop guard). */
  readonly minIntervalMs: number;
  /** Timeout of the first, non-blocking request (index 0). */
  readonly requestTimeoutMs: number;
}

export interface BlockingWatchHandlers {
  /** A 200 answer whose index moved (or the first one, or a reset): the full current state. */
  onAnswer(body: unknown, step: IndexStep): void;
  /** Any 200 answer, changed or not: the server is reachable. */
  onReachable(): void;
  /** A failed request; the watch backs off and retries with the same index. */
  onFailure(error: MeshbridgeError, status: number | undefined): void;
}

/**
 * One Consul blocking query, repeated until `signal` aborts: `index=<last X-Consul-Index>&wait=`.
 * The first request (and the one after a reset) has no index and answers at once.
 *
 * Contract: exactly one request of this watch is in flight at a time, holding one slot of
 * `slots` while it is; answers are handed over in order; a failure never moves the index, so
 * the next answer after an outage is compared with the last applied state (nothing is missed).
 * Failures back off exponentially with jitter; the returned promise resolves after the abort.
 */
export async function runBlockingWatch(o: BlockingWatchOptions, h: BlockingWatchHandlers): Promise<void> {
  const unregister = o.slots.register();
  let index = 0;
  let attempt = 0;
  try {
    while (!o.signal.aborted) {
      const release = await o.slots.acquire(o.signal);
      if (release === undefined) break;
      const started = Date.now();
      const wait = index === 0 ? undefined : jitteredWait(o.slots.oversubscribed ? Math.min(o.shortWaitSeconds, o.waitSeconds) : o.waitSeconds);
      const url = o.http.url(o.path, { ...o.query, ...(wait !== undefined ? { index: String(index), wait: `${wait}s` } : {}) });
      let failure: MeshbridgeError | undefined;
      let status: number | undefined;
      try {
        const res = await o.http.get(url, { signal: o.signal, timeoutMs: wait === undefined ? o.requestTimeoutMs : blockingTimeoutMs(wait) });
        status = res.status;
        if (res.status !== 200) {
          failure = new MeshbridgeError(ErrorCode.REGISTRY_UNREACHABLE, `GET /${o.path}: HTTP ${res.status}: ${res.body.trim().slice(0, 200)}`, {
            details: { status: res.status },
          });
        } else {
          const step = stepIndex(index, res.index);
          let body: unknown;
          if (step.changed) {
            try {
              body = JSON.parse(res.body) as unknown;
            } catch (e) {
              failure = new MeshbridgeError(ErrorCode.SOURCE_PARSE, `GET /${o.path}: answer is not JSON: ${describeError(e)}`, { cause: e });
            }
          }
          if (failure === undefined) {
            attempt = 0;
            index = step.next;
            h.onReachable();
            if (step.changed) h.onAnswer(body, step);
          }
        }
      } catch (e) {
        if (o.signal.aborted) break;
        failure = e instanceof MeshbridgeError ? e : new MeshbridgeError(ErrorCode.REGISTRY_UNREACHABLE, `GET /${o.path}: ${describeError(e)}`, { cause: e });
      } finally {
        release();
      }
      if (failure !== undefined) {
        h.onFailure(failure, status);
        await sleep(backoffDelay(attempt++, o.backoff), o.signal);
        continue;
      }
      const elapsed = Date.now() - started;
      if (elapsed < o.minIntervalMs) await sleep(o.minIntervalMs - elapsed, o.signal);
    }
  } finally {
    unregister();
  }
}
