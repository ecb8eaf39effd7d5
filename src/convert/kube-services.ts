/**
 * Conversion of one host to a native Kubernetes Service (selector-less, core v1) and the
 * EndpointSlices (discovery.k8s.io/v1) holding its endpoints: the Kubernetes Services sink
 * (ADR 0020, docs/mapping.md#kubernetes-services). Pure: equal input gives equal output.
 *
 * Contract:
 * - Service name: serviceNameFor(primary.name): a DNS-1035 label (<= 63, starts with a letter);
 *   shortened with a hash of the registry name when too long. Two hosts that give one name in one
 *   namespace are a clash the pipeline resolves (core/service-clashes.ts), never conversion.
 * - The registry's exportTo (if any) is the Service's `networking.istio.io/exportTo` annotation,
 *   which istiod reads as the ServiceEntry field. Weights, endpoint labels and networks have no
 *   place in an EndpointSlice (istiod takes those from Pods, which these endpoints have none of).
 * - Ports: one per ServiceEntry port, named `<protocol>-<name>` (the prefix Istio reads the
 *   protocol from; not doubled when the name has it already), `appProtocol` set, Kubernetes
 *   `protocol` UDP for UDP else TCP, `targetPort` the ServiceEntry's targetPort or number. Names
 *   are unique DNS-1123 labels of <= 63 characters.
 * - EndpointSlices: IPv4 and IPv6 endpoints in slices of their own addressType; endpoints whose
 *   effective ports differ are in different slices (a slice has one port list); at most
 *   MAX_SLICE_ENDPOINTS per slice, in address order. Named `<service>-ipv4-<n>` (with a hash of
 *   the port list between when a family has more than one port list). Conditions: ready and
 *   serving from health (unhealthy endpoints, published only with includeUnhealthy, are neither),
 *   terminating false; `zone` and `hints.forZones` from the locality's zone. Labels: the
 *   ownership labels, kubernetes.io/service-name and endpointslice.kubernetes.io/managed-by
 *   (MANAGED_BY_CONTROLLER, so Kubernetes' own controllers leave them alone).
 * - DNS-name endpoints cannot be held (istiod ignores addressType FQDN slices): they are left out
 *   with one counted MB_KUBE_SERVICE_DNS_ENDPOINT problem; the ServiceEntry still carries them.
 */
import { ErrorCode } from '../errors/index.js';
import { Health, type Protocol } from '../model/index.js';
import { MANAGED_BY_CONTROLLER, ResourceKind, SERVICE_NAME_LABEL, SLICE_MANAGED_BY_LABEL, type IstioResource } from '../snapshot/index.js';
import { contentHash } from '../util/hash.js';
import { compareStrings } from '../util/sort.js';
import type { OutEndpoint } from './endpoints.js';
import type { OutPort } from './ports.js';
import type { Problems } from './problems.js';
import { buildResource, sortedRecordWith } from './resource.js';

/** Most endpoints one EndpointSlice holds (the Kubernetes API's limit). */
export const MAX_SLICE_ENDPOINTS = 1000;
/** Largest Service name (a DNS-1035 label). */
export const MAX_SERVICE_NAME = 63;
export { SERVICE_NAME_LABEL, SLICE_MANAGED_BY_LABEL, MANAGED_BY_CONTROLLER } from '../snapshot/index.js';

/** The Istio port-name prefix and appProtocol of each protocol. */
const PREFIX: Readonly<Record<Protocol, string>> = {
  HTTP: 'http',
  HTTPS: 'https',
  GRPC: 'grpc',
  HTTP2: 'http2',
  TCP: 'tcp',
  TLS: 'tls',
  MONGO: 'mongo',
  REDIS: 'redis',
  MYSQL: 'mysql',
  UDP: 'udp',
};

