import {
  AddressMode,
  entryAddressLimit,
  listenerKey,
  sharedServiceEntry,
  splitKey,
  type ListenerClaim,
} from '../convert/addresses.js';
import type { IstioResource } from '../snapshot/index.js';
import type { VipPool } from './vip-pool.js';

/** What addressesOf() returns for a host without addresses (always this array). */
export const NO_ADDRESSES: readonly string[] = Object.freeze([]);

/**
 * Decides the listener addresses of every published host and the shared ServiceEntries, from
 * the hosts' listener claims (docs/mapping.md#listener-addresses, ADR 0013). Incremental: a
 * settle() redoes only the hosts that share an ip:port with a host updated since the last one.
 *
 * Contract (mode `providers`; `vip` hosts get their VIP, `none` hosts nothing, and neither
 * claims provider IPs):
 * - An IP is a host's address iff the host has an endpoint at it whose effective port equals a
 *   ServiceEntry port and, for every port number of the host, no other host has an endpoint at
 *   that ip:port. So no two published ServiceEntries ever share an address on a port: istiod
 *   builds one listener (TCP) or one virtual-host domain (HTTP) per ip:port, and its cluster is
 *   the one service that listens there.
 * - Every other claimed ip:port belongs to a shared ServiceEntry keyed by (port, the sorted set of
 *   hosts listening there): its cluster holds exactly the ip:ports every one of those hosts
 *   listens on, so a connection to one of them reaches a provider of whichever host the client
 *   meant. An entry carries at most entryAddressLimit() addresses (8 for TCP, 1 with an HTTP
 *   port: see convert/addresses.ts); a host's further own IPs and larger groups go to chunk
 *   entries of that size.
 * - A host with a TCP port and no address of its own gets a VIP from the pool (a wildcard TCP
 *   listener would take every connection on that port to any IP).
 * - addressesOf() and sharedResources() are deterministic functions of the claims, except which
 *   VIP a host holds (see VipPool); VIPs are allocated in host order within one settle().
 */
export class AddressIndex {
  private readonly claims = new Map<string, { readonly claim: ListenerClaim; readonly mode: AddressMode }>();
  /**
   * ip -> the providers-mode hosts with a key at that ip (on any port). Who listens on an
   * ip:port is read from it and the hosts' claims (ownersOf): no map of every ip:port.
   */
  private readonly byIp = new Map<string, string | string[]>();
  /** host -> its addresses: at most entryAddressLimit() (8), so a membership test is a scan. */
  private readonly addrs = new Map<string, readonly string[]>();
  /** Uncovered key -> its group signature. */
  private readonly keyGroup = new Map<string, string>();
  private readonly groups = new Map<string, { readonly port: number; readonly keys: Set<string> }>();
  private readonly groupResources = new Map<string, readonly IstioResource[]>();
  private sharedCache: IstioResource[] | undefined = [];
  private dirtyHosts = new Set<string>();
  private dirtyKeys = new Set<string>();
  private vipShortage = 0;

  constructor(private readonly vips: VipPool) {}

  /** Records the claim of `host` (undefined: the host is gone). Takes effect at settle(). */
  update(host: string, claim: ListenerClaim | undefined, mode: AddressMode): void {
    const old = this.claims.get(host);
    if (old !== undefined && old.claim === claim && old.mode === mode) return;
    if (old !== undefined && old.mode === AddressMode.PROVIDERS) {
      for (const k of old.claim.keys) this.dirtyKeys.add(k);
      for (const ip of ipsOf(old.claim)) remove(this.byIp, ip, host);
    }
    if (claim === undefined) this.claims.delete(host);
    else {
      this.claims.set(host, { claim, mode });
      if (mode === AddressMode.PROVIDERS) {
        for (const k of claim.keys) this.dirtyKeys.add(k);
        for (const ip of ipsOf(claim)) add(this.byIp, ip, host);
      }
    }
    this.dirtyHosts.add(host);
  }

