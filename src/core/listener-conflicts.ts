import { footprintOf, type Footprint } from '../convert/addresses.js';
import type { IstioResource } from '../snapshot/index.js';
import { compareStrings } from '../util/sort.js';

/** One place on a sidecar's outbound side that several published ServiceEntries want. */
export interface ListenerConflict {
  /** address: two entries with one address on a port; domain: one HTTP host twice; wildcard: TCP services without addresses on a port shared with another TCP or an HTTP service. */
  readonly kind: 'address' | 'domain' | 'wildcard';
  readonly port: number;
  /** The address or host fought over (absent for wildcard). */
  readonly what?: string;
  /** Keys of the ServiceEntries involved, sorted. istiod keeps the oldest and drops the others. */
  readonly resources: readonly string[];
}

/**
 * The listener conflicts of the published ServiceEntries, kept incrementally (update() per
 * changed resource), so a flush pays only for what changed. See footprintOf for what conflicts.
 */
export class ListenerConflicts {
  /**
   * `a|port` / `d|port` -> address or host -> the resource key, or the keys when several (most
   * have one). Keyed by the entries' own strings: no `a|ip|port` string per address.
   */
  private readonly claims = new Map<string, Map<string, string | Set<string>>>();
  /** port -> resource keys of TCP services without addresses, and of HTTP services. */
  private readonly wildcards = new Map<number, { readonly tcp: Set<string>; readonly http: Set<string> }>();
  /** The resource recorded per key (its footprint is recomputed on removal rather than held). */
  private readonly footprints = new Map<string, IstioResource>();
  /** Conflicts: `a|<what>|<port>`, `d|<what>|<port>` or `w|<port>` (rare: built only for them). */
  private readonly conflicting = new Set<string>();

  /** Records `r` (a published resource) or, with undefined, the removal of the resource `key`. */
  update(key: string, r: IstioResource | undefined): void {
    const old = this.footprints.get(key);
    if (old === r) return;
    if (old !== undefined) for (const f of footprintOf(old)) this.set(f, key, false);
    if (r === undefined) {
      this.footprints.delete(key);
      return;
    }
    for (const f of footprintOf(r)) this.set(f, key, true);
    this.footprints.set(key, r);
  }

  /** Keys of the resources recorded (for diffing a list against them). */
  keys(): IterableIterator<string> {
    return this.footprints.keys();
  }

  list(): ListenerConflict[] {
    const out: ListenerConflict[] = [];
    for (const k of this.conflicting) {
      const parts = k.split('|');
      if (parts[0] === 'w') {
        const port = Number(parts[1]);
        const w = this.wildcards.get(port);
        out.push({ kind: 'wildcard', port, resources: [...(w?.tcp ?? []), ...(w?.http ?? [])].sort() });
      } else {
        const port = Number(parts[parts.length - 1]);
        const what = parts.slice(1, -1).join('|');
        const c = this.claims.get(`${parts[0]}|${port}`)?.get(what);
        const resources = c === undefined ? [] : typeof c === 'string' ? [c] : [...c];
        out.push({ kind: parts[0] === 'a' ? 'address' : 'domain', port, what, resources: resources.sort() });
      }
    }
    return out.sort((a, b) => a.port - b.port || compareStrings(a.kind, b.kind) || compareStrings(a.what ?? '', b.what ?? '') || compareStrings(a.resources.join(), b.resources.join()));
  }

  get size(): number {
    return this.conflicting.size;
  }

  /** Adds (on) or removes `resource` under footprint `f`. */
  private set(f: Footprint, resource: string, on: boolean): void {
    if (f.kind === 'w') {
      let w = this.wildcards.get(f.port);
      if (w === undefined) this.wildcards.set(f.port, (w = { tcp: new Set(), http: new Set() }));
      const side = f.tcpWildcard === true ? w.tcp : w.http;
      if (on) side.add(resource);
      else side.delete(resource);
      if (w.tcp.size === 0 && w.http.size === 0) this.wildcards.delete(f.port);
      this.mark(`w|${f.port}`, w.tcp.size >= 2 || (w.tcp.size >= 1 && w.http.size >= 1));
      return;
    }
    const what = f.what ?? '';
    const slot = `${f.kind}|${f.port}`;
    let m = this.claims.get(slot);
    if (m === undefined) {
      if (!on) return;
      this.claims.set(slot, (m = new Map<string, string | Set<string>>()));
    }
    const c = m.get(what);
    if (on) {
      if (c === undefined) m.set(what, resource);
      else if (typeof c === 'string') {
        if (c !== resource) m.set(what, new Set([c, resource]));
      } else c.add(resource);
    } else if (c === resource) m.delete(what);
    else if (typeof c !== 'string' && c !== undefined) {
      c.delete(resource);
      if (c.size === 1) m.set(what, [...c][0] as string);
    }
    const now = m.get(what);
    if (m.size === 0) this.claims.delete(slot);
    const bad = now !== undefined && typeof now !== 'string';
    // The name is built only when it is a conflict now, or when one may have been marked before.
    if (bad || this.conflicting.size > 0) this.mark(`${f.kind}|${what}|${f.port}`, bad);
  }

  private mark(k: string, bad: boolean): void {
    if (bad) this.conflicting.add(k);
    else this.conflicting.delete(k);
  }
}
