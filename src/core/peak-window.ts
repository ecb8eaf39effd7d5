/**
 * The largest value held within a sliding time window (a monotonic deque): push is amortised
 * O(1), peak is O(1) after dropping what fell out of the window.
 *
 * Contract: times pushed never decrease. A value holds from its push until the next push (the
 * latest value holds now), so pushing the same value again changes nothing: a caller may push
 * on every pass or only on changes and gets the same peaks. `peak(now)` is the largest value
 * that held at some time >= now - window (the window of the latest push), or 0 when empty.
 */
export class PeakWindow {
  private times: number[] = [];
  private values: number[] = [];
  private head = 0;
  private windowMs = 0;

  push(at: number, value: number, windowMs: number): void {
    this.windowMs = windowMs;
    // The newest value held until now.
    if (this.times.length > this.head) this.times[this.times.length - 1] = at;
    while (this.values.length > this.head && (this.values[this.values.length - 1] ?? 0) <= value) {
      this.values.pop();
      this.times.pop();
    }
    this.times.push(at);
    this.values.push(value);
    this.expire(at);
  }

  peak(now: number): number {
    this.expire(now);
    return this.values.length > this.head ? (this.values[this.head] ?? 0) : 0;
  }

  reset(): void {
    this.times = [];
    this.values = [];
    this.head = 0;
  }

  private expire(now: number): void {
    // The newest entry always stays: it is the current value, whatever the window.
    while (this.values.length - this.head > 1 && (this.times[this.head] ?? 0) < now - this.windowMs) this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.values.length) {
      this.times = this.times.slice(this.head);
      this.values = this.values.slice(this.head);
      this.head = 0;
    }
  }
}
