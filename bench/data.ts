/**
 * Realistic, deterministic bench inputs: Dubbo-style services with 2 ports, 3 endpoints each
 * (labels, weight, locality), converted with the project's own pure conversion.
 *
 * Contract: equal arguments give equal (deep-equal, not identical) objects, so a bench can
 * rebuild a service to get a new object with the same content, or pass a `variant` to get a
 * service that differs only in the address of its first endpoint.
 */
import { convert, defaultConversionOptions, EndpointForm, hostFor } from '../src/convert/index.js';
import type { ConversionOptions, ConvertInput } from '../src/convert/index.js';
import { Health, type Endpoint, type Port, type Service } from '../src/model/index.js';
import type { IstioResource } from '../src/snapshot/index.js';

export const REGISTRY = 'bench';
export const SERVICES = 10_000;
export const ENDPOINTS_PER_SERVICE = 3;

export const options: ConversionOptions = {
  ...defaultConversionOptions,
  namespace: 'meshbridge',
  hostTemplate: '{name}.{namespace}.{registry}.local',
  extraLabels: { team: 'platform' },
};

export const workloadEntryOptions: ConversionOptions = { ...options, form: EndpointForm.WORKLOAD_ENTRY };

const PORTS: readonly Port[] = [
  { number: 8080, name: 'http', protocol: 'HTTP' },
  { number: 9090, name: 'grpc', protocol: 'GRPC', targetPort: 19090 },
];

const ZONES = ['us-east1-b', 'us-east1-c', 'us-east1-d'] as const;

function endpoint(i: number, k: number, address: string): Endpoint {
  return {
    address,
    ports: { http: 8080, grpc: 19090 },
    labels: {
      app: `service${i}`,
      version: k === 2 ? 'v2' : 'v1',
      'dubbo.version': '3.2.0',
      'example.com/team': `team${i % 20}`,
    },
    weight: 100,
    locality: { region: 'us-east1', zone: ZONES[k % ZONES.length] ?? 'us-east1-b' },
    health: Health.HEALTHY,
    origin: REGISTRY,
    instanceId: `${address}:8080`,
  };
}

/** Shape of generated services: endpoints per service and the registry they come from. */
export interface ServiceShape {
  readonly endpoints?: number;
  readonly registry?: string;
}

/**
 * Service `i` (0 <= i < 65,536); `variant` > 0 (< 2^24) moves its first endpoint to another
 * address (11.x.y.z), so every variant converts to a different resource version.
 */
export function benchService(i: number, variant = 0, shape: ServiceShape = {}): Service {
  const base = `10.${(i >> 8) & 255}.${i & 255}`;
  const registry = shape.registry ?? REGISTRY;
  const endpoints = Array.from({ length: shape.endpoints ?? ENDPOINTS_PER_SERVICE }, (_, k) => {
    const address = k === 0 && variant > 0 ? `11.${(variant >> 16) & 255}.${(variant >> 8) & 255}.${variant & 255}` : `${base}.${k + 1}`;
    return { ...endpoint(i, k, address), origin: registry };
  });
  return {
    registry,
    registryKind: 'fake',
    name: `com.example.shop${i % 100}.OrderService${i}`,
    namespace: `team${i % 20}`,
    attributes: { group: 'shop', version: '1.0.0' },
    ports: PORTS,
    endpoints,
  };
}

export function benchServices(n: number = SERVICES): Service[] {
  return Array.from({ length: n }, (_, i) => benchService(i));
}

/** One service with `n` endpoints (distinct addresses), for the WorkloadEntry-form case. */
export function bigService(n: number): Service {
  const endpoints = Array.from({ length: n }, (_, j) => endpoint(j, j % 3, `10.${(j >> 16) & 255}.${(j >> 8) & 255}.${j & 255}`));
  return {
    registry: REGISTRY,
    registryKind: 'fake',
    name: 'com.example.big.CatalogService',
    namespace: 'catalog',
    attributes: {},
    ports: PORTS,
    endpoints,
  };
}

export function inputOf(s: Service, o: ConversionOptions = options): ConvertInput {
  return { host: hostFor(s, o), primary: s, ports: s.ports, endpoints: s.endpoints, origins: [s.registry] };
}

/** The resources the pipeline would publish for these services (inline form: one each). */
export function resourcesOf(services: readonly Service[], o: ConversionOptions = options): IstioResource[] {
  const out: IstioResource[] = [];
  for (const s of services) for (const r of convert(inputOf(s, o), o).resources) out.push(r);
  return out;
}