  /**
   * Applies the updates since the last settle(). Returns the hosts whose addresses changed (their
   * ServiceEntries must be rebuilt) and whether the shared ServiceEntries changed.
   */
  settle(): { readonly hosts: ReadonlySet<string>; readonly sharedChanged: boolean } {
    const affected = new Set(this.dirtyHosts);
    // A key at an ip changes the exclusivity of that ip for every host listening there on any port.
    for (const k of this.dirtyKeys) for (const h of members(this.byIp, splitKey(k).ip)) affected.add(h);
    const keysToCheck = new Set(this.dirtyKeys);
    this.dirtyHosts = new Set();
    this.dirtyKeys = new Set();
    const changed = new Set<string>();
    const order = [...affected].sort();
    // Release first, so VIPs freed in this settle can be reused by hosts allocated in it.
    const next = new Map<string, string[] | 'vip'>();
    for (const h of order) {
      const entry = this.claims.get(h);
      const want = entry === undefined ? undefined : this.wanted(h, entry.claim, entry.mode);
      if (want !== 'vip') this.vips.release(h);
      if (want !== undefined) next.set(h, want);
      else if (this.addrs.has(h)) {
        this.addrs.delete(h);
        changed.add(h);
      }
    }
    for (const h of order) {
      const want = next.get(h);
      if (want === undefined) continue;
      let list: readonly string[];
      if (want === 'vip') {
        const vip = this.vips.allocate(h);
        if (vip === undefined) this.vipShortage += 1;
        list = vip === undefined ? [] : [vip];
      } else list = want;
      const before = this.addrs.get(h) ?? [];
      if (!sameList(before, list)) {
        if (list.length === 0) this.addrs.delete(h);
        else this.addrs.set(h, list);
        changed.add(h);
      }
      const entry = this.claims.get(h);
      if (entry?.mode === AddressMode.PROVIDERS) for (const k of entry.claim.keys) keysToCheck.add(k);
    }
    const dirtyGroups = new Set<string>();
    for (const k of keysToCheck) this.placeKey(k, affected, dirtyGroups);
    for (const sig of dirtyGroups) this.rebuildGroup(sig);
    if (dirtyGroups.size > 0) this.sharedCache = undefined;
    return { hosts: changed, sharedChanged: dirtyGroups.size > 0 };
  }

  /** The addresses of `host`'s ServiceEntry (empty: none). */
  addressesOf(host: string): readonly string[] {
    return this.addrs.get(host) ?? NO_ADDRESSES;
  }

  /** Every shared ServiceEntry, sorted by key. */
  sharedResources(): readonly IstioResource[] {
    if (this.sharedCache === undefined) {
      const all: IstioResource[] = [];
      for (const list of this.groupResources.values()) all.push(...list);
      all.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      this.sharedCache = all;
    }
    return this.sharedCache;
  }

  /** For /debug and metrics. */
  stats(): { readonly hostsWithAddresses: number; readonly vips: number; readonly vipCapacity: number; readonly vipShortage: number; readonly sharedGroups: number; readonly sharedKeys: number } {
    let sharedKeys = 0;
    for (const g of this.groups.values()) sharedKeys += g.keys.size;
    return {
      hostsWithAddresses: this.addrs.size,
      vips: this.vips.allocated,
      vipCapacity: this.vips.capacity,
      vipShortage: this.vipShortage,
      sharedGroups: this.groups.size,
      sharedKeys,
    };
  }

  /** Shared groups for /debug: port, the hosts that share it and its ip:ports (first 20). */
  sharedGroups(): Array<{ port: number; hosts: readonly string[]; endpoints: number; examples: readonly string[] }> {
    const out: Array<{ port: number; hosts: readonly string[]; endpoints: number; examples: readonly string[] }> = [];
    for (const [sig, g] of this.groups) {
      const keys = [...g.keys].sort();
      out.push({ port: g.port, hosts: ownersOfSignature(sig), endpoints: keys.length, examples: keys.slice(0, 20).map((k) => k.replace('|', ':')) });
    }
    return out.sort((a, b) => a.port - b.port || (a.hosts.join(',') < b.hosts.join(',') ? -1 : 1));
  }

  /** What `host` should get: provider IPs, 'vip', or undefined (no claim). */
  private wanted(host: string, claim: ListenerClaim, mode: AddressMode): string[] | 'vip' | undefined {
    if (mode === AddressMode.NONE) return [];
    if (mode === AddressMode.VIP) return 'vip';
    const ips: string[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < claim.keys.length; i++) {
      const ip = claim.meta.ipAt(i);
      if (seen.has(ip)) continue;
      seen.add(ip);
      if (this.soleOwnerAt(ip, claim, host)) ips.push(ip);
    }
    if (ips.length === 0) return claim.hasTcpPort ? 'vip' : [];
    ips.sort();
    const limit = entryAddressLimit(claim.ports.map((p) => p.protocol));
    return ips.length > limit ? ips.slice(0, limit) : ips;
  }

