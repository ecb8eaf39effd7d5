import { Health, Protocol, type Endpoint, type Port, type Service } from '../../model/index.js';
import { EurekaPortName, HostFrom, serviceNamesOf } from './instance.js';
import type { StoredInstance } from './local-apps.js';

export const EUREKA_REGISTRY_KIND = 'eureka';

export interface BuildOptions {
  readonly registry: string;
  readonly hostFrom: HostFrom;
  /** Instance statuses published as endpoints (default UP only). */
  readonly statuses: ReadonlySet<string>;
}

/** The most frequent number; ties go to the lowest. */
function mostCommon(ns: readonly number[]): number | undefined {
  const counts = new Map<number, number>();
  for (const n of ns) counts.set(n, (counts.get(n) ?? 0) + 1);
  let best: number | undefined;
  let bestCount = 0;
  for (const [n, c] of counts) {
    if (c > bestCount || (c === bestCount && best !== undefined && n < best)) {
      best = n;
      bestCount = c;
    }
  }
  return best;
}

/**
 * One service from its member instances (all statuses; the caller passes every instance whose
 * service names include `name`). Returns undefined when no member maps to an endpoint at all
 * (all malformed): such a group is not published.
 *
 * - Endpoints: members that map and whose status is in `statuses`, health HEALTHY.
 * - Ports: `http` (Eureka `port`) and `https` (`securePort`), each numbered with the most common
 *   number among the endpoints (each endpoint carries its own number too). With no endpoint in
 *   an allowed status, the ports come from all mappable members, so the service (and its host)
 *   stays, with no endpoints, while every instance is DOWN or OUT_OF_SERVICE.
 */
export function serviceFromStored(name: string, members: readonly StoredInstance[], o: BuildOptions): Service | undefined {
  const usable = members.flatMap((m) => (m.mapped.value !== undefined ? [{ ...m, mapped: m.mapped.value }] : []));
  if (usable.length === 0) return undefined;
  const eligible = usable.filter((m) => o.statuses.has(m.wire.status));
  const portSource = eligible.length > 0 ? eligible : usable;
  const ports: Port[] = [];
  for (const [pn, protocol] of [
    [EurekaPortName.HTTP, Protocol.HTTP],
    [EurekaPortName.HTTPS, Protocol.HTTPS],
  ] as const) {
    const n = mostCommon(portSource.map((m) => m.mapped.ports[pn]).filter((x): x is number => x !== undefined));
    if (n !== undefined) ports.push({ number: n, name: pn, protocol });
  }
  const endpoints: Endpoint[] = eligible
    .slice()
    .sort((a, b) => (a.wire.id < b.wire.id ? -1 : a.wire.id > b.wire.id ? 1 : 0))
    .map((m) => ({
      address: m.mapped.address,
      ports: { ...m.mapped.ports },
      labels: m.mapped.labels,
      ...(m.mapped.weight !== undefined ? { weight: m.mapped.weight } : {}),
      ...(m.mapped.locality !== undefined ? { locality: m.mapped.locality } : {}),
      health: Health.HEALTHY,
      origin: o.registry,
      instanceId: m.wire.id,
    }));
  const apps = [...new Set(members.map((m) => m.wire.app))].sort();
  const attributes: Record<string, string> = o.hostFrom === HostFrom.APP ? { app: apps[0] ?? name.toUpperCase() } : { vipAddress: name, app: apps.join(',') };
  return { registry: o.registry, registryKind: EUREKA_REGISTRY_KIND, name, attributes, ports, endpoints };
}

/** Groups instances by service name (an instance with several VIPs joins several groups). */
export function groupInstances(instances: Iterable<StoredInstance>, hostFrom: HostFrom): Map<string, StoredInstance[]> {
  const groups = new Map<string, StoredInstance[]>();
  for (const inst of instances) {
    for (const name of serviceNamesOf(inst.wire, hostFrom)) {
      const g = groups.get(name);
      if (g === undefined) groups.set(name, [inst]);
      else g.push(inst);
    }
  }
  return groups;
}
