/**
 * What istiod holds for the hosts of one file registry, read from its debug endpoints the way a
 * person checks it (/debug/registryz, /debug/endpointz, /debug/configz), normalised so it can be
 * compared with what the registry file says.
 */
import type { FileService } from './meshbridge.js';

interface Debuggable {
  debug(what: string): Promise<unknown>;
}

/** host -> ports ("name:number/PROTOCOL") and endpoints ("address:port w=N k=v,..."), sorted. */
export type HostsView = Record<string, { readonly ports: string[]; readonly endpoints: string[] }>;

interface RegistryzService {
  hostname?: string;
  ports?: Array<{ name?: string; port?: number; protocol?: string }>;
  Attributes?: { Namespace?: string };
}

interface EndpointzEntry {
  Labels?: Record<string, string>;
  Addresses?: string[];
  EndpointPort?: number;
  LbWeight?: number;
}

type Endpointz = Record<string, Record<string, { Shards?: Record<string, EndpointzEntry[]> }>>;

interface ConfigzEntry {
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; creationTimestamp?: string };
  spec?: unknown;
}

/** The Istio host Meshbridge makes of a file-registry service (default hostTemplate). */
export function hostOf(s: Pick<FileService, 'name' | 'namespace'>, registry: string): string {
  return `${s.name}.${s.namespace}.${registry}.local`;
}

