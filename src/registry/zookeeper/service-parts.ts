import type { EndpointPart } from './build-service.js';
import { consumingApplications, type ConsumerParse } from './consumers.js';
import type { CuratorParse } from './curator-instance.js';
import { interfaceServiceName, providerPart, type ProviderParse } from './providers.js';

/** One service to build: its name, attributes and endpoint parts. */
export interface ServiceParts {
  readonly name: string;
  readonly attributes: Record<string, string>;
  readonly parts: EndpointPart[];
  /** Applications consuming the service, sorted and unique (only when consumers are watched). */
  readonly consumers?: readonly string[];
}

/**
 * The services of one Dubbo interface (pure): one per (group, version) its valid providers
 * register, named by interfaceServiceName, with `interface`, `group` and `version` attributes
 * (empty group or version left out). Invalid provider nodes contribute nothing. With
 * `consumers` (the interface's parsed consumer nodes), each service names the applications
 * whose consumers match its group and version (consumers.ts `consumes`).
 */
export function interfaceServices(iface: string, nodes: Iterable<ProviderParse>, consumers?: readonly ConsumerParse[]): ServiceParts[] {
  const groups = new Map<string, { group: string; version: string; parts: EndpointPart[] }>();
  for (const parsed of nodes) {
    if (parsed.type !== 'ok') continue;
    const e = parsed.entry;
    const name = interfaceServiceName(iface, e.group, e.version);
    let g = groups.get(name);
    if (g === undefined) groups.set(name, (g = { group: e.group, version: e.version, parts: [] }));
    g.parts.push(providerPart(e));
  }
  return [...groups].map(([name, g]) => {
    const attributes: Record<string, string> = { interface: iface };
    if (g.group !== '') attributes['group'] = g.group;
    if (g.version !== '') attributes['version'] = g.version;
    if (consumers === undefined) return { name, attributes, parts: g.parts };
    return { name, attributes, parts: g.parts, consumers: consumingApplications(consumers, g.group, g.version) };
  });
}

/**
 * One Curator service (pure) from its instances (id -> [raw data, parse], undefined until read):
 * each valid instance is one process, so its ports share one `order` and become one endpoint;
 * instances are taken in id order. Application-level services carry an `application` attribute.
 */
export function curatorService(
  name: string,
  level: 'application' | 'curator',
  instances: Iterable<readonly [string, readonly [string, CuratorParse] | undefined]>,
): ServiceParts {
  const parts: EndpointPart[] = [];
  const entries = [...instances].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  entries.forEach(([, entry], order) => {
    if (entry === undefined || entry[1].type !== 'ok') return;
    const i = entry[1].instance;
    for (const p of i.ports) {
      parts.push({ address: i.address, protocol: p.protocol, port: p.port, labels: i.labels, id: i.id, order, ...(i.weight !== undefined ? { weight: i.weight } : {}) });
    }
  });
  return { name, attributes: level === 'application' ? { application: name } : {}, parts };
}
