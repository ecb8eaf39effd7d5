import { parsed, refused, type Parsed } from '../shared/parsed.js';
import { ErrorCode, MeshbridgeError } from '../../errors/index.js';
import { Health, Protocol, type Endpoint, type Port, type Service } from '../../model/index.js';
import { instanceLabels, type LabelOptions } from './labels.js';
import { normaliseAddress } from '../shared/address.js';
import { internLocality } from '../shared/instance-fields.js';

export const CONSUL_REGISTRY_KIND = 'consul';

/** Which Consul check states count as healthy. */
export const HealthFilter = {
  /** Only instances whose every check passes (Consul's `?passing`). Default. */
  PASSING: 'passing',
  /** Passing or warning; critical (and maintenance) instances are unhealthy. */
  WARNING: 'warning',
  /** Every registered instance, whatever its checks say. */
  ANY: 'any',
} as const;
export type HealthFilter = (typeof HealthFilter)[keyof typeof HealthFilter];

export interface BuildOptions extends LabelOptions {
  /** Configured registry name: Service.registry and Endpoint.origin. */
  readonly registry: string;
  readonly datacenter: string;
  readonly healthFilter: HealthFilter;
  /** Protocol when no instance states one (meta `protocol` or tag `protocol=`). */
  readonly defaultProtocol: Protocol;
}

type Json = Readonly<Record<string, unknown>>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A string map (Consul meta); non-string values are left out. */
function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(v)) return out;
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

/**
 * Parses `/v1/catalog/services` ({name: [tags]}). A body that is not an object is invalid as a
 * whole (the caller keeps its last state); names are returned sorted.
 */
export function parseCatalogServices(body: unknown, where: string): Parsed<string[]> {
  if (!isObject(body)) return refused(new MeshbridgeError(ErrorCode.SOURCE_PARSE, 'catalog services answer is not a JSON object', { path: where }));
  return parsed(Object.keys(body).sort());
}

/** Consul's aggregate of an instance's checks (node and service): worst state wins. */
export function aggregateStatus(checks: unknown): 'passing' | 'warning' | 'critical' {
  if (!Array.isArray(checks)) return 'passing';
  let worst: 'passing' | 'warning' | 'critical' = 'passing';
  for (const c of checks) {
    const s = isObject(c) ? c['Status'] : undefined;
    if (s === 'passing') continue;
    if (s === 'warning') worst = worst === 'critical' ? 'critical' : 'warning';
    else return 'critical'; // critical, maintenance, or anything unknown
  }
  return worst;
}

function healthyUnder(filter: HealthFilter, status: 'passing' | 'warning' | 'critical'): boolean {
  if (filter === HealthFilter.ANY) return true;
  if (filter === HealthFilter.WARNING) return status !== 'critical';
  return status === 'passing';
}

const PROTOCOLS: ReadonlyMap<string, Protocol> = new Map(Object.values(Protocol).map((p) => [p.toLowerCase(), p]));

/** The protocol an instance states: meta `protocol`, else a tag `protocol=x` or `protocol:x`. */
export function statedProtocol(meta: Readonly<Record<string, string>>, tags: readonly string[]): string | undefined {
  const m = meta['protocol'];
  if (m !== undefined && m.length > 0) return m;
  for (const t of tags) {
    const hit = /^protocol[=:](.+)$/i.exec(t);
    if (hit?.[1] !== undefined) return hit[1];
  }
  return undefined;
}



/** One instance that survived validation, before the service's port is chosen. */
interface Instance {
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly protocol: Protocol | undefined;
  readonly labels: Record<string, string>;
  readonly weight: number | undefined;
  readonly health: Health;
  readonly zone: string | undefined;
  readonly namespace: string | undefined;
  readonly partition: string | undefined;
}

/** Scope of a service: Enterprise partition and namespace, left out when absent or `default`. */
function scoped(v: string | undefined): string | undefined {
  return v !== undefined && v.length > 0 && v !== 'default' ? v : undefined;
}

/**
 * Builds the model service from one `/v1/health/service/<name>` answer; each problem is about one skipped instance or ignored field (the rest of the service is kept) (every instance, whatever
 * its checks; the filter decides Endpoint.health).
 *
 * Contract (docs/mapping.md "consul"):
 * - Service.namespace is the datacenter, plus `/<partition>` and `/<namespace>` when Consul
 *   Enterprise reports non-default ones: the same name in two datacenters is two services.
 *   Attributes: `datacenter`, and `partition` / `consulNamespace` when present.
 * - One port, named after its protocol (`http`, `grpc`, `tcp`, ...), numbered with the port most
 *   instances use (ties: the lowest); each endpoint maps it to its own port. Protocol: the one
 *   most instances state (ties: alphabetical), else `defaultProtocol`.
 * - An instance without a usable address (Service.Address, else Node.Address) or port (1-65535)
 *   is skipped with MB_ENTRY_BAD_ADDRESS / MB_ENTRY_BAD_PORT; an unknown protocol or bad weight
 *   is ignored with MB_ENTRY_INVALID (the instance stays). An entry that is not an object is
 *   skipped with MB_ENTRY_INVALID. Instances are sorted by id, so answer order never matters.
 * - Weight: Weights.Passing for passing instances, Weights.Warning for warning ones (Consul's
 *   DNS semantics); 0 means drained. Locality: region = datacenter, zone = node meta `zone`.
 * - An empty answer is a service with no instances and no ports: it stays (see the registry).
 */
