import type { Endpoint, Port, Service } from './service.js';

/**
 * Identity of a service inside one registry: registry name, namespace hint and native name.
 * Two services with the same key from the same registry are the same service.
 */
export function serviceKey(s: Pick<Service, 'registry' | 'namespace' | 'name'>): string {
  return `${s.registry}/${s.namespace ?? ''}/${s.name}`;
}

/** Identity of an endpoint within a service: address plus its port numbers. */
export function endpointKey(e: Pick<Endpoint, 'address' | 'ports'>): string {
  const ports = Object.keys(e.ports)
    .sort()
    .map((k) => `${k}=${String(e.ports[k])}`)
    .join(',');
  return `${e.address}|${ports}`;
}

export function portKey(p: Port): string {
  return `${p.number}/${p.name}`;
}

function sortedRecord(r: Readonly<Record<string, string | number>>): string {
  const keys = Object.keys(r).sort();
  let out = '';
  for (const k of keys) out += `${JSON.stringify(k)}:${JSON.stringify(r[k])},`;
  return out;
}

/**
 * A canonical string of everything that matters about a service. Equal canonical strings mean
 * equal services; order of endpoints, ports and map keys does not matter.
 */
export function canonicalService(s: Service): string {
  const ports = s.ports
    .map((p) => `${p.number}/${p.name}/${p.protocol}/${p.targetPort ?? ''}`)
    .sort()
    .join(';');
  const eps = s.endpoints.map(canonicalEndpoint).sort().join('\n');
  return [
    s.registry,
    s.registryKind,
    s.namespace ?? '',
    s.name,
    sortedRecord(s.attributes),
    ports,
    eps,
  ].join('\u0000');
}

export function canonicalEndpoint(e: Endpoint): string {
  const loc = e.locality ? `${e.locality.region ?? ''}/${e.locality.zone ?? ''}/${e.locality.subzone ?? ''}` : '';
  return [
    e.address,
    sortedRecord(e.ports),
    sortedRecord(e.labels),
    e.weight ?? '',
    loc,
    e.network ?? '',
    e.health,
    e.origin,
    e.instanceId ?? '',
  ].join('\u0001');
}

export function servicesEqual(a: Service, b: Service): boolean {
  if (a === b) return true;
  if (a.endpoints.length !== b.endpoints.length || a.ports.length !== b.ports.length) return false;
  return canonicalService(a) === canonicalService(b);
}

export function endpointsEqual(a: Endpoint, b: Endpoint): boolean {
  return a === b || canonicalEndpoint(a) === canonicalEndpoint(b);
}
