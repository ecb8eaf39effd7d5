import { ErrorCode } from '../../errors/index.js';
import { Health, type Endpoint, type Port, type Protocol, type Service } from '../../model/index.js';
import { normaliseAddress } from '../shared/address.js';
import { child, isPortNumber, isRawMap, Problems, scalarText, typeName } from '../shared/entry-path.js';
import { parseProtocol, protocolFromName } from '../shared/instance-fields.js';
import { parsed, type Parsed } from '../shared/parsed.js';
import { parsePointer, pointerSuffix, valueAt } from './pointer.js';
import type { HttpMapping } from './spec.js';

/** The registryKind of every service an http registry produces. */
export const HTTP_REGISTRY_KIND = 'http';

export interface MapOptions {
  readonly registry: string;
  /** Names the document in problem paths (the URL's path, never its credentials). */
  readonly source: string;
  readonly map: HttpMapping;
  readonly defaultProtocol: Protocol;
}

/** Pointers parsed once (spec.ts checked them). */
interface Compiled {
  readonly [field: string]: readonly string[] | undefined;
}

function compile(map: HttpMapping): Compiled {
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, typeof v === 'string' ? parsePointer(v) : undefined]));
}

/** One instance, read; `name` only when flat. */
interface Instance {
  readonly endpoint: Endpoint;
  /** Port name -> protocol, as the instance states them. */
  readonly protocols: ReadonlyMap<string, Protocol>;
}

/**
 * Maps one catalogue document to services (docs/mapping.md, "http"). Pure.
 *
 * Contract: every entry or instance that cannot be read is skipped with a coded problem at its
 * path (`/catalog: services[2].instances[0].ip`): MB_ENTRY_INVALID (not a mapping, no name, bad
 * optional fields: the field is ignored), MB_ENTRY_BAD_ADDRESS, MB_ENTRY_BAD_PORT,
 * MB_ENTRY_DUPLICATE_SERVICE (a nested service listed twice: the later one),
 * MB_ENTRY_DUPLICATE_PORT (two port names with one number in a service: the later name). Its
 * neighbours are still mapped. A service left without any instance is left out. When `items`
 * finds no list or mapping the whole document is refused (MB_SOURCE_PARSE).
 */
export function mapCatalogue(doc: unknown, o: MapOptions): Parsed<Service[]> {
  const c = compile(o.map);
  const p = new Problems(o.source, o.registry);
  const itemsAt = c['items'] ?? [];
  const items = valueAt(doc, itemsAt);
  const base = pointerSuffix(itemsAt).replace(/^\./, '');
  let entries: Array<[string, unknown, string | undefined]>;
  if (Array.isArray(items)) entries = items.map((v, i) => [child(base, i), v, undefined]);
  else if (isRawMap(items)) entries = Object.entries(items).map(([k, v]) => [child(base, k), v, k]);
  else {
    p.add(ErrorCode.SOURCE_PARSE, base === '' ? '(document)' : base, `map.items "${o.map.items}" must find a list or a mapping of entries, found ${typeName(items)}; nothing applied`);
    return { value: undefined, problems: p.list };
  }
  const groups = new Map<string, { instances: Instance[]; at: string }>();
  const nested = c['instances'] !== undefined;
  for (const [at, entry, key] of entries) {
    if (!isRawMap(entry)) {
      p.add(ErrorCode.ENTRY_INVALID, at, `an entry must be a mapping, got ${typeName(entry)}; skipped`);
      continue;
    }
    const rawName = valueAt(entry, c['name'] ?? []) ?? key;
    if (typeof rawName !== 'string' || rawName === '') {
      p.add(ErrorCode.ENTRY_INVALID, `${at}${pointerSuffix(c['name'] ?? [])}`, `the service name must be a non-empty string, got ${typeName(rawName)}; entry skipped`);
      continue;
    }
    let group = groups.get(rawName);
    if (nested && group !== undefined) {
      p.add(ErrorCode.ENTRY_DUPLICATE_SERVICE, at, `service "${rawName}" is already listed at ${group.at}; skipped`);
      continue;
    }
    if (group === undefined) groups.set(rawName, (group = { instances: [], at }));
    if (!nested) {
      const inst = readInstance(entry, at, c, p, o);
      if (inst !== undefined) group.instances.push(inst);
      continue;
    }
    const list = valueAt(entry, c['instances'] ?? []);
    const listAt = `${at}${pointerSuffix(c['instances'] ?? [])}`;
    if (!Array.isArray(list)) {
      p.add(ErrorCode.ENTRY_INVALID, listAt, `instances must be a list, got ${typeName(list)}; service skipped`);
      continue;
    }
    list.forEach((raw, j) => {
      const here = child(listAt, j);
      if (!isRawMap(raw)) p.add(ErrorCode.ENTRY_INVALID, here, `an instance must be a mapping, got ${typeName(raw)}; skipped`);
      else {
        const inst = readInstance(raw, here, c, p, o);
        if (inst !== undefined) group.instances.push(inst);
      }
    });
  }
  const services: Service[] = [];
  for (const [name, g] of groups) {
    const s = buildService(name, g.instances, g.at, p, o);
    if (s !== undefined) services.push(s);
  }
  return parsed(services, p.list);
}