export function serviceFromHealth(name: string, body: unknown, o: BuildOptions): Parsed<Service> {
  const where = `consul ${o.datacenter}: ${name}`;
  if (!Array.isArray(body)) return refused(new MeshbridgeError(ErrorCode.SOURCE_PARSE, 'health answer is not a JSON list', { path: where }));
  const problems: MeshbridgeError[] = [];
  const problem = (code: ErrorCode, at: string, message: string): void => {
    problems.push(new MeshbridgeError(code, message, { path: `${where}: ${at}`, details: { registry: o.registry, datacenter: o.datacenter, service: name, instance: at } }));
  };
  const instances: Instance[] = [];
  body.forEach((entry, i) => {
    const inst = parseInstance(entry, i, o, problem);
    if (inst !== undefined) instances.push(inst);
  });
  instances.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  const protocol = mostCommon(instances.map((x) => x.protocol).filter((p): p is Protocol => p !== undefined), (a, b) => (a < b ? -1 : a > b ? 1 : 0)) ?? o.defaultProtocol;
  const portName = protocol.toLowerCase();
  const number = mostCommon(instances.map((x) => x.port), (a, b) => a - b);
  const ports: Port[] = number !== undefined ? [{ number, name: portName, protocol }] : [];
  const endpoints: Endpoint[] = instances.map((x) => ({
    address: x.address,
    ports: { [portName]: x.port },
    labels: x.labels,
    ...(x.weight !== undefined ? { weight: x.weight } : {}),
    locality: internLocality(o.datacenter, x.zone, undefined),
    health: x.health,
    origin: o.registry,
    instanceId: x.id,
  }));
  const first = instances[0];
  const partition = scoped(first?.partition);
  const ns = scoped(first?.namespace);
  const attributes: Record<string, string> = { datacenter: o.datacenter };
  if (partition !== undefined) attributes['partition'] = partition;
  if (ns !== undefined) attributes['consulNamespace'] = ns;
  const service: Service = {
    registry: o.registry,
    registryKind: CONSUL_REGISTRY_KIND,
    name,
    namespace: [o.datacenter, partition, ns].filter((x) => x !== undefined).join('/'),
    attributes,
    ports,
    endpoints,
  };
  return parsed(service, problems);
}

function parseInstance(
  entry: unknown,
  i: number,
  o: BuildOptions,
  problem: (code: ErrorCode, at: string, message: string) => void,
): Instance | undefined {
  if (!isObject(entry) || !isObject(entry['Service'])) {
    problem(ErrorCode.ENTRY_INVALID, `[${i}]`, 'health entry without a Service object; skipped');
    return undefined;
  }
  const svc = entry['Service'];
  const node = isObject(entry['Node']) ? entry['Node'] : {};
  const nodeName = str(node['Node']) ?? '';
  const id = `${nodeName}/${str(svc['ID']) ?? str(svc['Service']) ?? String(i)}`;
  const rawAddress = str(svc['Address']) || str(node['Address']) || '';
  const address = normaliseAddress(rawAddress);
  if (address === undefined) {
    problem(ErrorCode.ENTRY_BAD_ADDRESS, id, `address "${rawAddress}" is neither an IP address nor a DNS name; instance skipped`);
    return undefined;
  }
  const port = svc['Port'];
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    problem(ErrorCode.ENTRY_BAD_PORT, id, `port ${JSON.stringify(port)} is not 1-65535; instance skipped`);
    return undefined;
  }
  const tags = Array.isArray(svc['Tags']) ? svc['Tags'].filter((t): t is string => typeof t === 'string') : [];
  const meta = stringMap(svc['Meta']);
  const nodeMeta = stringMap(node['Meta']);
  const stated = statedProtocol(meta, tags);
  let protocol: Protocol | undefined;
  if (stated !== undefined) {
    protocol = PROTOCOLS.get(stated.toLowerCase());
    if (protocol === undefined) problem(ErrorCode.ENTRY_INVALID, id, `unknown protocol "${stated}" ignored (one of ${Object.values(Protocol).join(', ')})`);
  }
  const status = aggregateStatus(entry['Checks']);
  const weight = instanceWeight(svc['Weights'], status, (message) => problem(ErrorCode.ENTRY_INVALID, id, message));
  const zone = nodeMeta['zone'];
  return {
    id,
    address,
    port,
    protocol,
    labels: instanceLabels(tags, meta, nodeMeta, o),
    weight,
    health: healthyUnder(o.healthFilter, status) ? Health.HEALTHY : Health.UNHEALTHY,
    zone: zone !== undefined && zone.length > 0 ? zone : undefined,
    namespace: str(svc['Namespace']),
    partition: str(svc['Partition']),
  };
}

/** Weights.Passing, or Weights.Warning for a warning instance; undefined when absent or bad. */
function instanceWeight(weights: unknown, status: 'passing' | 'warning' | 'critical', bad: (message: string) => void): number | undefined {
  if (!isObject(weights)) return undefined;
  const raw = status === 'warning' ? weights['Warning'] : weights['Passing'];
  if (raw === undefined) return undefined;
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0) return raw;
  bad(`weight ${JSON.stringify(raw)} is not a non-negative integer; ignored`);
  return undefined;
}

/** The value occurring most often; ties go to the first in `order`. Undefined for an empty list. */
function mostCommon<T>(values: readonly T[], order: (a: T, b: T) => number): T | undefined {
  const counts = new Map<T, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: T | undefined;
  let bestCount = 0;
  for (const [v, c] of counts) {
    if (c > bestCount || (c === bestCount && best !== undefined && order(v, best) < 0)) {
      best = v;
      bestCount = c;
    }
  }
  return best;
}
