import { ErrorCode, MeshbridgeError } from '../errors/index.js';
import { Protocol, type Port } from '../model/index.js';
import { contentHash } from '../util/hash.js';
import type { ConversionOptions } from './options.js';

/** CRD limit: ServiceEntry.spec.ports maxItems. */
export const MAX_PORTS = 256;
/**
 * CEL rule on endpoint/WorkloadEntry `ports` keys (which are service port names):
 * `size(key) < 63 && key.matches("^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$")`. Service port
 * names are kept to that form so every name can be used as such a key.
 */
export const MAX_PORT_NAME = 62;
const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const PROTOCOLS: ReadonlySet<string> = new Set(Object.values(Protocol));

/** One ServiceEntry port as published, with the model name it came from. */
export interface OutPort {
  readonly number: number;
  /** Published name: unique, valid as an endpoint ports key. */
  readonly name: string;
  readonly protocol: Protocol;
  readonly targetPort?: number;
  /**
   * The model's port name, by which endpoints give their port numbers. Undefined when an earlier
   * port already had that model name (duplicate names): endpoint numbers belong to the first.
   */
  readonly sourceName?: string;
}

export interface PortsResult {
  /** Sorted by number; unique by number and by name; at most 256. */
  readonly ports: readonly OutPort[];
  readonly problems: readonly MeshbridgeError[];
}

function isPortNumber(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
}

/** Lowercase, characters outside [a-z0-9-] -> '-', trimmed; shortened with a hash when too long. */
function sanitizePortName(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '');
  if (s.length <= MAX_PORT_NAME) return s;
  const hash = contentHash(name).slice(0, 8);
  return `${s.slice(0, MAX_PORT_NAME - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

/**
 * The protocol of a port: `options.portProtocols` by the model's port name, then by the published
 * name, then by number (config wins); else the registry's protocol when it is one Istio knows;
 * else `options.defaultProtocol`.
 */
export function protocolOf(p: Port, publishedName: string, o: Pick<ConversionOptions, 'portProtocols' | 'defaultProtocol'>): Protocol {
  const table = o.portProtocols;
  for (const k of [p.name, publishedName, String(p.number)]) {
    if (Object.hasOwn(table, k)) {
      const v = table[k];
      if (v !== undefined) return v;
    }
  }
  return typeof p.protocol === 'string' && PROTOCOLS.has(p.protocol) ? p.protocol : o.defaultProtocol;
}

/**
 * Builds the ServiceEntry ports of one host.
 *
 * Contract: pure. Ports are processed in (number, name) order so the result does not depend on
 * input order. A port with an invalid number is dropped (MB_ENTRY_BAD_PORT); a second port with a
 * number already taken is dropped (MB_ENTRY_DUPLICATE_PORT). Names are sanitised to
 * `[a-z0-9-]`, <= 62 characters; an empty name becomes `<protocol>-<number>`; a name already taken
 * gets `-<number>` appended (numbers are unique, so that is unique too). Beyond 256 ports the
 * highest numbers are dropped with one MB_LIMIT_EXCEEDED problem.
 */
export function convertPorts(input: readonly Port[], o: Pick<ConversionOptions, 'portProtocols' | 'defaultProtocol'>, where: string): PortsResult {
  const problems: MeshbridgeError[] = [];
  const sorted = [...input].sort((a, b) => a.number - b.number || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const byNumber = new Set<number>();
  const names = new Set<string>();
  const sourceNames = new Set<string>();
  const out: OutPort[] = [];
  for (const p of sorted) {
    if (!isPortNumber(p.number)) {
      problems.push(new MeshbridgeError(ErrorCode.ENTRY_BAD_PORT, `port "${p.name}" has number ${String(p.number)}, not 1-65535; port dropped`, { path: where }));
      continue;
    }
    if (byNumber.has(p.number)) {
      problems.push(new MeshbridgeError(ErrorCode.ENTRY_DUPLICATE_PORT, `port number ${p.number} appears twice ("${p.name}" dropped)`, { path: where }));
      continue;
    }
    byNumber.add(p.number);
    const wanted = sanitizePortName(p.name);
    const provisional = wanted.length > 0 ? wanted : `${protocolOf(p, '', o).toLowerCase()}-${p.number}`;
    let name = provisional;
    if (names.has(name)) name = sanitizePortName(`${provisional}-${p.number}`);
    for (let i = 2; names.has(name) || !PORT_NAME.test(name); i++) name = `port-${p.number}-${i}`;
    names.add(name);
    const ownsSource = !sourceNames.has(p.name);
    sourceNames.add(p.name);
    out.push({
      number: p.number,
      name,
      protocol: protocolOf(p, name, o),
      ...(isPortNumber(p.targetPort) ? { targetPort: p.targetPort } : {}),
      ...(ownsSource ? { sourceName: p.name } : {}),
    });
  }
  if (out.length > MAX_PORTS) {
    const dropped = out.splice(MAX_PORTS);
    problems.push(
      new MeshbridgeError(
        ErrorCode.LIMIT_EXCEEDED,
        `${out.length + dropped.length} ports, more than the ${MAX_PORTS} a ServiceEntry may have; ports ${dropped[0]?.number ?? ''}-${dropped[dropped.length - 1]?.number ?? ''} (${dropped.length}) dropped`,
        { path: where, details: { limit: MAX_PORTS, dropped: dropped.length } },
      ),
    );
  }
  return { ports: out, problems };
}
