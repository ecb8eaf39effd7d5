/**
 * Hostile and ordinary model services shared by the conversion golden tests and the CRD schema
 * test (test/convert). Test support only: nothing in the product imports this module.
 */
import { Health, type Endpoint, type Port, type Protocol, type Service } from '../../model/index.js';
import { defaultConversionOptions, EndpointForm, type ConversionOptions, type ConvertInput } from '../options.js';

export const REGISTRY = 'demo';

export function port(number: number, name: string, protocol: Protocol = 'TCP', targetPort?: number): Port {
  return { number, name, protocol, ...(targetPort !== undefined ? { targetPort } : {}) };
}

export function ep(address: string, extra: Partial<Endpoint> = {}): Endpoint {
  return { address, ports: {}, labels: {}, health: Health.HEALTHY, origin: REGISTRY, ...extra };
}

export function service(name: string, ports: readonly Port[], endpoints: readonly Endpoint[], extra: Partial<Service> = {}): Service {
  return { registry: REGISTRY, registryKind: 'file', name, attributes: {}, ports, endpoints, ...extra };
}

export function inputOf(s: Service, host: string): ConvertInput {
  return { host, primary: s, ports: s.ports, endpoints: s.endpoints, origins: [s.registry] };
}

export const baseOptions: ConversionOptions = {
  ...defaultConversionOptions,
  namespace: 'meshbridge',
  hostTemplate: '{name}.{namespace}.{registry}.local',
};

/** One golden case: several services converted with the same options. */
export interface Fixture {
  readonly name: string;
  readonly description: string;
  readonly options: ConversionOptions;
  readonly services: readonly Service[];
}

const http = [port(8080, 'http', 'HTTP')];

