import { footprintOf } from '../convert/addresses.js';
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
  /** `a|`/`d|` footprint key -> the resource key, or the keys when several (most keys have one). */
  private readonly claims = new Map<string, string | Set<string>>();
  /** `w|port` -> resource keys of TCP services without addresses, and of HTTP services. */
  private readonly wildcards = new Map<string, { readonly tcp: Set<string>; readonly http: Set<string> }>();
  /** The resource recorded per key (its footprint is recomputed on removal rather than held). */
  private readonly footprints = new Map<string, IstioResource>();
  private readonly conflicting = new Set<string>();

  /** Records `r` (a published resource) or, with undefined, the removal of the resource `key`. */
  update(key: string, r: IstioResource | undefined): void {
    const old = this.footprints.get(key);
    if (old === r) return;
    if (old !== undefined) for (const f of footprintOf(old)) this.set(tagged(f), key, false);
    if (r === undefined) {
      this.footprints.delete(key);
      return;
    }
    for (const f of footprintOf(r)) this.set(tagged(f), key, true);
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
        const w = this.wildcards.get(k);
        out.push({ kind: 'wildcard', port: Number(parts[1]), resources: [...(w?.tcp ?? []), ...(w?.http ?? [])].sort() });
      } else {
        const c = this.claims.get(k);
        const resources = c === undefined ? [] : typeof c === 'string' ? [c] : [...c];
        out.push({ kind: parts[0] === 'a' ? 'address' : 'domain', port: Number(parts[2]), what: parts[1] as string, resources: resources.sort() });
      }
    }
    return out.sort((a, b) => a.port - b.port || compareStrings(a.kind, b.kind) || compareStrings(a.what ?? '', b.what ?? '') || compareStrings(a.resources.join(), b.resources.join()));
  }

  get size(): number {
    return this.conflicting.size;
  }

  /** Adds (on) or removes `resource` under the footprint key `k` (`T`/`H` prefixed for wildcards). */
  private set(k: string, resource: string, on: boolean): void {
    if (k.startsWith('T') || k.startsWith('H')) {
      const wk = k.slice(1);
      let w = this.wildcards.get(wk);
      if (w === undefined) this.wildcards.set(wk, (w = { tcp: new Set(), http: new Set() }));
      const side = k.startsWith('T') ? w.tcp : w.http;
      if (on) side.add(resource);
      else side.delete(resource);
      if (w.tcp.size === 0 && w.http.size === 0) this.wildcards.delete(wk);
      this.mark(wk, w.tcp.size >= 2 || (w.tcp.size >= 1 && w.http.size >= 1));
      return;
    }
    const c = this.claims.get(k);
    if (on) {
      if (c === undefined) this.claims.set(k, resource);
      else if (typeof c === 'string') {
        if (c !== resource) this.claims.set(k, new Set([c, resource]));
      } else c.add(resource);
    } else if (c === resource) this.claims.delete(k);
    else if (typeof c !== 'string' && c !== undefined) {
      c.delete(resource);
      if (c.size === 1) this.claims.set(k, [...c][0] as string);
    }
    const now = this.claims.get(k);
    this.mark(k, now !== undefined && typeof now !== 'string');
  }

  private mark(k: string, bad: boolean): void {
    if (bad) this.conflicting.add(k);
    else this.conflicting.delete(k);
  }
}

function tagged(f: { readonly key: string; readonly tcpWildcard?: boolean; readonly httpWildcard?: boolean }): string {
  return f.tcpWildcard === true ? `T${f.key}` : f.httpWildcard === true ? `H${f.key}` : f.key;
}