function readInstance(raw: Readonly<Record<string, unknown>>, at: string, c: Compiled, p: Problems, o: MapOptions): Instance | undefined {
  const field = (k: string): { value: unknown; at: string } => {
    const tokens = c[k];
    return tokens === undefined ? { value: undefined, at } : { value: valueAt(raw, tokens), at: `${at}${pointerSuffix(tokens)}` };
  };
  const addr = field('address');
  const address = typeof addr.value === 'string' ? normaliseAddress(addr.value, { refuseUnspecified: true }) : undefined;
  if (address === undefined) {
    p.add(ErrorCode.ENTRY_BAD_ADDRESS, addr.at, `the address must be an IP address or DNS name, got ${typeName(addr.value)}; instance skipped`);
    return undefined;
  }
  const proto = field('protocol');
  let stated: Protocol | undefined;
  if (proto.value !== undefined) {
    stated = typeof proto.value === 'string' ? parseProtocol(proto.value) : undefined;
    if (stated === undefined) p.add(ErrorCode.ENTRY_INVALID, proto.at, `unknown protocol ${typeName(proto.value)}; ignored`);
  }
  const ports = readPorts(field('ports'), field('port'), stated ?? o.defaultProtocol, p);
  if (ports === undefined) return undefined;
  const labels: Record<string, string> = {};
  const meta = field('metadata');
  if (meta.value !== undefined && !isRawMap(meta.value)) p.add(ErrorCode.ENTRY_INVALID, meta.at, `metadata must be a mapping, got ${typeName(meta.value)}; ignored`);
  else if (meta.value !== undefined) {
    for (const [k, v] of Object.entries(meta.value)) {
      const text = scalarText(v);
      if (text !== undefined) labels[k] = text;
      else p.add(ErrorCode.ENTRY_INVALID, child(meta.at, k), `a metadata value must be a scalar, got ${typeName(v)}; ignored`);
    }
  }
  const healthy = field('healthy');
  let health: Health = Health.UNKNOWN;
  if (typeof healthy.value === 'boolean') health = healthy.value ? Health.HEALTHY : Health.UNHEALTHY;
  else if (healthy.value !== undefined) p.add(ErrorCode.ENTRY_INVALID, healthy.at, `healthy must be true or false, got ${typeName(healthy.value)}; ignored`);
  const weight = field('weight');
  const okWeight = typeof weight.value === 'number' && Number.isFinite(weight.value) && weight.value >= 0;
  if (weight.value !== undefined && !okWeight) p.add(ErrorCode.ENTRY_INVALID, weight.at, `weight must be a number >= 0, got ${typeName(weight.value)}; ignored`);
  const id = scalarText(field('id').value);
  const endpoint: Endpoint = {
    address,
    ports: Object.fromEntries([...ports].map(([name, port]) => [name, port.number])),
    labels,
    health,
    origin: o.registry,
    ...(okWeight ? { weight: weight.value as number } : {}),
    ...(id !== undefined ? { instanceId: id } : {}),
  };
  return { endpoint, protocols: new Map([...ports].map(([name, port]) => [name, port.protocol])) };
}

/** The instance's ports: `ports` (name -> number) when mapped and present, else `port`. */
function readPorts(
  many: { value: unknown; at: string },
  one: { value: unknown; at: string },
  protocol: Protocol,
  p: Problems,
): Map<string, { number: number; protocol: Protocol }> | undefined {
  const out = new Map<string, { number: number; protocol: Protocol }>();
  if (many.value !== undefined) {
    if (!isRawMap(many.value)) {
      p.add(ErrorCode.ENTRY_BAD_PORT, many.at, `ports must be a mapping of name to number, got ${typeName(many.value)}; instance skipped`);
      return undefined;
    }
    for (const [name, n] of Object.entries(many.value)) {
      if (!isPortNumber(n) || name === '') {
        p.add(ErrorCode.ENTRY_BAD_PORT, child(many.at, name), `port number must be an integer 1-65535, got ${typeName(n)}; instance skipped`);
        return undefined;
      }
      out.set(name, { number: n, protocol: protocolFromName(name) ?? protocol });
    }
    if (out.size > 0) return out;
  }
  const n = typeof one.value === 'string' && /^[0-9]{1,5}$/.test(one.value) ? Number(one.value) : one.value;
  if (!isPortNumber(n)) {
    p.add(ErrorCode.ENTRY_BAD_PORT, one.at, `port number must be an integer 1-65535, got ${typeName(one.value)}; instance skipped`);
    return undefined;
  }
  out.set(protocol.toLowerCase(), { number: n, protocol });
  return out;
}

function buildService(name: string, instances: readonly Instance[], at: string, p: Problems, o: MapOptions): Service | undefined {
  if (instances.length === 0) return undefined;
  const ports: Port[] = [];
  const byName = new Map<string, Port>();
  const numbers = new Set<number>();
  for (const inst of instances) {
    for (const [portName, number] of Object.entries(inst.endpoint.ports)) {
      if (byName.has(portName)) continue;
      if (numbers.has(number)) {
        p.add(ErrorCode.ENTRY_DUPLICATE_PORT, at, `service "${name}": port "${portName}" has number ${number}, already used by another port name; skipped`);
        byName.set(portName, { number, name: portName, protocol: o.defaultProtocol });
        continue;
      }
      const port: Port = { number, name: portName, protocol: inst.protocols.get(portName) ?? o.defaultProtocol };
      byName.set(portName, port);
      numbers.add(number);
      ports.push(port);
    }
  }
  const kept = new Set(ports.map((x) => x.name));
  const seen = new Set<string>();
  const endpoints: Endpoint[] = [];
  for (const inst of instances) {
    const e = inst.endpoint;
    const own = Object.fromEntries(Object.entries(e.ports).filter(([k]) => kept.has(k)));
    const key = `${e.address} ${JSON.stringify(own)}`;
    if (seen.has(key) || Object.keys(own).length === 0) continue;
    seen.add(key);
    endpoints.push({ ...e, ports: own });
  }
  return { registry: o.registry, registryKind: HTTP_REGISTRY_KIND, name, attributes: {}, ports, endpoints };
}