  /** True when no providers-mode host but `host` listens at `ip` on any of `claim`'s ports. */
  private soleOwnerAt(ip: string, claim: ListenerClaim, host: string): boolean {
    const at = members(this.byIp, ip);
    if (at.length === 1 && at[0] === host) return true;
    for (const h of at) {
      if (h === host) continue;
      const other = this.claims.get(h)?.claim;
      if (other !== undefined && claim.ports.some((p) => other.meta.has(listenerKey(ip, p.number)))) return false;
    }
    return true;
  }

  /** The providers-mode hosts listening on `key` (ip|port), in no particular order. */
  private ownersOf(key: string, ip: string): string[] {
    const out: string[] = [];
    for (const h of members(this.byIp, ip)) if (this.claims.get(h)?.claim.meta.has(key) === true) out.push(h);
    return out;
  }

  /** Moves `key` into the group it now belongs to (or out of every group when covered). */
  private placeKey(key: string, affected: ReadonlySet<string>, dirtyGroups: Set<string>): void {
    const { ip, port } = splitKey(key);
    const o = this.ownersOf(key, ip);
    const before = this.keyGroup.get(key);
    let sig: string | undefined;
    if (o.length === 1) {
      const only = o[0] as string;
      if (this.addrs.get(only)?.includes(ip) !== true) sig = `${port}|${only}`;
    } else if (o.length > 1) sig = `${port}|${o.sort().join(',')}`;
    if (before !== undefined && before !== sig) {
      this.groups.get(before)?.keys.delete(key);
      dirtyGroups.add(before);
      this.keyGroup.delete(key);
    }
    if (sig === undefined) return;
    if (before !== sig) {
      let g = this.groups.get(sig);
      if (g === undefined) this.groups.set(sig, (g = { port, keys: new Set() }));
      g.keys.add(key);
      this.keyGroup.set(key, sig);
      dirtyGroups.add(sig);
    } else if (ownersOfSignature(sig).some((h) => affected.has(h))) dirtyGroups.add(sig);
  }

  private rebuildGroup(sig: string): void {
    const g = this.groups.get(sig);
    if (g === undefined || g.keys.size === 0) {
      this.groups.delete(sig);
      this.groupResources.delete(sig);
      return;
    }
    const owners = ownersOfSignature(sig);
    const first = this.claims.get(owners[0] as string)?.claim;
    if (first === undefined) return;
    const protocols = new Set<string>();
    for (const h of owners) {
      const p = this.claims.get(h)?.claim.ports.find((x) => x.number === g.port);
      protocols.add(p?.protocol ?? 'TCP');
    }
    const protocol = protocols.size === 1 ? ([...protocols][0] as string) : 'TCP';
    const keys = [...g.keys].sort();
    const out: IstioResource[] = [];
    const size = entryAddressLimit([protocol]);
    for (let i = 0, chunk = 0; i < keys.length; i += size, chunk++) {
      out.push(
        sharedServiceEntry({
          signature: sig,
          port: g.port,
          protocol,
          owners,
          keys: keys.slice(i, i + size),
          chunk,
          namespace: first.namespace,
          exportTo: first.exportTo,
          labels: first.labels,
          meta: first.meta,
        }),
      );
    }
    this.groupResources.set(sig, out);
  }
}

function members(m: ReadonlyMap<string, string | string[]>, key: string): readonly string[] {
  const o = m.get(key);
  return o === undefined ? [] : typeof o === 'string' ? [o] : o;
}

function add(m: Map<string, string | string[]>, key: string, host: string): void {
  const o = m.get(key);
  if (o === undefined) m.set(key, host);
  else if (typeof o === 'string') {
    if (o !== host) m.set(key, [o, host]);
  } else if (!o.includes(host)) o.push(host);
}

function remove(m: Map<string, string | string[]>, key: string, host: string): void {
  const o = m.get(key);
  if (o === host) m.delete(key);
  else if (Array.isArray(o)) {
    const i = o.indexOf(host);
    if (i >= 0) o.splice(i, 1);
    if (o.length === 1) m.set(key, o[0] as string);
  }
}

/** The distinct IPs of a claim's keys (the endpoints' own strings, so byIp holds no copies). */
function ipsOf(claim: ListenerClaim): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i < claim.keys.length; i++) out.add(claim.meta.ipAt(i));
  return out;
}

function ownersOfSignature(sig: string): string[] {
  return sig.slice(sig.indexOf('|') + 1).split(',');
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
