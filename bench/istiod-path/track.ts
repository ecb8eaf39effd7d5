/**
 * Follows registry changes to a LeanSidecar: each change is (cluster, new endpoint IP, start
 * time); it is seen when an EDS response carrying that cluster holds the IP, or holds the IP of a
 * later change to the same cluster (a later version contains the earlier change). Latency is from
 * the start time to the receipt of that response.
 *
 * Contract: `expect` before the change is made visible; `settled()` resolves when nothing is
 * pending or after `timeoutMs`, with the latencies and the number never seen.
 */
import type { LeanSidecar } from '../../test-support/dataplane/lean-sidecar.js';

interface Pending {
  readonly t0: number;
  readonly address: string;
}

export class ChangeTracker {
  private readonly pending = new Map<string, Pending[]>();
  private readonly latencies: number[] = [];
  private open = 0;
  private readonly off: () => void;

  constructor(sidecar: LeanSidecar) {
    this.off = sidecar.onEndpoints((at, names) => {
      for (const n of names) {
        const list = this.pending.get(n);
        if (list === undefined) continue;
        const have = new Set(sidecar.addresses(n));
        let j = -1;
        for (let i = list.length - 1; i >= 0; i--) {
          if (have.has(list[i]!.address)) {
            j = i;
            break;
          }
        }
        if (j < 0) continue;
        for (const p of list.splice(0, j + 1)) this.latencies.push(at - p.t0);
        this.open -= j + 1;
        if (list.length === 0) this.pending.delete(n);
      }
    });
  }

  /** Registers a change about to be made (t0 = now). */
  expect(cluster: string, address: string, t0 = performance.now()): void {
    const list = this.pending.get(cluster) ?? [];
    list.push({ t0, address });
    this.pending.set(cluster, list);
    this.open += 1;
  }

  pendingCount(): number {
    return this.open;
  }

  /** Waits until every change was seen or `timeoutMs` passed; stops tracking. */
  async settled(timeoutMs: number): Promise<{ latencies: number[]; lost: number }> {
    const end = performance.now() + timeoutMs;
    while (this.open > 0 && performance.now() < end) await new Promise((r) => setTimeout(r, 5));
    this.off();
    return { latencies: [...this.latencies], lost: this.open };
  }
}
