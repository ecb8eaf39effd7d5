/**
 * Collapses bursts of change notifications into one flush.
 *
 * Contract: after a `trigger()`, `flush` runs once no trigger arrived for `quietPeriodMs`, or
 * at the latest `maxDelayMs` after the first trigger of the burst. With `leading`, a trigger
 * that finds the debouncer idle (nothing pending or running, and the last flush ended at least
 * `quietPeriodMs` ago) is an *isolated change*: it flushes on the next macrotask instead (what
 * arrives in the same tick joins it), and triggers within `quietPeriodMs` of that flush are
 * debounced as above. So a lone change pays no quiet period, a burst pays one leading flush
 * more than without, and under continuous churn the flush rate is the same. Flushes never overlap: a
 * trigger during a running (async) flush schedules one more flush after it. `stop()` cancels
 * pending timers; `flushNow()` runs a pending flush immediately.
 * A trigger costs no timer work while the quiet timer is armed: the timer, when it fires,
 * re-arms itself for what is left of the quiet period after the latest trigger (a burst of
 * 10,000 events is not 10,000 clearTimeout/setTimeout pairs).
 */
export interface DebouncerOptions {
  readonly quietPeriodMs: number;
  readonly maxDelayMs: number;
  readonly flush: () => void | Promise<void>;
  /** Flush an isolated change at once (see the contract). Default false. */
  readonly leading?: boolean;
  /** Called when a flush is scheduled as a leading edge (an isolated change). */
  readonly onLeading?: () => void;
  /** Called for every trigger that joined an already pending burst. */
  readonly onMerged?: () => void;
  readonly onError?: (error: unknown) => void;
}

export class Debouncer {
  private readonly options: DebouncerOptions;
  private quietTimer: NodeJS.Timeout | undefined;
  private maxTimer: NodeJS.Timeout | undefined;
  private pending = false;
  /** performance.now() of the latest trigger of the pending burst. */
  private lastTrigger = 0;
  private running = false;
  private rerun = false;
  private stopped = false;
  /** performance.now() when the last flush ended; -Infinity before the first. */
  private lastFlushEnd = -Infinity;
  private immediate: NodeJS.Immediate | undefined;

  constructor(options: DebouncerOptions) {
    if (options.quietPeriodMs < 0 || options.maxDelayMs < options.quietPeriodMs) {
      throw new RangeError('debounce: need 0 <= quietPeriodMs <= maxDelayMs');
    }
    this.options = options;
  }

  trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      if (this.rerun) this.options.onMerged?.();
      this.rerun = true;
      return;
    }
    if (this.pending) this.options.onMerged?.();
    const now = performance.now();
    if (this.options.leading === true && !this.pending && now - this.lastFlushEnd >= this.options.quietPeriodMs) {
      this.pending = true;
      this.lastTrigger = now;
      this.options.onLeading?.();
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        void this.fire();
      });
      return;
    }
    this.pending = true;
    this.lastTrigger = now;
    // Joining a leading flush that has not run yet: it takes this trigger along.
    if (this.immediate !== undefined) return;
    if (this.quietTimer === undefined) this.armQuiet(this.options.quietPeriodMs);
    if (this.maxTimer === undefined) {
      this.maxTimer = setTimeout(() => void this.fire(), this.options.maxDelayMs);
    }
  }

  /** Runs a pending flush now (used at shutdown and when the first sync completes). */
  async flushNow(): Promise<void> {
    if (this.pending) await this.fire();
  }

  isPending(): boolean {
    return this.pending || this.running;
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
  }

  private armQuiet(ms: number): void {
    this.quietTimer = setTimeout(() => {
      this.quietTimer = undefined;
      const left = this.lastTrigger + this.options.quietPeriodMs - performance.now();
      // Timers may fire up to ~1 ms early; a remainder under 1 ms counts as quiet.
      if (left >= 1 && this.pending) this.armQuiet(left);
      else void this.fire();
    }, ms);
  }

  private clearTimers(): void {
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.immediate = undefined;
    if (this.quietTimer !== undefined) clearTimeout(this.quietTimer);
    if (this.maxTimer !== undefined) clearTimeout(this.maxTimer);
    this.quietTimer = undefined;
    this.maxTimer = undefined;
  }

  private async fire(): Promise<void> {
    if (!this.pending || this.running) return;
    this.clearTimers();
    this.pending = false;
    this.running = true;
    try {
      await this.options.flush();
    } catch (e) {
      this.options.onError?.(e);
    } finally {
      this.running = false;
      this.lastFlushEnd = performance.now();
    }
    if (this.rerun) {
      this.rerun = false;
      this.trigger();
    }
  }
}
