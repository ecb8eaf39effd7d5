import { ErrorCode, MeshbridgeError } from '../errors/index.js';
import { contentHash } from '../util/hash.js';

/**
 * Virtual IPs for services that need a listener address but have no provider IP of their own
 * (docs/mapping.md#listener-addresses).
 *
 * Contract: a host keeps its VIP for as long as it holds one (allocate() returns the same address
 * until release()). A new host gets the address its hash points at, else the next free one
 * (wrapping), so the same set of hosts allocated in the same order gets the same addresses
 * across restarts; hosts whose hash slot is free are stable whatever the order. The network and
 * broadcast addresses of the range are never handed out. allocate() returns undefined when the
 * pool is full.
 */
export class VipPool {
  private readonly base: number;
  private readonly size: number;
  private readonly byHost = new Map<string, number>();
  private readonly used = new Set<number>();

  /** `cidr`: an IPv4 range, prefix length 8 to 30 (e.g. 240.241.0.0/16). */
  constructor(readonly cidr: string) {
    const parsed = parseCidr(cidr);
    this.base = parsed.base;
    this.size = parsed.size;
  }

  allocate(host: string): string | undefined {
    const have = this.byHost.get(host);
    if (have !== undefined) return ipText(this.base + have);
    const usable = this.size - 2;
    if (this.used.size >= usable) return undefined;
    let slot = Number.parseInt(contentHash(host).slice(0, 8), 16) % usable;
    while (this.used.has(slot + 1)) slot = (slot + 1) % usable;
    this.used.add(slot + 1);
    this.byHost.set(host, slot + 1);
    return ipText(this.base + slot + 1);
  }

  release(host: string): void {
    const have = this.byHost.get(host);
    if (have === undefined) return;
    this.byHost.delete(host);
    this.used.delete(have);
  }

  /** The VIP `host` holds, if any. */
  of(host: string): string | undefined {
    const have = this.byHost.get(host);
    return have === undefined ? undefined : ipText(this.base + have);
  }

  get allocated(): number {
    return this.byHost.size;
  }

  get capacity(): number {
    return this.size - 2;
  }
}

function ipText(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Parses an IPv4 CIDR; throws MB_CONFIG_INVALID for anything else. */
export function parseCidr(cidr: string): { base: number; size: number } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
  const bad = (why: string): MeshbridgeError => new MeshbridgeError(ErrorCode.CONFIG_INVALID, `vipCidr "${cidr}": ${why}`, { path: 'mapping.vipCidr' });
  if (m === null) throw bad('not an IPv4 CIDR like 240.241.0.0/16');
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) throw bad('an octet is above 255');
  const bits = Number(m[5]);
  if (bits < 8 || bits > 30) throw bad('the prefix length must be 8 to 30');
  const ip = (((octets[0] as number) << 24) | ((octets[1] as number) << 16) | ((octets[2] as number) << 8) | (octets[3] as number)) >>> 0;
  const size = 2 ** (32 - bits);
  if (ip % size !== 0) throw bad(`host bits are set (the range starts at ${ipText(ip - (ip % size))})`);
  return { base: ip, size };
}