function labelText(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .filter(([k]) => !k.startsWith('topology.istio.io/'))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Hosts in sorted order, so two views compare equal as JSON text. */
function sorted(view: HostsView): HostsView {
  return Object.fromEntries(Object.entries(view).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** What istiod should show for `services` (inline ServiceEntries, one entry per endpoint and port). */
export function expectedView(services: readonly FileService[], registry: string): HostsView {
  const view: HostsView = {};
  for (const s of services) {
    view[hostOf(s, registry)] = {
      ports: s.ports.map((p) => `${p.name}:${p.number}/${p.protocol}`).sort(),
      endpoints: s.ports.flatMap((p) => s.instances.map((i) => `${i.address}:${p.number} w=${i.weight} ${labelText(i.labels)}`)).sort(),
    };
  }
  return sorted(view);
}

/** istiod's view of every host ending in `.<registry>.local` in `namespace`. */
export async function istiodView(istiod: Debuggable, registry: string, namespace: string): Promise<HostsView> {
  const suffix = `.${registry}.local`;
  const registryz = (await istiod.debug('registryz')) as RegistryzService[];
  const endpointz = (await istiod.debug('endpointz')) as Endpointz;
  const view: HostsView = {};
  for (const s of registryz) {
    const host = s.hostname ?? '';
    if (!host.endsWith(suffix) || s.Attributes?.Namespace !== namespace) continue;
    const entries = Object.values(endpointz[host]?.[namespace]?.Shards ?? {}).flat();
    view[host] = {
      ports: (s.ports ?? []).map((p) => `${p.name ?? ''}:${p.port ?? 0}/${p.protocol ?? ''}`).sort(),
      endpoints: entries
        .flatMap((e) => (e.Addresses ?? []).map((a) => `${a}:${e.EndpointPort ?? 0} w=${e.LbWeight ?? 0} ${labelText(e.Labels ?? {})}`))
        .sort(),
    };
  }
  return sorted(view);
}

export interface ConfigzObject {
  readonly key: string;
  readonly resourceVersion: string;
  readonly creationTimestamp: string;
  readonly spec: unknown;
}

/** istiod's /debug/configz objects in `namespace`, keyed "Kind/namespace/name", sorted. */
export async function istiodConfigz(istiod: Debuggable, namespace: string): Promise<ConfigzObject[]> {
  const c = (await istiod.debug('configz')) as ConfigzEntry[];
  return c
    .filter((e) => e.metadata?.namespace === namespace)
    .map((e) => ({
      key: `${e.kind ?? '?'}/${namespace}/${e.metadata?.name ?? '?'}`,
      resourceVersion: e.metadata?.resourceVersion ?? '',
      creationTimestamp: e.metadata?.creationTimestamp ?? '',
      spec: e.spec,
    }))
    .sort((a, b) => (a.key < b.key ? -1 : 1));
}

/**
 * The change steps both routes run: each returns the next registry file. Addresses are data only
 * (127.0.0.x / 10.x), never dialled.
 */
export interface Step {
  readonly what: string;
  readonly services: readonly FileService[];
}

const orders0: FileService = {
  name: 'orders',
  namespace: 'shop',
  ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }],
  instances: [
    { address: '127.0.0.11', weight: 10, labels: { version: 'v1' } },
    { address: '10.1.0.2', weight: 20, labels: { version: 'v2' } },
  ],
};
const payments0: FileService = {
  name: 'payments',
  namespace: 'shop',
  ports: [{ number: 9090, name: 'grpc', protocol: 'GRPC' }],
  instances: [{ address: '10.2.0.1', weight: 5, labels: { app: 'payments' } }],
};
const inventory0: FileService = {
  name: 'inventory',
  namespace: 'shop',
  ports: [{ number: 7000, name: 'tcp-inv', protocol: 'TCP' }],
  instances: [{ address: '127.0.0.21', weight: 1, labels: { app: 'inventory' } }],
};

function withOrders(o: Partial<FileService>, rest: readonly FileService[] = [payments0]): FileService[] {
  return [{ ...orders0, ...o }, ...rest];
}

export const STEPS: readonly Step[] = [
  { what: 'add two services', services: [orders0, payments0] },
  {
    what: 'change an endpoint address',
    services: withOrders({ instances: [orders0.instances[0]!, { ...orders0.instances[1]!, address: '10.1.0.3' }] }),
  },
  {
    what: 'change an endpoint weight',
    services: withOrders({ instances: [{ ...orders0.instances[0]!, weight: 70 }, { ...orders0.instances[1]!, address: '10.1.0.3' }] }),
  },
  {
    what: 'change an endpoint label',
    services: withOrders({
      instances: [{ ...orders0.instances[0]!, weight: 70, labels: { version: 'v1', track: 'canary' } }, { ...orders0.instances[1]!, address: '10.1.0.3' }],
    }),
  },
  {
    what: 'change the service port',
    services: withOrders({
      ports: [{ number: 8081, name: 'http-alt', protocol: 'HTTP' }],
      instances: [{ ...orders0.instances[0]!, weight: 70, labels: { version: 'v1', track: 'canary' } }, { ...orders0.instances[1]!, address: '10.1.0.3' }],
    }),
  },
  {
    what: 'add a service and an endpoint',
    services: withOrders(
      {
        ports: [{ number: 8081, name: 'http-alt', protocol: 'HTTP' }],
        instances: [
          { ...orders0.instances[0]!, weight: 70, labels: { version: 'v1', track: 'canary' } },
          { ...orders0.instances[1]!, address: '10.1.0.3' },
          { address: '127.0.0.12', weight: 10, labels: { version: 'v3' } },
        ],
      },
      [payments0, inventory0],
    ),
  },
  {
    what: 'delete an endpoint and a service',
    services: withOrders(
      {
        ports: [{ number: 8081, name: 'http-alt', protocol: 'HTTP' }],
        instances: [{ ...orders0.instances[0]!, weight: 70, labels: { version: 'v1', track: 'canary' } }, { address: '127.0.0.12', weight: 10, labels: { version: 'v3' } }],
      },
      [inventory0],
    ),
  },
];

/** Median and max of a list of latencies in ms, for the test output. */
export function summary(ms: readonly number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  return `n=${s.length} median=${s[Math.floor(s.length / 2)] ?? 0} ms max=${s[s.length - 1] ?? 0} ms`;
}
