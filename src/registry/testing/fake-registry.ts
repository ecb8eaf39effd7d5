import type { Service } from '../../model/index.js';
import { ErrorCode, MeshbridgeError } from '../../errors/index.js';
import { ServiceSetRegistry } from '../service-set.js';

/**
 * An in-memory registry for tests: records nothing on its own, changes only when the test calls
 * `set`, `put`, `drop` or `disconnect`. Not a mock: it runs the same state keeping as adapters.
 */
export class FakeRegistry extends ServiceSetRegistry {
  private readonly initial: readonly Service[] | undefined;
  starts = 0;

  /** `initial` undefined: the registry stays unsynced until `set` is called. */
  constructor(name: string, initial?: readonly Service[], kind = 'fake') {
    super(name, kind);
    this.initial = initial;
  }

  start(_signal: AbortSignal): Promise<void> {
    this.starts++;
    if (this.initial !== undefined) this.replaceAll(this.initial);
    return Promise.resolve();
  }

  set(services: readonly Service[]): void {
    this.replaceAll(services);
  }

  put(service: Service): void {
    this.upsert(service);
    this.markSyncedNow();
  }

  drop(key: string): void {
    this.remove(key);
  }

  disconnect(): void {
    this.markDisconnected(new MeshbridgeError(ErrorCode.REGISTRY_UNREACHABLE, `${this.name} unreachable`));
  }
}

/** A small service builder for tests. */
export function svc(
  registry: string,
  name: string,
  addresses: readonly string[],
  extra: Partial<Pick<Service, 'ports' | 'attributes' | 'namespace'>> = {},
): Service {
  const ports = extra.ports ?? [{ number: 8080, name: 'http', protocol: 'HTTP' as const }];
  return {
    registry,
    registryKind: 'fake',
    name,
    ...(extra.namespace !== undefined ? { namespace: extra.namespace } : {}),
    attributes: extra.attributes ?? {},
    ports,
    endpoints: addresses.map((address) => ({
      address,
      ports: Object.fromEntries(ports.map((p) => [p.name, p.number])),
      labels: {},
      health: 'healthy' as const,
      origin: registry,
    })),
  };
}
