import { ErrorCode } from '../../errors/index.js';
import { normaliseHost, isPort } from './address.js';
import { clip } from './dubbo-url.js';

/** One (protocol, port) a Curator instance serves. */
export interface InstancePort {
  readonly protocol: string;
  readonly port: number;
}

/** A Curator ServiceDiscovery instance (Dubbo 3 application level, Spring Cloud Zookeeper). */
export interface CuratorInstance {
  readonly name: string;
  readonly id: string;
  readonly address: string;
  readonly ports: readonly InstancePort[];
  readonly labels: Readonly<Record<string, string>>;
  readonly weight?: number;
}

export type CuratorParse =
  | { readonly type: 'ok'; readonly instance: CuratorInstance }
  | { readonly type: 'disabled' }
  | { readonly type: 'invalid'; readonly code: ErrorCode; readonly message: string };

export interface CuratorParseOptions {
  /** Protocol of `port` when the instance does not list its endpoints (`dubbo` or `http`). */
  readonly defaultProtocol: string;
}

/** Metadata that does not become labels: volatile or internal to Dubbo's metadata service. */
function droppedMetadata(key: string): boolean {
  return key === 'timestamp' || key === 'weight' || key === 'dubbo.endpoints' || key.startsWith('dubbo.metadata') || key === 'instance_status';
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses the data of `<basePath>/<service>/<id>`: Curator's JSON ServiceInstance
 * `{name, id, address, port, sslPort, payload: {metadata: {...}}, enabled, registrationTimeUTC, ...}`.
 * Ports: Dubbo's `dubbo.endpoints` metadata (`[{"port":20880,"protocol":"dubbo"}, ...]`) when
 * present, else `port` (with `defaultProtocol`) and `sslPort` (https). `enabled: false` switches the
 * instance off. registrationTimeUTC and timestamps are ignored. Contract: pure, never throws.
 */
export function parseCuratorInstance(data: Buffer | string, o: CuratorParseOptions): CuratorParse {
  const invalid = (code: ErrorCode, message: string): CuratorParse => ({ type: 'invalid', code, message: `${message}; instance skipped` });
  let doc: unknown;
  try {
    doc = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch (e) {
    return invalid(ErrorCode.ENTRY_INVALID, `data is not JSON (${e instanceof Error ? clip(e.message) : 'parse error'})`);
  }
  if (!isObject(doc)) return invalid(ErrorCode.ENTRY_INVALID, 'data is not a JSON object');
  if (doc['enabled'] === false) return { type: 'disabled' };
  const rawAddress = doc['address'];
  if (typeof rawAddress !== 'string') return invalid(ErrorCode.ENTRY_BAD_ADDRESS, 'address is missing');
  const address = normaliseHost(rawAddress);
  if (address === undefined) return invalid(ErrorCode.ENTRY_BAD_ADDRESS, `address "${clip(rawAddress)}" is not a usable IP address or DNS name`);
  const payload = doc['payload'];
  const metadata: Record<string, Json> = isObject(payload) && isObject(payload['metadata']) ? payload['metadata'] : {};
  const labels = new Map<string, string>();
  for (const [k, v] of Object.entries(metadata)) {
    if (droppedMetadata(k)) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') labels.set(k, String(v));
  }
  const ports = readPorts(doc, metadata, o.defaultProtocol);
  if (typeof ports === 'string') return invalid(ErrorCode.ENTRY_BAD_PORT, ports);
  const rawWeight = metadata['weight'];
  const weight = typeof rawWeight === 'string' && /^[0-9]{1,9}$/.test(rawWeight) ? Number(rawWeight) : undefined;
  const id = doc['id'];
  const name = doc['name'];
  return {
    type: 'ok',
    instance: {
      name: typeof name === 'string' ? name : '',
      id: typeof id === 'string' ? id : `${address}:${ports[0]?.port ?? 0}`,
      address,
      ports,
      labels: Object.fromEntries(labels),
      ...(weight !== undefined ? { weight } : {}),
    },
  };
}

/** Ports from `dubbo.endpoints`, else `port` and `sslPort`; a string is the reason they are unusable. */
function readPorts(doc: Record<string, Json>, metadata: Record<string, Json>, defaultProtocol: string): InstancePort[] | string {
  const endpoints = metadata['dubbo.endpoints'];
  if (typeof endpoints === 'string' && endpoints.length > 0) {
    const listed = parseDubboEndpoints(endpoints);
    return typeof listed === 'string' ? `dubbo.endpoints: ${listed}` : listed;
  }
  const ports: InstancePort[] = [];
  for (const [key, protocol] of [
    ['port', defaultProtocol],
    ['sslPort', 'https'],
  ] as const) {
    const v = doc[key];
    if (v === null || v === undefined) continue;
    if (typeof v !== 'number' || !isPort(v)) return `${key} ${clip(JSON.stringify(v))} is not 1-65535`;
    ports.push({ protocol, port: v });
  }
  return ports.length > 0 ? ports : 'no port';
}

/** `[{"port":20880,"protocol":"dubbo"}, ...]` -> ports, or the reason it is unusable. */
function parseDubboEndpoints(text: string): InstancePort[] | string {
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (!Array.isArray(list) || list.length === 0) return 'not a non-empty list';
  const out: InstancePort[] = [];
  for (const e of list) {
    if (!isObject(e)) return 'an entry is not an object';
    const port = e['port'];
    const protocol = e['protocol'];
    if (typeof port !== 'number' || !isPort(port)) return `port ${clip(JSON.stringify(port ?? null))} is not 1-65535`;
    if (typeof protocol !== 'string' || protocol.length === 0) return 'an entry has no protocol';
    out.push({ protocol: protocol.toLowerCase(), port });
  }
  return out;
}
