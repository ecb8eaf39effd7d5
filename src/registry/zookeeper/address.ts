import { normaliseAddress, type AddressRules } from '../shared/address.js';

/** Dubbo and Curator providers: "any host" cannot be dialled; names are case-insensitive. */
const PROVIDER_ADDRESS: AddressRules = { refuseUnspecified: true, lowercase: true };

/**
 * Normalises a provider's advertised host: IPv4, IPv6 (brackets removed) or a DNS name, lowercased.
 * Refuses unspecified addresses (`0.0.0.0`, `::`), IPv6 zone ids and anything else. Returns the
 * address, or undefined when it is unusable.
 */
export function normaliseHost(raw: string): string | undefined {
  return normaliseAddress(raw, PROVIDER_ADDRESS);
}

/** True for a TCP port number 1-65535. */
export function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}
