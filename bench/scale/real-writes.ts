/**
 * Changes written to a real registry from the bench process (setups with a real source): each
 * change stamped right before it is sent, write failures counted rather than thrown, and the
 * time from the first write sent to the last one acknowledged, reported once per phase.
 */
import type { Change } from './protocol.js';
import { nowMs } from './raw-ads.js';
import type { RealSource } from './sources.js';

export class RealWrites {
  private failures = 0;
  private firstFailure = '';
  /** ms from the first write sent to the last one acknowledged, in the current phase. */
  private ackedMs: number | undefined;

  constructor(private readonly real: RealSource) {}

  /** Writes `cs` all at once; resolves with each change's stamp once the registry acknowledged all. */
  async apply(cs: readonly Change[]): Promise<Map<number, number>> {
    // Stamped here, right before each write is sent to the registry.
    const stamps = new Map<number, number>();
    const writes: Array<Promise<void>> = [];
    const t0 = performance.now();
    for (const c of cs) {
      stamps.set(c.id, nowMs());
      writes.push(this.written(this.real.write(c)));
    }
    await Promise.all(writes);
    if (cs.length > 1) this.ackedMs = performance.now() - t0;
    return stamps;
  }

  /**
   * Churn from this process: in 10 ms ticks (as the bridge's churn), each change stamped with the
   * time it was due and sent without waiting for the previous ones' acks, so a registry (or
   * writer) that falls behind counts as latency.
   */
  async churn(changes: readonly Change[], perSecond: number): Promise<Map<number, number>> {
    const t0 = performance.now();
    const stamps = new Map<number, number>();
    const writes: Array<Promise<void>> = [];
    const start = performance.now();
    const startEpoch = nowMs();
    let next = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const due = Math.min(changes.length, Math.floor(((performance.now() - start) / 1000) * perSecond) + 1);
        while (next < due) {
          const c = changes[next++];
          if (c === undefined) continue;
          stamps.set(c.id, startEpoch + ((next - 1) / perSecond) * 1000);
          writes.push(this.written(this.real.write(c)));
        }
        if (next >= changes.length) resolve();
        else setTimeout(tick, 10);
      };
      tick();
    });
    await Promise.all(writes);
    this.ackedMs = performance.now() - t0;
    return stamps;
  }

  /** The phase's notes on the writes (acknowledgement time, failures), then starts a new phase. */
  notes(): string {
    const n = this.failures;
    const acked = this.ackedMs;
    this.failures = 0;
    this.ackedMs = undefined;
    return (
      (acked !== undefined ? `; the registry acknowledged the last write ${acked.toFixed(0)} ms after the first was sent` : '') +
      (n > 0 ? `; ${n} registry writes failed (first: ${this.firstFailure})` : '')
    );
  }

  private written(w: Promise<void>): Promise<void> {
    return w.catch((e: unknown) => {
      if (this.failures++ === 0) this.firstFailure = e instanceof Error ? e.message : String(e);
    });
  }
}
