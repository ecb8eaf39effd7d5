import { normaliseAddress as normalise } from '../shared/address.js';

/**
 * An instance's `ipAddr` as an endpoint address: IPv4, IPv6 (brackets removed) or a DNS name;
 * undefined for anything else (spaces inside, zone ids such as `fe80::1%eth0`, `10.0.0.256`).
 * Surrounding whitespace is ignored (Eureka clients have been seen to send it).
 */
export function normaliseAddress(raw: string): string | undefined {
  return normalise(raw.trim());
}
