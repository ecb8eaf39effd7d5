import type { Parsed } from '../shared/parsed.js';
import { ErrorCode, MeshbridgeError } from '../../errors/index.js';
import { endpointKey, type Endpoint, type Port, type Protocol, type Service } from '../../model/index.js';
import type { InstanceRecord } from './instance.js';

/** The registryKind of every service an etcd registry produces. */
export const ETCD_REGISTRY_KIND = 'etcd';

export interface BuildOptions {
  /** Configured registry name: Service.registry and Endpoint.origin. */
  readonly registry: string;
  /** Protocol of ports that no instance states and whose name implies none. */
  readonly defaultProtocol: Protocol;
}


/** The service key of an instance: what groups instances into one service. */
export function serviceGroupKey(r: Pick<InstanceRecord, 'match'>): string {
  return JSON.stringify([r.match.namespace ?? '', r.match.service]);
}

/** The namespace ('' for none) and service name of a group key. */
export function splitGroupKey(group: string): [string, string] {
  const [namespace, name] = JSON.parse(group) as [string, string];
  return [namespace, name];
}

function attributesText(a: Readonly<Record<string, string>>): string {
  return Object.keys(a)
    .sort()
    .map((k) => `${k}=${a[k] ?? ''}`)
    .join(',');
}

/**
 * Builds one service from all instances of one namespace + service name. Pure and independent
 * of input order (records are taken in key order), so the same etcd contents always give the
 * same service.
 *
 * Rules (docs/mapping.md, "etcd"):
 * - attributes come from the key; an instance whose key attributes differ from those of the
 *   first key (in key order) is skipped (MB_ENTRY_INVALID);
 * - each port name becomes a service port whose number is the smallest number any instance uses
 *   for that name; its protocol is the first one an instance states (or the name implies), else
 *   `defaultProtocol`. A port whose service number is already taken by another name (ports in
 *   number, then name, order) is dropped (MB_ENTRY_DUPLICATE_PORT) and left out of endpoints;
 * - an instance with the same address and ports as an earlier one is skipped (MB_ENTRY_INVALID).
 */
/** Undefined value when no instance is left: the service does not exist (any more). */
export function serviceFromInstances(records: readonly InstanceRecord[], o: BuildOptions): Parsed<Service> {
  const problems: MeshbridgeError[] = [];
  const add = (code: ErrorCode, key: string, message: string): void => {
    problems.push(new MeshbridgeError(code, message, { path: key, details: { registry: o.registry, key } }));
  };
  const sorted = [...records].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const first = sorted[0];
  if (first === undefined) return { value: undefined, problems };
  const attrs = attributesText(first.match.attributes);
  const accepted = sorted.filter((r) => {
    if (attributesText(r.match.attributes) === attrs) return true;
    add(
      ErrorCode.ENTRY_INVALID,
      r.key,
      `key attributes {${attributesText(r.match.attributes)}} differ from {${attrs}} of ${first.key}, the first key of service "${first.match.service}"; instance skipped`,
    );
    return false;
  });

  const ports = servicePorts(accepted, o.defaultProtocol, add);
  const kept = new Set(ports.map((p) => p.name));
  const endpoints: Endpoint[] = [];
  const seen = new Map<string, string>();
  for (const r of accepted) {
    const epPorts = new Map<string, number>();
    for (const [name, p] of Object.entries(r.ports)) if (kept.has(name)) epPorts.set(name, p.number);
    const ep: Endpoint = {
      address: r.address,
      ports: Object.fromEntries(epPorts),
      labels: r.labels,
      ...(r.weight !== undefined ? { weight: r.weight } : {}),
      ...(r.locality !== undefined ? { locality: r.locality } : {}),
      ...(r.network !== undefined ? { network: r.network } : {}),
      health: r.health,
      origin: o.registry,
      instanceId: r.match.instance,
    };
    const k = endpointKey(ep);
    const earlier = seen.get(k);
    if (earlier !== undefined) {
      add(ErrorCode.ENTRY_INVALID, r.key, `instance ${r.address} has the same address and ports as ${earlier}; skipped`);
      continue;
    }
    seen.set(k, r.key);
    endpoints.push(ep);
  }
  return {
    value: {
      registry: o.registry,
      registryKind: ETCD_REGISTRY_KIND,
      name: first.match.service,
      ...(first.match.namespace !== undefined ? { namespace: first.match.namespace } : {}),
      attributes: first.match.attributes,
      ports,
      endpoints,
    },
    problems,
  };
}

function servicePorts(
  records: readonly InstanceRecord[],
  defaultProtocol: Protocol,
  add: (code: ErrorCode, key: string, message: string) => void,
): Port[] {
  const byName = new Map<string, { number: number; protocol: Protocol | undefined; firstKey: string }>();
  for (const r of records) {
    for (const [name, p] of Object.entries(r.ports)) {
      const cur = byName.get(name);
      if (cur === undefined) {
        byName.set(name, { number: p.number, protocol: p.protocol, firstKey: r.key });
        continue;
      }
      cur.number = Math.min(cur.number, p.number);
      cur.protocol ??= p.protocol;
    }
  }
  const candidates = [...byName.entries()].sort(([an, a], [bn, b]) => a.number - b.number || (an < bn ? -1 : an > bn ? 1 : 0));
  const ports: Port[] = [];
  const byNumber = new Map<number, string>();
  for (const [name, c] of candidates) {
    const taken = byNumber.get(c.number);
    if (taken !== undefined) {
      add(ErrorCode.ENTRY_DUPLICATE_PORT, c.firstKey, `port "${name}" would have service port ${c.number}, already used by port "${taken}"; port dropped`);
      continue;
    }
    byNumber.set(c.number, name);
    ports.push({ number: c.number, name, protocol: c.protocol ?? defaultProtocol });
  }
  return ports;
}
