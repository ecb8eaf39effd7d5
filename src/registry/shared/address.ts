import { isIP } from 'node:net';

/** One DNS-1123 label: 1-63 of [a-z0-9-], starting and ending alphanumeric (case-insensitive). */
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/**
 * A DNS-1123 subdomain: dot-separated labels, at most 253 characters, no trailing dot. The last
 * label must not be all digits, so that a malformed IPv4 address (`10.0.0.256`) is not taken for
 * a host name.
 */
export function isDnsName(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  const labels = s.split('.');
  if (!labels.every((l) => DNS_LABEL.test(l))) return false;
  return !/^[0-9]+$/.test(labels[labels.length - 1] ?? '');
}

/** How a registry's addresses are read, where registries differ. */
export interface AddressRules {
  /** Ignore surrounding whitespace (Eureka clients have been seen to send it). Default false. */
  readonly trim?: boolean;
  /** Refuse `0.0.0.0` and `::` (a provider that advertises "any host" cannot be dialled). Default false. */
  readonly refuseUnspecified?: boolean;
  /** Lowercase IPv6 addresses and DNS names. Default false (conversion lowercases them anyway). */
  readonly lowercase?: boolean;
}

/**
 * Normalises and checks an instance address, the one rule every adapter uses. Accepts IPv4, IPv6
 * (also written `[::1]`; the brackets are removed) and DNS names. IPv6 zone ids (`fe80::1%eth0`)
 * are refused: they mean nothing outside the host that wrote them. Returns the address to use,
 * or undefined (the caller reports the entry).
 */
export function normaliseAddress(raw: string, rules: AddressRules = {}): string | undefined {
  let a = rules.trim === true ? raw.trim() : raw;
  if (a.startsWith('[') && a.endsWith(']')) {
    a = a.slice(1, -1);
    if (isIP(a) !== 6) return undefined;
  }
  if (a.includes('%')) return undefined;
  const family = isIP(a);
  if (family === 4) return rules.refuseUnspecified === true && a === '0.0.0.0' ? undefined : a;
  if (family === 6) {
    if (rules.refuseUnspecified === true && /^[0:]+$/.test(a)) return undefined;
    return rules.lowercase === true ? a.toLowerCase() : a;
  }
  if (!isDnsName(a)) return undefined;
  return rules.lowercase === true ? a.toLowerCase() : a;
}
