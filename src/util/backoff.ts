/** First delay and cap of an exponential retry backoff, in ms. */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
}

/**
 * The one retry backoff every adapter uses: the n-th delay (n from 0) is drawn uniformly from
 * [d/2, d] with d = min(maxMs, initialMs * 2^n) ("equal jitter": never less than half the
 * nominal delay, so a fleet of clients that lost the same server spreads out without ever
 * retrying in a tight loop).
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const d = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.round(d / 2 + (d / 2) * random());
}

/**
 * A retry counter over backoffDelay: `next()` gives the delay before the next attempt and counts
 * it, `reset()` goes back to the first delay after a success.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    return backoffDelay(this.attempt++, this.options, this.random);
  }

  reset(): void {
    this.attempt = 0;
  }

  /** Attempts counted since the last reset. */
  attempts(): number {
    return this.attempt;
  }
}