const DNS_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** `text` lowercased, runs outside [a-z0-9] turned into one '-', trimmed of '-'. */
function dashed(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** `s` cut to `max` characters with `-<8 hex of source>` at the end, no '-' before it. */
function shortened(s: string, max: number, source: string): string {
  const hash = contentHash(source).slice(0, 8);
  return `${s.slice(0, max - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

/**
 * The Service name of a registry service name: a DNS-1035 label (see the module contract).
 * `com.example.Foo` -> `com-example-foo`; a name starting with a digit gets `s-` in front.
 */
export function serviceNameFor(registryName: string): string {
  let s = dashed(registryName);
  if (!/^[a-z]/.test(s)) s = `s-${s}`.replace(/-+$/, '');
  if (s === 's') s = `s-${contentHash(registryName).slice(0, 8)}`;
  return s.length <= MAX_SERVICE_NAME ? s : shortened(s, MAX_SERVICE_NAME, registryName);
}

/** True for a valid Service name. */
export function isServiceName(name: string): boolean {
  return name.length <= MAX_SERVICE_NAME && DNS_1035.test(name);
}

/** Service port names `<prefix>-<name>`, unique (see the module contract), for `ports[i]`. */
export function servicePortNames(ports: readonly OutPort[]): string[] {
  const taken = new Set<string>();
  return ports.map((p) => {
    const prefix = PREFIX[p.protocol];
    const base = p.name === prefix || p.name.startsWith(`${prefix}-`) ? p.name : `${prefix}-${p.name}`;
    let name = base.length <= 63 ? base : shortened(base, 63, base);
    if (taken.has(name)) name = shortened(base, 63 - String(p.number).length - 1, base) + `-${p.number}`;
    for (let i = 2; taken.has(name); i++) name = `${prefix}-${p.number}-${i}`;
    taken.add(name);
    return name;
  });
}

interface SlicePort {
  readonly name: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
  readonly appProtocol: string;
}

function kubeProtocol(p: Protocol): 'TCP' | 'UDP' {
  return p === 'UDP' ? 'UDP' : 'TCP';
}

/** The slice endpoint of `e`. */
function sliceEndpoint(e: OutEndpoint): Record<string, unknown> {
  const ready = e.source.health !== Health.UNHEALTHY;
  const out: Record<string, unknown> = { addresses: [e.address], conditions: { ready, serving: ready, terminating: false } };
  const zone = e.source.locality?.zone;
  if (zone !== undefined && zone !== '') {
    out['zone'] = zone;
    out['hints'] = { forZones: [{ name: zone }] };
  }
  return out;
}

/** What conversion gives the Services sink for one host. */
export interface KubeServiceInput {
  readonly primaryName: string;
  readonly namespace: string;
  readonly ports: readonly OutPort[];
  readonly endpoints: readonly OutEndpoint[];
  /** Ownership labels (and extraLabels) of every object. */
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  /** ServiceEntry exportTo (sorted, unique); on the Service as istiod's exportTo annotation. */
  readonly exportTo: readonly string[];
}

/** The annotation istiod reads a Service's visibility from (Istio's exportTo for Services). */
export const EXPORT_TO_ANNOTATION = 'networking.istio.io/exportTo';

/** The Service and its EndpointSlices (see the module contract). */
export function kubeServiceResources(input: KubeServiceInput, p: Problems): IstioResource[] {
  const name = serviceNameFor(input.primaryName);
  const portNames = servicePortNames(input.ports);
  const spec = {
    type: 'ClusterIP',
    ports: input.ports.map((x, i) => ({
      name: portNames[i] ?? x.name,
      port: x.number,
      protocol: kubeProtocol(x.protocol),
      appProtocol: PREFIX[x.protocol],
      targetPort: x.targetPort ?? x.number,
    })),
  };
  const svcAnnotations = input.exportTo.length > 0 ? sortedRecordWith(input.annotations, EXPORT_TO_ANNOTATION, input.exportTo.join(',')) : input.annotations;
  const out: IstioResource[] = [buildResource(ResourceKind.Service, input.namespace, name, input.labels, svcAnnotations, spec)];
  const sliceLabels = sortedRecordWith(sortedRecordWith(input.labels, SERVICE_NAME_LABEL, name), SLICE_MANAGED_BY_LABEL, MANAGED_BY_CONTROLLER);
  for (const family of ['IPv4', 'IPv6'] as const) {
    const groups = new Map<string, { ports: SlicePort[]; endpoints: OutEndpoint[] }>();
    for (const e of input.endpoints) {
      if (!e.isIp) {
        if (family === 'IPv4') p.count(ErrorCode.KUBE_SERVICE_DNS_ENDPOINT, 'dns-endpoint', 'endpoints with a DNS name left out of the EndpointSlices (the ServiceEntry keeps them)', e.address);
        continue;
      }
      if (e.address.includes(':') !== (family === 'IPv6')) continue;
      const ports = input.ports.map((x, i) => ({
        name: portNames[i] ?? x.name,
        port: e.ports[x.name] ?? x.targetPort ?? x.number,
        protocol: kubeProtocol(x.protocol),
        appProtocol: PREFIX[x.protocol],
      }));
      const key = ports.map((x) => `${x.name}=${x.port}`).join(',');
      let g = groups.get(key);
      if (g === undefined) groups.set(key, (g = { ports, endpoints: [] }));
      g.endpoints.push(e);
    }
    const keys = [...groups.keys()].sort(compareStrings);
    for (const key of keys) {
      const g = groups.get(key);
      if (g === undefined) continue;
      const stem = `${name}-${family.toLowerCase()}${keys.length > 1 ? `-${contentHash(key).slice(0, 6)}` : ''}`;
      for (let i = 0; i * MAX_SLICE_ENDPOINTS < g.endpoints.length; i++) {
        const chunk = g.endpoints.slice(i * MAX_SLICE_ENDPOINTS, (i + 1) * MAX_SLICE_ENDPOINTS);
        const body = { addressType: family, endpoints: chunk.map(sliceEndpoint), ports: g.ports };
        out.push(buildResource(ResourceKind.EndpointSlice, input.namespace, `${stem}-${i}`, sliceLabels, input.annotations, body));
      }
    }
  }
  return out;
}
