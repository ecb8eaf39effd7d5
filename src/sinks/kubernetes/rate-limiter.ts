/**
 * A token bucket: `qps` tokens per second, at most `burst` saved up. `take()` resolves when a
 * token is available; waiters are served in order. Rejects when the signal aborts.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly qps: number;
  private readonly burst: number;
  private chain: Promise<void> = Promise.resolve();

  constructor(qps: number, burst: number, now: () => number = Date.now) {
    if (!(qps > 0) || !(burst >= 1)) throw new RangeError('rate limit: qps must be > 0 and burst >= 1');
    this.qps = qps;
    this.burst = burst;
    this.tokens = burst;
    this.now = now;
    this.last = now();
  }

  private readonly now: () => number;

  take(signal?: AbortSignal): Promise<void> {
    const next = this.chain.then(() => this.waitOne(signal));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async waitOne(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const t = this.now();
      this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.qps);
      this.last = t;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      const waitMs = Math.ceil(((1 - this.tokens) / this.qps) * 1000);
      await new Promise<void>((resolve) => setTimeout(resolve, waitMs));
    }
  }
}
