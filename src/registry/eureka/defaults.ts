import { HostFrom } from './instance.js';
import { InstanceStatus } from './wire.js';

/** Defaults of a Eureka registry; the config's `eureka` block documents and applies the same. */
export const EurekaDefaults = {
  /** Between delta fetches (Eureka's own client: registryFetchIntervalSeconds = 30). */
  intervalMs: 5000,
  statuses: [InstanceStatus.UP] as readonly string[],
  hostFrom: HostFrom.APP,
  timeoutMs: 10_000,
  /** An empty full listing is refused this long while instances are known (a restarted server). */
  emptyHoldMs: 120_000,
} as const;