export const fixtures: readonly Fixture[] = [
  {
    name: 'plain-http',
    description: 'an HTTP service with two healthy endpoints, in shuffled order',
    options: { ...baseOptions, exportTo: ['.', 'istio-system', '.'], extraLabels: { team: 'shop' } },
    services: [
      service('reviews', http, [ep('10.0.0.2', { ports: { http: 8080 } }), ep('10.0.0.1', { ports: { http: 8080 } })], { namespace: 'shop' }),
    ],
  },
  {
    name: 'hostile-names',
    description: 'uppercase, underscores, dots, unicode, Dubbo interface names, a 300-character name, an empty template result',
    options: { ...baseOptions, hostTemplate: '{name}.{version}.{registry}.local' },
    services: [
      service('Reviews_V2', http, [ep('10.0.1.1')]),
      service('a.b.c', http, [ep('10.0.1.2')]),
      service('com.foo.Bar:1.0.0', [port(20880, 'dubbo', 'TCP')], [ep('10.0.1.3')]),
      service('org.apache.dubbo.demo.DemoService', [port(20880, 'dubbo', 'TCP')], [ep('10.0.1.4')], { attributes: { version: '1.0.0' } }),
      service('bücher-服务', http, [ep('10.0.1.5')]),
      service('order service@prod', http, [ep('10.0.1.6')]),
      service('x'.repeat(300), http, [ep('10.0.1.7')]),
      service(`${'y'.repeat(60)}.${'z'.repeat(60)}.${'w'.repeat(60)}.${'v'.repeat(55)}`, http, [ep('10.0.1.8')]),
      service('-leading-and-trailing-', http, [ep('10.0.1.9')]),
      service('..', http, [ep('10.0.1.10')]),
      service('1.2.3', http, [ep('10.0.1.11')], { registry: '4' }),
    ],
  },
  {
    name: 'ipv6',
    description: 'IPv6 endpoints, bracketed and upper-case forms normalised',
    options: baseOptions,
    services: [service('ratings', [port(9090, 'grpc', 'GRPC')], [ep('[FD00:10:96::A1]'), ep('fd00:10:96::a2'), ep('::1')])],
  },
  {
    name: 'dns-addresses',
    description: 'one endpoint by DNS name switches resolution to DNS; an invalid address is dropped',
    options: baseOptions,
    services: [
      service('ratings', [port(9090, 'grpc', 'GRPC')], [ep('Ratings-1.Backend.Example.Internal', { ports: { grpc: 19090 } }), ep('10.0.2.1'), ep('not an address'), ep('fe80::1%eth0')]),
      service('static-only', [port(9090, 'grpc', 'GRPC')], [ep('10.0.2.2')]),
    ],
  },
  {
    name: 'duplicate-ports',
    description: 'duplicate numbers and names, names that sanitise to the same name, invalid names, protocol overrides',
    options: { ...baseOptions, defaultProtocol: 'TCP', portProtocols: { metrics: 'HTTP', '9443': 'HTTPS', Web_UI: 'HTTP2' } },
    services: [
      service(
        'ports',
        [
          port(8080, 'http', 'HTTP'),
          port(8080, 'http-alt', 'HTTP'),
          port(8081, 'http', 'HTTP'),
          port(9000, 'Web_UI', 'TCP'),
          port(9001, 'web-ui', 'TCP'),
          port(9090, 'metrics', 'TCP'),
          port(9443, '', 'TCP'),
          port(9500, 'p'.repeat(80), 'TCP', 19500),
          port(9600, 'weird', 'SCTP' as Protocol),
          port(70000, 'too-big', 'TCP'),
        ],
        [ep('10.0.3.1', { ports: { http: 18080, Web_UI: 9000, metrics: 0, ['p'.repeat(80)]: 29500, unknown: 1 } })],
      ),
    ],
  },
  {
    name: 'bad-labels',
    description: 'instance metadata Kubernetes rejects as labels is dropped and counted',
    options: { ...baseOptions, extraLabels: { 'bad key!': 'x', env: 'prod', [`${'a'.repeat(64)}`]: 'y' } },
    services: [
      service('labels', http, [
        ep('10.0.4.1', {
          labels: {
            app: 'labels',
            'dubbo.version': '3.2.0',
            'example.com/team': 'shop',
            'Example.com/team': 'bad prefix',
            'a/b/c': 'two slashes',
            '': 'empty key',
            '-dash': 'bad start',
            [`k${'x'.repeat(63)}`]: 'name too long',
            [`${'p'.repeat(254)}/name`]: 'prefix too long',
            empty: '',
            spaces: 'has spaces',
            long: 'v'.repeat(64),
            unicode: 'ü',
            'meshbridge.io/service-entry': 'forged',
            'sub.meshbridge.io/x': 'forged',
            ['__proto__']: 'proto',
            trailing: 'dash-',
          },
        }),
      ]),
    ],
  },
  {
    name: 'unhealthy',
    description: 'unhealthy endpoints are left out; unknown health counts as healthy',
    options: baseOptions,
    services: [
      service('health', http, [
        ep('10.0.5.1', { health: Health.HEALTHY }),
        ep('10.0.5.2', { health: Health.UNHEALTHY }),
        ep('10.0.5.3', { health: Health.UNKNOWN }),
      ]),
    ],
  },
  {
    name: 'unhealthy-included',
    description: 'includeUnhealthy publishes unhealthy endpoints too',
    options: { ...baseOptions, includeUnhealthy: true },
    services: [service('health', http, [ep('10.0.5.1'), ep('10.0.5.2', { health: Health.UNHEALTHY })])],
  },
  {
    name: 'locality-weight-network',
    description: 'locality strings, weights (rounded, clamped, 0 = drained), per-endpoint and default network',
    options: { ...baseOptions, network: 'default-net' },
    services: [
      service('reviews', http, [
        ep('10.0.6.1', { weight: 80, locality: { region: 'us-east1', zone: 'us-east1-b' } }),
        ep('10.0.6.2', { weight: 15.4, locality: { region: 'us-east1', zone: 'us-east1-c', subzone: 'rack-7' }, network: 'net-b' }),
        ep('10.0.6.3', { weight: 0 }),
        ep('10.0.6.4', { weight: 1e12, locality: { zone: 'only-zone' } }),
        ep('10.0.6.5', { weight: -3, locality: { region: 'a/b' } }),
      ]),
    ],
  },
  {
    name: 'workload-entry',
    description: 'form workloadEntry: a ServiceEntry with a workloadSelector plus one WorkloadEntry per endpoint',
    options: { ...baseOptions, form: EndpointForm.WORKLOAD_ENTRY, extraLabels: { team: 'shop' } },
    services: [
      service('reviews', [port(9080, 'http', 'HTTP'), port(9443, 'https', 'HTTPS', 8443)], [
        ep('10.0.7.1', { labels: { version: 'v1' }, weight: 10, locality: { region: 'r1' }, ports: { http: 9080, https: 8443 } }),
        ep('10.0.7.2', { labels: { version: 'v2' }, ports: { http: 19080 } }),
        ep('reviews-3.example.internal', { labels: { version: 'v3' } }),
      ], { namespace: 'shop' }),
    ],
  },
  ...(['inline', 'workloadEntry'] as const).map((form) => ({
    name: form === 'inline' ? 'identity' : 'identity-workload-entry',
    description: `identity rules, form ${form}: serviceAccount from instance metadata, through the map, the fallback for a missing value, none for an invalid one`,
    options: {
      ...baseOptions,
      form,
      identity: { serviceAccount: '{labels.application}', map: { CartApp: 'cart' }, fallback: 'shop-default' },
    },
    services: [
      service('cart', http, [
        ep('10.0.8.1', { labels: { application: 'CartApp' } }),
        ep('10.0.8.2', { labels: { application: 'cart-canary' } }),
        ep('10.0.8.3'),
        ep('10.0.8.4', { labels: { application: 'Bad_Name' } }),
      ], { namespace: 'shop' }),
    ],
  })),
];

/** A service with `n` endpoints 10.x.y.z (distinct), `ports` ports. */
export function bigService(n: number, nPorts = 1, name = 'big'): Service {
  const ports = Array.from({ length: nPorts }, (_, i) => port(10000 + i, `tcp-${10000 + i}`));
  const endpoints = Array.from({ length: n }, (_, i) => ep(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`));
  return service(name, ports, endpoints);
}
