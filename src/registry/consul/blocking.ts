import { whenAborted } from '../../util/abort.js';
/**
 * Consul blocking-query rules (https://developer.hashicorp.com/consul/api-docs/features/blocking),
 * as pure functions so they are tested without a server.
 */

/** What to do with the X-Consul-Index of an answer, given the index the request was sent with. */
export interface IndexStep {
  /** Index for the next request. */
  readonly next: number;
  /** The answer must be applied (first answer, or the index moved). */
  readonly changed: boolean;
  /** The index went backwards or was missing/0: the server's state was reset (restart, snapshot restore). */
  readonly reset: boolean;
}

/**
 * Consul's rules: an index lower than the one sent means the server's state was reset; re-read
 * from scratch (index 0, which answers at once, and apply that answer in full). An index below 1
 * is a server bug that would turn blocking calls into a busy loop: use 1. An equal index means
 * the wait timed out (or a spurious wake-up): nothing to apply.
 */
export function stepIndex(sent: number, received: number | undefined): IndexStep {
  if (received === undefined || received < 1) return { next: 1, changed: true, reset: true };
  if (received < sent) return { next: 0, changed: true, reset: true };
  return { next: received, changed: sent === 0 || received !== sent, reset: false };
}

/**
 * The `wait` to ask for, in seconds: `waitSeconds` less up to 1/16 at random, so thousands of
 * watches started together do not all time out in the same second (Consul adds up to wait/16 of
 * its own jitter on top). At least 1.
 */
export function jitteredWait(waitSeconds: number, random: () => number = Math.random): number {
  return Math.max(1, Math.round(waitSeconds - (waitSeconds / 16) * random()));
}

/** How long the client waits for a blocking answer: the wait, Consul's jitter (wait/16), and slack. */
export function blockingTimeoutMs(waitSeconds: number): number {
  return Math.ceil(waitSeconds * 1000 * (1 + 1 / 16)) + 15_000;
}



/**
 * A FIFO counting semaphore bounding the blocking calls in flight (each holds one HTTP
 * connection while it waits). Watches register while they exist; `oversubscribed` (more
 * watches than slots) tells them to ask for short waits, so every queued watch gets a turn
 * within about one short wait instead of one full wait.
 */
export class Slots {
  private free: number;
  private watchers = 0;
  private readonly queue: Array<() => void> = [];

  constructor(readonly size: number) {
    this.free = size;
  }

  get oversubscribed(): boolean {
    return this.watchers > this.size;
  }

  /** Counts one more watch; the returned function un-counts it (idempotent). */
  register(): () => void {
    this.watchers++;
    let gone = false;
    return () => {
      if (gone) return;
      gone = true;
      this.watchers--;
    };
  }

  /** Resolves with a release function once a slot is free; resolves undefined when aborted first. */
  acquire(signal: AbortSignal): Promise<(() => void) | undefined> {
    if (signal.aborted) return Promise.resolve(undefined);
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => {
      const grant = (): void => {
        unsubscribe();
        resolve(this.releaser());
      };
      const onAbort = (): void => {
        const i = this.queue.indexOf(grant);
        if (i >= 0) this.queue.splice(i, 1);
        resolve(undefined);
      };
      this.queue.push(grant);
      const unsubscribe = whenAborted(signal, onAbort);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next !== undefined) next();
      else this.free++;
    };
  }
}

export { sleep } from '../shared/sleep.js';
