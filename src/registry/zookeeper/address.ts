import { isIP } from 'node:net';

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** A DNS-1123 subdomain whose last label is not all digits (so `10.0.0.256` is not a name). */
function isDnsName(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  const labels = s.split('.');
  if (!labels.every((l) => DNS_LABEL.test(l))) return false;
  return !/^[0-9]+$/.test(labels[labels.length - 1] ?? '');
}

/**
 * Normalises a provider's advertised host: IPv4, IPv6 (brackets removed) or a DNS name. Refuses
 * unspecified addresses (`0.0.0.0`, `::`: a provider that advertises "any host" cannot be dialled),
 * IPv6 zone ids and anything else. Returns the address, or undefined when it is unusable.
 */
export function normaliseHost(raw: string): string | undefined {
  let a = raw;
  if (a.startsWith('[') && a.endsWith(']')) {
    a = a.slice(1, -1);
    if (isIP(a) !== 6) return undefined;
  }
  if (a.includes('%')) return undefined;
  const family = isIP(a);
  if (family === 4) return a === '0.0.0.0' ? undefined : a;
  if (family === 6) return /^[0:]+$/.test(a) ? undefined : a.toLowerCase();
  return isDnsName(a) ? a.toLowerCase() : undefined;
}

/** True for a TCP port number 1-65535. */
export function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}
