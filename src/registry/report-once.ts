import type { MeshbridgeError } from '../errors/index.js';

/**
 * Reports a persisting problem once: a problem is reported when it is new for its key or its
 * text changed, and not again until it changes or the key is cleared (the problem went away).
 * Adapters key it by what the problem is about (a node path, a service, a datacenter).
 */
export class ReportOnce {
  private readonly last = new Map<string, string>();

  constructor(private readonly report: (e: MeshbridgeError) => void) {}

  /** Reports `e` unless the same text was the last one reported for `key`; true when reported. */
  problem(key: string, e: MeshbridgeError, text: string = `${e.code} ${e.message}`): boolean {
    if (this.last.get(key) === text) return false;
    this.last.set(key, text);
    this.report(e);
    return true;
  }

  /** The problem of `key` is over; true when one was held. */
  clear(key: string): boolean {
    return this.last.delete(key);
  }

  clearAll(): void {
    this.last.clear();
  }

  has(key: string): boolean {
    return this.last.has(key);
  }
}
