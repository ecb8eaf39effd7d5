/**
 * A keyed work queue with bounded concurrency and no duplicates: pushing a key that is already
 * queued does nothing; pushing a key that is running makes it run once more after it finishes
 * (its watch may have fired during the read). Paused, it starts nothing new.
 *
 * Contract: `run` never rejects (the caller handles its own errors); `onIdle` is called whenever
 * the last running task finishes and nothing is queued (also while paused, once nothing runs).
 */
export class ReadQueue {
  private readonly pending = new Set<string>();
  private readonly running = new Set<string>();
  private readonly again = new Set<string>();
  private paused = false;

  constructor(
    private readonly o: {
      readonly concurrency: number;
      readonly run: (key: string) => Promise<void>;
      readonly onIdle: () => void;
    },
  ) {}

  push(key: string): void {
    if (this.running.has(key)) this.again.add(key);
    else this.pending.add(key);
    this.pump();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.pump();
  }

  /** Drops everything queued (running tasks finish). */
  clear(): void {
    this.pending.clear();
    this.again.clear();
  }

  get idle(): boolean {
    return this.running.size === 0 && this.pending.size === 0;
  }

  get size(): number {
    return this.pending.size + this.running.size;
  }

  private pump(): void {
    while (!this.paused && this.running.size < this.o.concurrency) {
      const next = this.pending.values().next();
      if (next.done === true) break;
      const key = next.value;
      this.pending.delete(key);
      this.running.add(key);
      void this.o.run(key).finally(() => {
        this.running.delete(key);
        if (this.again.delete(key)) this.pending.add(key);
        this.pump();
        if (this.running.size === 0 && (this.pending.size === 0 || this.paused)) this.o.onIdle();
      });
    }
  }
}
