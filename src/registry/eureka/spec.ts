import { HostFrom } from './instance.js';
import { InstanceStatus } from './wire.js';
import type { AddProblem, JsonSchema, RegistryKindSpec, SchemaBuilder } from '../kind.js';

/** Defaults of the `eureka:` block (the only place they are stated). */
export const EurekaDefaults = {
  /** Between delta fetches (Eureka's own client: registryFetchIntervalSeconds = 30). */
  intervalMs: 5000,
  statuses: [InstanceStatus.UP] as readonly string[],
  hostFrom: HostFrom.APP,
  timeoutMs: 10_000,
} as const;

/** Settings of a `eureka` registry (docs/configuration.md, "eureka registry"). */
export interface EurekaSourceConfig {
  /** In failover order. May carry credentials (`http://user:pass@host/eureka/`) unless `auth` is set. */
  readonly serviceUrls: readonly string[];
  readonly intervalMs: number;
  /** Upper-case Eureka statuses published as endpoints. */
  readonly statuses: readonly string[];
  readonly hostFrom: HostFrom;
  readonly auth: { readonly username: string; readonly password: string } | undefined;
  readonly timeoutMs: number;
}

interface RawEurekaBlock {
  readonly serviceUrls: readonly string[];
  readonly intervalMs?: number;
  readonly statuses?: readonly string[];
  readonly hostFrom?: HostFrom;
  readonly auth?: { readonly username: string; readonly password: string };
  readonly timeoutMs?: number;
}

export const eurekaKind: RegistryKindSpec<EurekaSourceConfig> = {
  kind: 'eureka',
  description: 'a Netflix/Spring Cloud Eureka server, followed by delta fetches with the apps hash check',
  schema(s: SchemaBuilder): JsonSchema {
    return s.object(
      'Settings of a `eureka` registry: one full fetch of /apps, then /apps/delta every intervalMs, as Eureka\'s own client does (docs/configuration.md, "eureka registry").',
      {
        serviceUrls: {
          type: 'array',
          description: 'Eureka service URLs, e.g. http://10.0.0.5:8761/eureka/ (Eureka\'s defaultZone form), tried in order with failover.',
          minItems: 1,
          items: s.str('One Eureka service URL (http:// or https://).', { minLength: 1 }),
        },
        intervalMs: s.int('Delay between delta fetches. Eureka has no push: this bounds how late a change is seen. Unchanged deltas publish nothing.', {
          minimum: 100,
          default: EurekaDefaults.intervalMs,
        }),
        statuses: {
          type: 'array',
          description: 'Instance statuses published as endpoints; instances in other statuses are left out.',
          minItems: 1,
          uniqueItems: true,
          items: s.str('A Eureka instance status.', { enum: Object.values(InstanceStatus) }),
          default: [...EurekaDefaults.statuses],
        },
        hostFrom: s.str('Service name ({name} in the host template): the app name (default), or each instance\'s vipAddress. Both are lower-cased.', {
          enum: Object.values(HostFrom),
          default: EurekaDefaults.hostFrom,
        }),
        auth: s.object(
          'HTTP basic authentication for every service URL. Put the password in the environment: password: ${ENV:EUREKA_PASSWORD}.',
          {
            username: s.str('User name.', { minLength: 1 }),
            password: s.str('Its password.', { minLength: 1 }),
          },
          ['username', 'password'],
        ),
        timeoutMs: s.int('Deadline of one request (connect, answer and body); then the next service URL is tried.', {
          minimum: 100,
          default: EurekaDefaults.timeoutMs,
        }),
      },
      ['serviceUrls'],
    );
  },
  check(block: unknown, add: AddProblem): void {
    const b = block as RawEurekaBlock; // schema-validated
    b.serviceUrls.forEach((raw, i) => {
      let u: URL;
      try {
        u = new URL(raw);
      } catch {
        add(['serviceUrls', i], 'is not a URL (e.g. http://10.0.0.5:8761/eureka/)');
        return;
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') add(['serviceUrls', i], `scheme ${u.protocol} is not http: or https:`);
      if (u.search !== '' || u.hash !== '') add(['serviceUrls', i], 'must not have a query or fragment');
      if ((u.username !== '' || u.password !== '') && b.auth !== undefined) {
        add(['serviceUrls', i], 'carries credentials and auth is set too: use one of them');
      }
    });
  },
  resolve(block: unknown): EurekaSourceConfig {
    const b = block as RawEurekaBlock; // schema-validated and checked
    return {
      serviceUrls: [...b.serviceUrls],
      intervalMs: b.intervalMs ?? EurekaDefaults.intervalMs,
      statuses: [...(b.statuses ?? EurekaDefaults.statuses)],
      hostFrom: b.hostFrom ?? EurekaDefaults.hostFrom,
      auth: b.auth !== undefined ? { username: b.auth.username, password: b.auth.password } : undefined,
      timeoutMs: b.timeoutMs ?? EurekaDefaults.timeoutMs,
    };
  },
  async load() {
    const { EurekaRegistry } = await import('./eureka-registry.js');
    return { create: (settings, common) => new EurekaRegistry({ ...settings, ...common }) };
  },
};
