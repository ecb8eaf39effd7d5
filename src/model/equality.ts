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
 * equal services; order of endpoints, ports and map keys does not matter. Unambiguous: every
 * part is JSON, so no field's content can pass for a separator.
 */
export function canonicalService(s: Service): string {
  return JSON.stringify([
    s.registry,
    s.registryKind,
    s.namespace ?? null,
    s.name,
    sortedRecord(s.attributes),
    portsText(s.ports),
    s.endpoints.map(canonicalEndpoint).sort(),
    s.consumers ?? null,
  ]);
}

function portsText(ports: readonly Port[]): string {
  return JSON.stringify(ports.map((p) => JSON.stringify([p.number, p.name, p.protocol, p.targetPort ?? null])).sort());
}

export function canonicalEndpoint(e: Endpoint): string {
  const loc = e.locality ? [e.locality.region ?? null, e.locality.zone ?? null, e.locality.subzone ?? null] : null;
  return JSON.stringify([
    e.address,
    sortedRecord(e.ports),
    sortedRecord(e.labels),
    e.weight ?? null,
    loc,
    e.network ?? null,
    e.health,
    e.origin,
    e.instanceId ?? null,
  ]);
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

/** Equal consumer lists (both absent, or the same names in the same order: they are sorted). */
function sameConsumers(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
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
  if (!sameRecord(a.attributes, b.attributes) || !sameConsumers(a.consumers, b.consumers)) return false;
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
 * identity (same order) is checked first as a shortcut; then, when every endpoint address is
 * unique, endpoints are paired by address (a real change is told apart without building the
 * canonical text of the whole service); otherwise the canonical texts decide.
 */
export function servicesEqual(a: Service, b: Service): boolean {
  if (a === b) return true;
  if (a.endpoints.length !== b.endpoints.length || a.ports.length !== b.ports.length) return false;
  if (sameServiceFields(a, b)) return true;
  if (a.registry !== b.registry || a.registryKind !== b.registryKind || a.namespace !== b.namespace || a.name !== b.name) return false;
  if (!sameRecord(a.attributes, b.attributes) && sortedRecord(a.attributes) !== sortedRecord(b.attributes)) return false;
  if (portsText(a.ports) !== portsText(b.ports) || !sameConsumers(a.consumers, b.consumers)) return false;
  return endpointsPairedByAddress(a.endpoints, b.endpoints) ?? canonicalService(a) === canonicalService(b);
}

/**
 * Equal endpoint multisets, decided by pairing on the address (the first field of the canonical
 * endpoint text); undefined when `a` repeats an address (pairing is then ambiguous). Lengths are
 * equal (checked by the caller), so a repeated or unknown address in `b` means "different".
 */
function endpointsPairedByAddress(a: readonly Endpoint[], b: readonly Endpoint[]): boolean | undefined {
  const byAddress = new Map<string, Endpoint>();
  for (const e of a) {
    if (byAddress.has(e.address)) return undefined;
    byAddress.set(e.address, e);
  }
  for (const e of b) {
    const o = byAddress.get(e.address);
    if (o === undefined || !endpointsEqual(o, e)) return false;
    byAddress.delete(e.address);
  }
  return true;
}

/** Contract: true exactly when canonicalEndpoint(a) === canonicalEndpoint(b) (shortcut as above). */
export function endpointsEqual(a: Endpoint, b: Endpoint): boolean {
  return sameEndpointFields(a, b) || canonicalEndpoint(a) === canonicalEndpoint(b);
}
