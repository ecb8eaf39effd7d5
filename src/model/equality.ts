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

/**
 * True when both records have the same own enumerable keys in the same order with `===` values.
 * Implies equal `sortedRecord` text (which is built from exactly those keys and values).
 */
function sameRecord(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean {
  if (a === b) return true;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i] as string;
    if (k !== kb[i] || a[k] !== b[k]) return false;
  }
  return true;
}

/**
 * Sufficient (not necessary) condition for equal canonicalEndpoint text: every field the text is
 * built from is `===`. False only means "compare the canonical text".
 */
function sameEndpointFields(a: Endpoint, b: Endpoint): boolean {
  if (a === b) return true;
  if (
    a.address !== b.address ||
    a.weight !== b.weight ||
    a.network !== b.network ||
    a.health !== b.health ||
    a.origin !== b.origin ||
    a.instanceId !== b.instanceId
  ) {
    return false;
  }
  const la = a.locality;
  const lb = b.locality;
  if (la !== lb && (la === undefined || lb === undefined || la.region !== lb.region || la.zone !== lb.zone || la.subzone !== lb.subzone)) return false;
  return sameRecord(a.ports, b.ports) && sameRecord(a.labels, b.labels);
}

/**
 * Sufficient condition for equal canonicalService text: same fields (`===`), ports and endpoints
 * pairwise in the same order. A re-list with unchanged content usually passes this without
 * building any string.
 */
function sameServiceFields(a: Service, b: Service): boolean {
  if (a.registry !== b.registry || a.registryKind !== b.registryKind || a.namespace !== b.namespace || a.name !== b.name) return false;
  if (!sameRecord(a.attributes, b.attributes)) return false;
  for (let i = 0; i < a.ports.length; i++) {
    const pa = a.ports[i] as Port;
    const pb = b.ports[i] as Port;
    if (pa !== pb && (pa.number !== pb.number || pa.name !== pb.name || pa.protocol !== pb.protocol || pa.targetPort !== pb.targetPort)) return false;
  }
  for (let i = 0; i < a.endpoints.length; i++) {
    if (!sameEndpointFields(a.endpoints[i] as Endpoint, b.endpoints[i] as Endpoint)) return false;
  }
  return true;
}

/**
 * Contract: true exactly when canonicalService(a) === canonicalService(b). Field-by-field
 * identity (same order) is checked first as a shortcut; otherwise the canonical texts decide.
 */
export function servicesEqual(a: Service, b: Service): boolean {
  if (a === b) return true;
  if (a.endpoints.length !== b.endpoints.length || a.ports.length !== b.ports.length) return false;
  return sameServiceFields(a, b) || canonicalService(a) === canonicalService(b);
}

/** Contract: true exactly when canonicalEndpoint(a) === canonicalEndpoint(b) (shortcut as above). */
export function endpointsEqual(a: Endpoint, b: Endpoint): boolean {
  return sameEndpointFields(a, b) || canonicalEndpoint(a) === canonicalEndpoint(b);
}
