/** Which listener addresses a registry's ServiceEntries get (docs/mapping.md#listener-addresses). */
export const AddressMode = {
  /**
   * `addresses` = the provider IPs no other service uses on the same ports; ip:ports shared by
   * several services get a shared ServiceEntry whose endpoints serve all of them; a TCP service
   * left without an address gets a VIP (never a wildcard listener). The default.
   */
  PROVIDERS: 'providers',
  /** One VIP from the pool per service: only clients that dial the host (DNS capture) are governed. */
  VIP: 'vip',
  /** No addresses (Meshbridge before 0.2): TCP services share the wildcard listener; conflicts are reported. */
  NONE: 'none',
} as const;
export type AddressMode = (typeof AddressMode)[keyof typeof AddressMode];
