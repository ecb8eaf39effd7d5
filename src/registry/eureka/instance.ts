import { parsed, refused, type Parsed } from '../shared/parsed.js';
import { ErrorCode, MeshbridgeError } from '../../errors/index.js';
import type { Locality } from '../../model/index.js';
import { normaliseAddress } from '../shared/address.js';
import { internLocality } from '../shared/instance-fields.js';
import { isObject, text, type JsonObject, type WireInstance } from './wire.js';

/** Port names the adapter publishes: Eureka's `port` and `securePort`. */
export const EurekaPortName = { HTTP: 'http', HTTPS: 'https' } as const;

/** Where a service's host comes from: the app name (default) or the instance's vipAddress. */
export const HostFrom = { APP: 'app', VIP_ADDRESS: 'vipAddress' } as const;
export type HostFrom = (typeof HostFrom)[keyof typeof HostFrom];

/** An instance that maps to an endpoint (status not yet considered). */
export interface UsableInstance {
  readonly address: string;
  /** `http` when `port` is enabled, `https` when `securePort` is; at least one. */
  readonly ports: Readonly<Partial<Record<'http' | 'https', number>>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly weight?: number;
  readonly locality?: Locality;
}

/** An instance mapped: usable, or skipped with the one coded problem why. */
export type MappedInstance = Parsed<UsableInstance>;

/**
 * The fields of an instance that mapping reads, as one string: equal fingerprints map equally,
 * so lease renewals and timestamps (which change on every heartbeat) never cause a re-map or a
 * repeated problem report.
 */
export function fingerprint(inst: WireInstance): string {
  const r = inst.raw;
  return JSON.stringify([inst.app, inst.status, r['ipAddr'], r['port'], r['securePort'], r['metadata'], r['dataCenterInfo'], r['vipAddress']]);
}

/** Service names of an instance: the app name, or each entry of a comma-separated vipAddress; lower-cased. */
export function serviceNamesOf(inst: WireInstance, hostFrom: HostFrom): readonly string[] {
  const app = inst.app.toLowerCase();
  if (hostFrom === HostFrom.APP) return [app];
  const vip = text(inst.raw['vipAddress']);
  const names = (vip ?? '')
    .split(',')
    .map((v) => v.trim().toLowerCase())
    .filter((v) => v !== '');
  return names.length > 0 ? [...new Set(names)] : [app];
}

function enabled(v: unknown, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  return v === true || (typeof v === 'string' && v.toLowerCase() === 'true');
}

type PortRead = { readonly type: 'off' } | { readonly type: 'on'; readonly number: number } | { readonly type: 'bad'; readonly value: string };

/** `{"$": 8080, "@enabled": "true"}` or a bare number (then enabled = `bareEnabled`). */
function readPort(v: unknown, bareEnabled: boolean): PortRead {
  let value: unknown = v;
  let on = bareEnabled;
  if (isObject(v)) {
    value = v['$'];
    on = enabled(v['@enabled'], bareEnabled);
  } else if (v === undefined || v === null) {
    return { type: 'off' };
  }
  if (!on) return { type: 'off' };
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) return { type: 'bad', value: JSON.stringify(value) ?? 'undefined' };
  return { type: 'on', number: n };
}

function labelsOf(metadata: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(metadata)) return out;
  for (const [k, v] of Object.entries(metadata)) {
    // "@class" marks Jackson's type of an empty map (java.util.Collections$EmptyMap).
    if (k.startsWith('@')) continue;
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
  }
  return out;
}

/**
 * Locality: `zone` (and `region`) from the instance metadata, else the availability zone of an
 * Amazon dataCenterInfo, whose region is the zone without its trailing letter
 * (`us-east-1a` -> `us-east-1`).
 */
function localityOf(labels: Readonly<Record<string, string>>, dc: unknown): Locality | undefined {
  let zone = labels['zone'];
  let region = labels['region'];
  if (isObject(dc) && dc['name'] === 'Amazon' && isObject(dc['metadata'])) {
    const az = text(dc['metadata']['availability-zone']);
    if (az !== undefined) {
      zone ??= az;
      region ??= /^(.*\d)[a-z]+$/.exec(az)?.[1];
    }
  }
  if (zone === undefined && region === undefined) return undefined;
  return internLocality(region, zone, undefined);
}

/**
 * Maps one instance to an endpoint candidate, or to the coded problem that skips it:
 * missing or unusable `ipAddr` -> MB_ENTRY_BAD_ADDRESS; an enabled port outside 1-65535 ->
 * MB_ENTRY_BAD_PORT; neither port enabled -> MB_ENTRY_INVALID. `where` names the registry for
 * the problem's path.
 */
export function mapInstance(inst: WireInstance, where: string): MappedInstance {
  const r: JsonObject = inst.raw;
  const path = `${where}: ${inst.app}/${inst.id}`;
  const details = { app: inst.app, instanceId: inst.id };
  const ipRaw = r['ipAddr'];
  if (typeof ipRaw !== 'string' || ipRaw.trim() === '') {
    return refused(new MeshbridgeError(ErrorCode.ENTRY_BAD_ADDRESS, 'instance has no ipAddr; skipped', { path, details }));
  }
  const address = normaliseAddress(ipRaw, { trim: true });
  if (address === undefined) {
    return refused(new MeshbridgeError(ErrorCode.ENTRY_BAD_ADDRESS, `ipAddr ${JSON.stringify(ipRaw)} is not an IP address or DNS name; skipped`, { path, details }));
  }
  const ports: Partial<Record<'http' | 'https', number>> = {};
  for (const [field, name, bare] of [
    ['port', EurekaPortName.HTTP, true],
    ['securePort', EurekaPortName.HTTPS, false],
  ] as const) {
    const p = readPort(r[field], bare);
    if (p.type === 'bad') {
      return refused(new MeshbridgeError(ErrorCode.ENTRY_BAD_PORT, `${field} ${p.value} is not a port number (1-65535); skipped`, { path, details }));
    }
    if (p.type === 'on') ports[name] = p.number;
  }
  if (ports.http === undefined && ports.https === undefined) {
    return refused(new MeshbridgeError(ErrorCode.ENTRY_INVALID, 'neither port nor securePort is enabled; skipped', { path, details }));
  }
  const labels = labelsOf(r['metadata']);
  const w = labels['weight'];
  const weight = w !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(w) ? Number(w) : undefined;
  const locality = localityOf(labels, r['dataCenterInfo']);
  return parsed({
    address,
    ports,
    labels,
    ...(weight !== undefined ? { weight } : {}),
    ...(locality !== undefined ? { locality } : {}),
  });
}
