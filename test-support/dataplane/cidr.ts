/**
 * IP addresses and CIDR ranges for filter-chain matching: IPv4 and IPv6 (IPv4-mapped IPv6 is its
 * own family, as in Envoy). Parsing is strict enough for xDS (no zone ids).
 */
import { unwrap, type CidrRange } from './types.js';

export interface Ip {
  readonly v6: boolean;
  readonly value: bigint;
}

export interface Cidr {
  readonly v6: boolean;
  /** The network, masked to `length` bits. */
  readonly value: bigint;
  readonly length: number;
}

const parsed = new Map<string, Ip | undefined>();

/** Parses an IPv4 or IPv6 address ("[::1]" brackets allowed); undefined if it is neither. Memoised. */
export function parseIp(text: string): Ip | undefined {
  if (parsed.has(text)) return parsed.get(text);
  const ip = parseUncached(text);
  if (parsed.size > 50_000) parsed.clear();
  parsed.set(text, ip);
  return ip;
}

function parseUncached(text: string): Ip | undefined {
  const s = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (!s.includes(':')) {
    const v4 = parseV4(s);
    return v4 === undefined ? undefined : { v6: false, value: v4 };
  }
  const v6 = parseV6(s);
  return v6 === undefined ? undefined : { v6: true, value: v6 };
}

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    v = (v << 8n) | BigInt(Number(p));
  }
  return v;
}

function parseV6(s: string): bigint | undefined {
  let text = s;
  const lastColon = text.lastIndexOf(':');
  const maybeV4 = text.slice(lastColon + 1);
  if (maybeV4.includes('.')) {
    // a trailing dotted quad is two groups: "::ffff:1.2.3.4" is "::ffff:102:304"
    const v4 = parseV4(maybeV4);
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const group = (h: string): bigint[] | undefined => {
    if (h === '') return [];
    const out: bigint[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(BigInt(`0x${g}`));
    }
    return out;
  };
  const head = group(halves[0] ?? '');
  const rest = halves.length === 2 ? group(halves[1] ?? '') : [];
  if (head === undefined || rest === undefined) return undefined;
  const known = head.length + rest.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return undefined;
  const groups = [...head, ...Array<bigint>(8 - known).fill(0n), ...rest];
  let v = 0n;
  for (const g of groups) v = (v << 16n) | g;
  return v;
}

/** A CidrRange of a FilterChainMatch; undefined when its address does not parse. */
export function parseCidr(range: CidrRange): Cidr | undefined {
  const ip = parseIp(range.address_prefix ?? '');
  if (ip === undefined) return undefined;
  const bits = ip.v6 ? 128 : 32;
  const length = Math.min(unwrap(range.prefix_len, 0) ?? 0, bits);
  const mask = length === 0 ? 0n : ((1n << BigInt(length)) - 1n) << BigInt(bits - length);
  return { v6: ip.v6, value: ip.value & mask, length };
}

/** Whether `ip` is inside `cidr` (same family only). */
export function cidrContains(cidr: Cidr, ip: Ip): boolean {
  if (cidr.v6 !== ip.v6) return false;
  const bits = ip.v6 ? 128 : 32;
  if (cidr.length === 0) return true;
  const mask = ((1n << BigInt(cidr.length)) - 1n) << BigInt(bits - cidr.length);
  return (ip.value & mask) === cidr.value;
}

/** "ip:port", with IPv6 in brackets. */
export function hostPort(ip: string, port: number): string {
  return ip.includes(':') && !ip.startsWith('[') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
