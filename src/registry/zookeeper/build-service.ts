import { ErrorCode, MeshbridgeError } from '../../errors/index.js';
import { Health, type Endpoint, type Port, type Service } from '../../model/index.js';
import { parsed, type Parsed } from '../shared/parsed.js';
import { portKind } from './protocols.js';

/** One (address, protocol, port) a provider or instance serves: the unit services are built from. */
export interface EndpointPart {
  readonly address: string;
  readonly protocol: string;
  readonly port: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly weight?: number;
  /** Diagnostic id (provider URL id, Curator instance id). */
  readonly id: string;
  /**
   * Pairs the parts of one process on a shared address (see serviceFromParts): parts of one process
   * share it (a Curator instance) or are close (the registration timestamps of a Dubbo provider's
   * URLs). Never part of the model.
   */
  readonly order?: number;
}

export interface BuildServiceInput {
  readonly registry: string;
  readonly kind: string;
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly parts: readonly EndpointPart[];
  /** Consuming applications, sorted and unique (Service.consumers); absent or empty: none. */
  readonly consumers?: readonly string[];
}

function compareParts(a: EndpointPart, b: EndpointPart): number {
  if (a.protocol !== b.protocol) return a.protocol < b.protocol ? -1 : 1;
  if (a.port !== b.port) return a.port - b.port;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Registration order, then port, then id: pairs the parts of one process on one address. */
function compareProcessOrder(a: EndpointPart, b: EndpointPart): number {
  const oa = a.order ?? Number.MAX_SAFE_INTEGER;
  const ob = b.order ?? Number.MAX_SAFE_INTEGER;
  if (oa !== ob) return oa - ob;
  return compareParts(a, b);
}

/** Service.consumers of the input: set only when some application consumes the service. */
function consumersOf(input: BuildServiceInput): { consumers?: readonly string[] } {
  return input.consumers !== undefined && input.consumers.length > 0 ? { consumers: input.consumers } : {};
}

/**
 * Builds one service from its parts. Contract: pure and deterministic (the order of `parts` does
 * not matter); no value when no part is left (no provider serves the service), problems for the
 * ports dropped because another protocol took their number (ENTRY_DUPLICATE_PORT).
 * - One service port per protocol: named and typed by `portKind`, numbered with the lowest port
 *   any provider uses for it; a protocol whose every port number is taken by another protocol is
 *   dropped with ENTRY_DUPLICATE_PORT.
 * - Endpoints: the parts of one address are merged into one endpoint per process: the i-th
 *   part of each protocol, in `order` then port order, belongs to the i-th endpoint of that
 *   address (two providers on one host, each with a dubbo and a tri port, become two endpoints,
 *   paired by registration time). Labels merge (first part, in protocol order, wins), the weight
 *   is the first stated one. Health is unknown (ZooKeeper lists only live, ephemeral
 *   registrations).
 */
export function serviceFromParts(input: BuildServiceInput): Parsed<Service> {
  const problems: MeshbridgeError[] = [];
  const byProtocol = new Map<string, EndpointPart[]>();
  for (const part of [...input.parts].sort(compareParts)) {
    const list = byProtocol.get(part.protocol);
    if (list === undefined) byProtocol.set(part.protocol, [part]);
    else list.push(part);
  }
  const ports: Port[] = [];
  const usedNumbers = new Set<number>();
  const usedNames = new Set<string>();
  const portName = new Map<string, string>();
  for (const [protocol, list] of byProtocol) {
    const kind = portKind(protocol);
    const number = list.map((p) => p.port).find((n) => !usedNumbers.has(n));
    if (number === undefined || usedNames.has(kind.name)) {
      problems.push(
        new MeshbridgeError(
          ErrorCode.ENTRY_DUPLICATE_PORT,
          `protocol ${protocol} has no port number (or name ${kind.name}) left that another protocol does not use; its ${list.length} provider(s) skipped`,
        ),
      );
      continue;
    }
    usedNumbers.add(number);
    usedNames.add(kind.name);
    portName.set(protocol, kind.name);
    ports.push({ number, name: kind.name, protocol: kind.protocol });
  }
  // address -> protocol -> its parts in port order
  const byAddress = new Map<string, Map<string, EndpointPart[]>>();
  for (const [protocol, list] of byProtocol) {
    if (!portName.has(protocol)) continue;
    for (const part of list) {
      let perProtocol = byAddress.get(part.address);
      if (perProtocol === undefined) byAddress.set(part.address, (perProtocol = new Map<string, EndpointPart[]>()));
      const l = perProtocol.get(protocol);
      if (l === undefined) perProtocol.set(protocol, [part]);
      else if (!l.some((x) => x.port === part.port)) l.push(part);
    }
  }
  const endpoints: Endpoint[] = [];
  for (const address of [...byAddress.keys()].sort()) {
    const perProtocol = byAddress.get(address) ?? new Map<string, EndpointPart[]>();
    for (const list of perProtocol.values()) list.sort(compareProcessOrder);
    const count = Math.max(...[...perProtocol.values()].map((l) => l.length));
    for (let i = 0; i < count; i++) {
      const epPorts: Record<string, number> = {};
      const labels = new Map<string, string>();
      let weight: number | undefined;
      const ids: string[] = [];
      for (const [protocol, list] of perProtocol) {
        const part = list[i];
        const name = portName.get(protocol);
        if (part === undefined || name === undefined) continue;
        epPorts[name] = part.port;
        for (const [k, v] of Object.entries(part.labels)) if (!labels.has(k)) labels.set(k, v);
        weight ??= part.weight;
        ids.push(part.id);
      }
      endpoints.push({
        address,
        ports: epPorts,
        labels: Object.fromEntries(labels),
        ...(weight !== undefined ? { weight } : {}),
        health: Health.UNKNOWN,
        origin: input.registry,
        instanceId: ids.join(','),
      });
    }
  }
  if (endpoints.length === 0) return { value: undefined, problems };
  return parsed({ registry: input.registry, registryKind: input.kind, name: input.name, attributes: input.attributes, ports, endpoints, ...consumersOf(input) }, problems);
}
