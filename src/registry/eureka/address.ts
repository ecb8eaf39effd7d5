import { isIP } from 'node:net';

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/**
 * An instance's `ipAddr` as an endpoint address: IPv4, IPv6 (brackets removed) or a DNS name;
 * undefined for anything else (spaces, zone ids such as `fe80::1%eth0`, `10.0.0.256`).
 */
export function normaliseAddress(raw: string): string | undefined {
  let a = raw.trim();
  if (a.startsWith('[') && a.endsWith(']')) {
    a = a.slice(1, -1);
    if (isIP(a) !== 6) return undefined;
  }
  if (a.includes('%')) return undefined;
  if (isIP(a) !== 0) return a;
  if (a.length === 0 || a.length > 253) return undefined;
  const labels = a.split('.');
  if (!labels.every((l) => DNS_LABEL.test(l))) return undefined;
  return /^[0-9]+$/.test(labels[labels.length - 1] ?? '') ? undefined : a;
}
