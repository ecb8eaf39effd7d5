import { ErrorCode } from '../../errors/index.js';
import type { Endpoint, Port } from '../../model/index.js';
import { normaliseAddress } from '../shared/address.js';
import { child, keySuffix, isPortNumber, isRawMap, scalarText, typeName, type Problems, type RawMap } from '../shared/entry-path.js';
import { placement, readHealth, readLocality, readWeight, type Fail } from '../shared/instance-fields.js';

const INSTANCE_KEYS: ReadonlySet<string> = new Set([
  'address',
  'ports',
  'labels',
  'weight',
  'locality',
  'network',
  'healthy',
  'health',
  'id',
]);

/** What an instance is checked against: its service's surviving ports. */
export interface InstanceContext {
  readonly origin: string;
  readonly ports: readonly Port[];
  /** Port names that were skipped on the service: instances may name them without a report. */
  readonly skippedPortNames: ReadonlySet<string>;
}

/** Thrown inside instance validation to skip the instance; always caught in validateInstance. */
class SkipInstance extends Error {}

/**
 * Checks one instance and builds its Endpoint. Contract: any invalid field skips the whole
 * instance (one report, naming the field), except a single label value that is not a scalar,
 * which drops that label only, and unknown keys, which are reported and ignored.
 */
export function validateInstance(entry: unknown, here: string, ctx: InstanceContext, p: Problems): Endpoint | undefined {
  if (!isRawMap(entry)) {
    p.add(ErrorCode.ENTRY_INVALID, here, `an instance must be a mapping with an address, got ${typeName(entry)}; skipped`);
    return undefined;
  }
  p.unknownKeys(entry, INSTANCE_KEYS, here);
  const fail = (code: ErrorCode, suffix: string, message: string): never => {
    p.add(code, `${here}${suffix}`, `${message}; instance skipped`);
    throw new SkipInstance();
  };
  try {
    const address = readAddress(entry, fail);
    const ports = readPorts(entry['ports'], ctx, fail);
    const labels = readLabels(entry['labels'], child(here, 'labels'), p, fail);
    const ignore = (code: ErrorCode, suffix: string, message: string): void => p.add(code, `${here}${suffix}`, message);
    const weight = readWeight(entry['weight'], ignore);
    const locality = readLocality(entry['locality'], ignore);
    const network = entry['network'];
    if (network !== undefined && !(typeof network === 'string' && network.length > 0)) {
      fail(ErrorCode.ENTRY_INVALID, '.network', `network must be a non-empty string, got ${typeName(network)}`);
    }
    const health = readHealth(entry, fail);
    const id = entry['id'];
    const instanceId = id === undefined ? undefined : scalarText(id);
    if (id !== undefined && instanceId === undefined) fail(ErrorCode.ENTRY_INVALID, '.id', `id must be a string, got ${typeName(id)}`);
    return {
      address,
      ports,
      labels,
      ...placement(weight, locality, network),
      health,
      origin: ctx.origin,
      ...(instanceId !== undefined ? { instanceId } : {}),
    };
  } catch (e) {
    if (e instanceof SkipInstance) return undefined;
    throw e;
  }
}

/** Reports `message` at `<instance path><suffix>` and skips the instance. */

function readAddress(entry: RawMap, fail: Fail): string {
  const raw = entry['address'];
  if (raw === undefined) return fail(ErrorCode.ENTRY_INVALID, '.address', 'address is required');
  const address = typeof raw === 'string' ? normaliseAddress(raw) : undefined;
  return address ?? fail(ErrorCode.ENTRY_BAD_ADDRESS, '.address', `${typeName(raw)} is not an IP address or DNS name`);
}

/** Port name -> number: the instance's own numbers over the service defaults (targetPort, else number). */
function readPorts(raw: unknown, ctx: InstanceContext, fail: Fail): Record<string, number> {
  const out = new Map<string, number>();
  for (const port of ctx.ports) out.set(port.name, port.targetPort ?? port.number);
  if (raw !== undefined && !isRawMap(raw)) {
    return fail(ErrorCode.ENTRY_INVALID, '.ports', `ports must be a mapping {portName: number}, got ${typeName(raw)}`);
  }
  for (const [name, value] of Object.entries(raw ?? {})) {
    if (!out.has(name)) {
      if (ctx.skippedPortNames.has(name)) continue;
      const known = ctx.ports.map((x) => x.name).join(', ');
      fail(ErrorCode.ENTRY_INVALID, `.ports${keySuffix(name)}`, `"${name}" is not a port of the service (${known})`);
    }
    if (!isPortNumber(value)) {
      fail(ErrorCode.ENTRY_BAD_PORT, `.ports${keySuffix(name)}`, `port must be an integer 1-65535, got ${typeName(value)}`);
    }
    out.set(name, value);
  }
  return Object.fromEntries(out);
}

function readLabels(raw: unknown, at: string, p: Problems, fail: Fail): Record<string, string> {
  if (raw === undefined) return {};
  if (!isRawMap(raw)) return fail(ErrorCode.ENTRY_INVALID, '.labels', `labels must be a mapping, got ${typeName(raw)}`);
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(raw)) {
    const text = scalarText(v);
    if (text === undefined) {
      p.add(ErrorCode.ENTRY_INVALID, child(at, k), `label value must be a string, got ${typeName(v)}; label dropped`);
      continue;
    }
    out.set(k, text);
  }
  // fromEntries makes own properties even for keys such as "__proto__".
  return Object.fromEntries(out);
}

