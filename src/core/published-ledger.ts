/**
 * The incremental-delta bookkeeping of a flush: what was last handed to the store, by host (and
 * the shared ServiceEntries), and which owner each resource key was handed over under.
 *
 * Contract:
 * - A full pass calls restart(), then record() for every host: the ledger then holds exactly
 *   what the full list handed over.
 * - delta() gives the changes of some hosts against what was last handed over and records them;
 *   it gives undefined when a resource key would move between hosts (only the full list lets the
 *   store resolve that, as a full pass does). The ledger is then to be rebuilt by a full pass.
 * - deltasExact is false once one key was recorded under two owners: until the next full pass
 *   no delta is exact.
 */
import type { IstioResource } from '../snapshot/index.js';

/** What a flush hands the store: a delta of the changed hosts, or everything. */
export interface Changes {
  readonly upserts: IstioResource[];
  readonly removed: IstioResource[];
}
export type Collected = Changes | { readonly all: IstioResource[] };

/** Owner of the shared ServiceEntries' keys in keyHost. */
const SHARED = '\u0000shared';

export class PublishedLedger {
  private published = new Map<string, readonly IstioResource[]>();
  private publishedShared: readonly IstioResource[] = [];
  /** The host (or SHARED) each handed-over key belongs to. */
  private keyHost = new Map<string, string>();
  /** A full pass saw one key under two owners: the store resolved it, deltas cannot. */
  private duplicateKeys = false;

  get deltasExact(): boolean {
    return !this.duplicateKeys;
  }

  /** Forgets the hosts handed over (not the shared entries), for a full pass to record anew. */
  restart(): void {
    this.published = new Map();
    this.keyHost = new Map();
    this.duplicateKeys = false;
  }

  /** `host`'s resources were handed over. */
  record(host: string, resources: readonly IstioResource[]): void {
    if (resources.length === 0) this.published.delete(host);
    else this.published.set(host, resources);
    for (const r of resources) {
      if (this.keyHost.has(r.key) && this.keyHost.get(r.key) !== host) this.duplicateKeys = true;
      this.keyHost.set(r.key, host);
    }
  }

  /**
   * The delta of `hosts` (their resources now: `resourcesOf`, asked once per host in order)
   * against what was last handed over, recorded; undefined when a key would move between hosts.
   */
  delta(hosts: Iterable<string>, resourcesOf: (host: string) => readonly IstioResource[]): Changes | undefined {
    const upserts: IstioResource[] = [];
    const removed: IstioResource[] = [];
    for (const host of hosts) {
      const next = resourcesOf(host);
      for (const r of next) {
        const owner = this.keyHost.get(r.key);
        if (owner !== undefined && owner !== host) return undefined;
      }
      const prev = this.published.get(host) ?? [];
      if (prev === next) continue;
      const keys = new Set(next.map((r) => r.key));
      for (const r of prev) {
        if (keys.has(r.key)) continue;
        removed.push(r);
        this.keyHost.delete(r.key);
      }
      for (const r of next) upserts.push(r);
      this.record(host, next);
    }
    return { upserts, removed };
  }

  /** Adds the shared ServiceEntries to `out` (in a delta: those gone as removed) and records them. */
  shared(shared: readonly IstioResource[], out: Collected): void {
    const live = new Set(shared.map((r) => r.key));
    for (const r of this.publishedShared) {
      if (live.has(r.key)) continue;
      if (!('all' in out)) out.removed.push(r);
      if (this.keyHost.get(r.key) === SHARED) this.keyHost.delete(r.key);
    }
    for (const r of shared) ('all' in out ? out.all : out.upserts).push(r);
    this.publishedShared = shared;
    for (const r of shared) {
      const owner = this.keyHost.get(r.key);
      if (owner !== undefined && owner !== SHARED) this.duplicateKeys = true;
      this.keyHost.set(r.key, SHARED);
    }
  }
}
