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

/**
 * Normalises and checks an instance address. Accepts IPv4, IPv6 (also written `[::1]`; the
 * brackets are removed) and DNS names. IPv6 zone ids (`fe80::1%eth0`) are refused: they mean
 * nothing outside the host that wrote them. Returns the address to use, or undefined.
 */
export function normaliseAddress(raw: string): string | undefined {
  let a = raw;
  if (a.startsWith('[') && a.endsWith(']')) {
    a = a.slice(1, -1);
    if (isIP(a) !== 6) return undefined;
  }
  if (a.includes('%')) return undefined;
  if (isIP(a) !== 0) return a;
  return isDnsName(a) ? a : undefined;
}
