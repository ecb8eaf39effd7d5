import { ErrorCode } from '../../errors/index.js';
import { Protocol, type Port } from '../../model/index.js';
import { child, isPortNumber, isRawMap, typeName, type Problems } from '../shared/entry-path.js';
import { parseProtocol, protocolFromName } from '../shared/instance-fields.js';

const PORT_KEYS: ReadonlySet<string> = new Set(['number', 'name', 'protocol', 'targetPort']);


/** Result of checking one service's `ports` list. */
export interface PortsResult {
  readonly ports: Port[];
  /** Names of ports that were present but skipped, so instances naming them are not reported again. */
  readonly skippedNames: ReadonlySet<string>;
}

/**
 * Checks a service's `ports`. A bad port is reported and skipped; its neighbours are kept.
 * Later duplicates (same number or same name) are skipped. Contract: the returned ports are
 * unique by number and by name; the caller skips the service when none survive.
 */
export function validatePorts(raw: readonly unknown[], at: string, p: Problems, defaultProtocol: Protocol): PortsResult {
  const ports: Port[] = [];
  const skippedNames = new Set<string>();
  const byNumber = new Map<number, number>();
  const byName = new Map<string, number>();
  raw.forEach((entry, j) => {
    const here = child(at, j);
    const port = validatePort(entry, here, p, defaultProtocol, skippedNames);
    if (port === undefined) return;
    const sameNumber = byNumber.get(port.number);
    const sameName = byName.get(port.name);
    if (sameNumber !== undefined || sameName !== undefined) {
      const other = sameNumber ?? sameName;
      const what = sameNumber !== undefined ? `number ${port.number}` : `name "${port.name}"`;
      p.add(ErrorCode.ENTRY_DUPLICATE_PORT, here, `port ${what} is already used by ${child(at, other ?? 0)}; skipped`);
      return;
    }
    byNumber.set(port.number, j);
    byName.set(port.name, j);
    ports.push(port);
  });
  return { ports, skippedNames };
}

function validatePort(
  entry: unknown,
  here: string,
  p: Problems,
  defaultProtocol: Protocol,
  skippedNames: Set<string>,
): Port | undefined {
  if (!isRawMap(entry)) {
    p.add(ErrorCode.ENTRY_INVALID, here, `a port must be a mapping {number, name, protocol}, got ${typeName(entry)}`);
    return undefined;
  }
  p.unknownKeys(entry, PORT_KEYS, here);
  const rawName = entry['name'];
  const named = typeof rawName === 'string' && rawName.length > 0 ? rawName : undefined;
  const skip = (code: ErrorCode, field: string, message: string): undefined => {
    if (named !== undefined) skippedNames.add(named);
    p.add(code, child(here, field), `${message}; port skipped`);
    return undefined;
  };
  if (rawName !== undefined && named === undefined) {
    return skip(ErrorCode.ENTRY_INVALID, 'name', `port name must be a non-empty string, got ${typeName(rawName)}`);
  }
  const number = entry['number'];
  if (!isPortNumber(number)) {
    return skip(ErrorCode.ENTRY_BAD_PORT, 'number', `port number must be an integer 1-65535, got ${typeName(number)}`);
  }
  const targetPort = entry['targetPort'];
  if (targetPort !== undefined && !isPortNumber(targetPort)) {
    return skip(ErrorCode.ENTRY_BAD_PORT, 'targetPort', `targetPort must be an integer 1-65535, got ${typeName(targetPort)}`);
  }
  const rawProtocol = entry['protocol'];
  let protocol: Protocol | undefined;
  if (rawProtocol === undefined) {
    protocol = (named !== undefined ? protocolFromName(named) : undefined) ?? defaultProtocol;
  } else {
    protocol = typeof rawProtocol === 'string' ? parseProtocol(rawProtocol) : undefined;
    if (protocol === undefined) {
      const known = Object.values(Protocol).join(', ');
      return skip(ErrorCode.ENTRY_INVALID, 'protocol', `unknown protocol ${typeName(rawProtocol)} (one of ${known})`);
    }
  }
  return {
    number,
    name: named ?? `${protocol.toLowerCase()}-${number}`,
    protocol,
    ...(targetPort !== undefined ? { targetPort } : {}),
  };
}
