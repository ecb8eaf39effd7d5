import type { HostCollision, HostConflict } from './aggregate.js';
import { compareStrings } from '../util/sort.js';

/**
 * What the last flush published, by Istio host, so the next flush can redo only the hosts its
 * changed services touch (see Pipeline.flush).
 *
 * Contract:
 * - `hostOf(rank, key)` is the host the service `key` of the registry at `rank` (config order)
 *   mapped to in the last published view; undefined when it had none (invalid name) or was absent.
 * - `members(host)` lists (rank, key) of every service mapped to `host`.
 * - `hosts()` are the hosts that had a conversion input, sorted (the order a full merge gives).
 * - Conflicts and collisions are kept per host and listed sorted by host.
 */
export class HostIndex {
  private readonly byRank: Array<Map<string, string>>;
  /** Members of each host: one member id, or several (a host most often has one service). */
  private readonly memberIds = new Map<string, string | string[]>();
  private readonly conflictOf = new Map<string, HostConflict>();
  private readonly collisionsOf = new Map<string, readonly HostCollision[]>();
  private sorted: string[] = [];

  constructor(registries: number) {
    this.byRank = Array.from({ length: registries }, () => new Map<string, string>());
  }

  hostOf(rank: number, key: string): string | undefined {
    return this.byRank[rank]?.get(key);
  }

  /** Records that service `key` of `rank` now maps to `host` (undefined: to no host). */
  place(rank: number, key: string, host: string | undefined): void {
    const m = this.byRank[rank];
    if (m === undefined) return;
    const old = m.get(key);
    if (old === host) return;
    if (old !== undefined) this.removeMember(old, memberId(rank, key));
    if (host === undefined) {
      m.delete(key);
      return;
    }
    m.set(key, host);
    const id = memberId(rank, key);
    const cur = this.memberIds.get(host);
    if (cur === undefined) this.memberIds.set(host, id);
    else if (typeof cur === 'string') this.memberIds.set(host, [cur, id]);
    else cur.push(id);
  }

  private removeMember(host: string, id: string): void {
    const cur = this.memberIds.get(host);
    if (cur === id) this.memberIds.delete(host);
    else if (Array.isArray(cur)) {
      const i = cur.indexOf(id);
      if (i >= 0) cur.splice(i, 1);
      if (cur.length === 1) this.memberIds.set(host, cur[0] as string);
    }
  }

  *members(host: string): Generator<readonly [number, string]> {
    const cur = this.memberIds.get(host);
    for (const id of cur === undefined ? [] : typeof cur === 'string' ? [cur] : cur) {
      const bar = id.indexOf('|');
      yield [Number(id.slice(0, bar)), id.slice(bar + 1)];
    }
  }

  /** Sets the sorted host list (a full merge's inputs, already sorted). */
  setHosts(sorted: readonly string[]): void {
    this.sorted = [...sorted];
  }

  hosts(): readonly string[] {
    return this.sorted;
  }

  /** Adds a host to the sorted list (binary search; no-op when present). */
  addHost(host: string): void {
    const i = lowerBound(this.sorted, host);
    if (this.sorted[i] !== host) this.sorted.splice(i, 0, host);
  }

  removeHost(host: string): void {
    const i = lowerBound(this.sorted, host);
    if (this.sorted[i] === host) this.sorted.splice(i, 1);
  }

  /** Replaces the conflicts and collisions of `hosts` by those given (which concern only them). */
  replaceProblems(hosts: Iterable<string>, conflicts: readonly HostConflict[], collisions: readonly HostCollision[]): void {
    for (const h of hosts) {
      this.conflictOf.delete(h);
      this.collisionsOf.delete(h);
    }
    for (const c of conflicts) this.conflictOf.set(c.host, c);
    const byHost = new Map<string, HostCollision[]>();
    for (const c of collisions) {
      let list = byHost.get(c.host);
      if (list === undefined) byHost.set(c.host, (list = []));
      list.push(c);
    }
    for (const [h, list] of byHost) this.collisionsOf.set(h, list);
  }

  conflicts(): HostConflict[] {
    return [...this.conflictOf.values()].sort((a, b) => compareStrings(a.host, b.host));
  }

  collisions(): HostCollision[] {
    const out: HostCollision[] = [];
    for (const list of this.collisionsOf.values()) out.push(...list);
    return out.sort((a, b) => compareStrings(a.host, b.host) || compareStrings(a.registry, b.registry));
  }
}

function memberId(rank: number, key: string): string {
  return `${rank}|${key}`;
}

function lowerBound(sorted: readonly string[], x: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as string) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

