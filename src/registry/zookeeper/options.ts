import type { Logger } from '../../observability/index.js';
import type { RegistryContext } from '../types.js';

/** Which Dubbo registration levels become services. */
export const DubboLevels = {
  INTERFACE: 'interface',
  APPLICATION: 'application',
  BOTH: 'both',
} as const;
export type DubboLevels = (typeof DubboLevels)[keyof typeof DubboLevels];

export const ZOOKEEPER_REGISTRY_KIND = 'zookeeper';

export interface ZookeeperRegistryOptions {
  /** Configured registry name: Service.registry and Endpoint.origin. */
  readonly name: string;
  /** `host:port[,host:port...]`, optionally followed by the chroot (`/prod`). */
  readonly connectString: string;
  readonly sessionTimeoutMs: number;
  readonly digest?: { readonly username: string; readonly password: string };
  readonly dubbo: {
    readonly levels: DubboLevels;
    /** Interface-level root (Dubbo's `/dubbo`). */
    readonly root: string;
    /** Application-level root (Dubbo's `/services`). */
    readonly servicesPath: string;
  };
  /** Plain Curator service discovery (Spring Cloud Zookeeper): undefined = off. */
  readonly curator?: { readonly basePath: string; readonly protocol: string };
  /** Reads in flight at once (default 64). */
  readonly maxConcurrentReads?: number;
  /** While a long listing runs, results are applied at least this often (default 200 ms). */
  readonly maxFlushDelayMs?: number;
  readonly context: RegistryContext;
  readonly logger: Logger;
}
