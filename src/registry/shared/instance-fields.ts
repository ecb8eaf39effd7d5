import { ErrorCode } from '../../errors/index.js';
import { Health, Protocol, type Locality } from '../../model/index.js';
import { isRawMap, keySuffix, typeName, type RawMap } from './entry-path.js';

/*
 * Instance fields whose syntax the file and etcd registries share (docs/file-registry.md): the
 * same words mean the same thing in both, and bad values get the same codes and messages.
 */

/** Raises a coded problem at `<entry path><suffix>`; never returns. */
export type Fail = (code: ErrorCode, suffix: string, message: string) => never;

const LOCALITY_KEYS: ReadonlySet<string> = new Set(['region', 'zone', 'subzone']);
const HEALTH: ReadonlyMap<string, Health> = new Map(Object.values(Health).map((h) => [h, h]));
const PROTOCOLS: ReadonlyMap<string, Protocol> = new Map(Object.values(Protocol).map((p) => [p.toLowerCase(), p]));

/** Parses a protocol name case-insensitively; undefined when it is not one of the model's. */
export function parseProtocol(s: string): Protocol | undefined {
  return PROTOCOLS.get(s.toLowerCase());
}

/**
 * Istio's port-name convention: a name `<protocol>` or `<protocol>-<suffix>` states the protocol
 * (`http-web`, `grpc`, `tcp-db`; `grpc-web` is HTTP2). Used only when nothing states a protocol.
 */
export function protocolFromName(name: string): Protocol | undefined {
  const prefix = name.split('-')[0] ?? '';
  return prefix === 'grpc' && name.startsWith('grpc-web') ? Protocol.HTTP2 : parseProtocol(prefix);
}

/** The optional placement fields of an instance, present only when set (spread into the record). */
export function placement(weight: unknown, locality: Locality | undefined, network: unknown): { weight?: number; locality?: Locality; network?: string } {
  return {
    ...(typeof weight === 'number' ? { weight } : {}),
    ...(locality !== undefined ? { locality } : {}),
    ...(typeof network === 'string' ? { network } : {}),
  };
}

/** Reports a problem with one field, which is then left out: the instance itself is kept. */
export type Ignore = (code: ErrorCode, suffix: string, message: string) => void;

/**
 * `weight`: any number >= 0 (conversion rounds it, clamps it to 1..4294967295 and drains 0:
 * docs/mapping.md). Anything else is reported and ignored; the instance keeps the default weight.
 */
export function readWeight(raw: unknown, ignore: Ignore, sep = '.'): number | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw === 'number' && Number.isFinite(raw) && raw >= 0) return raw;
  ignore(ErrorCode.ENTRY_INVALID, `${sep}weight`, `weight must be a number >= 0, got ${typeName(raw)}; weight ignored`);
  return undefined;
}

/**
 * `"region/zone/subzone"` (trailing parts optional, empty parts unset) or a mapping. `sep` joins
 * the field to the entry path ('.' in a file, '' for an etcd value). A bad locality is reported
 * and ignored: the instance is kept without one.
 */
export function readLocality(raw: unknown, ignore: Ignore, sep = '.'): Locality | undefined {
  if (raw === undefined) return undefined;
  const bad = (suffix: string, message: string): undefined => {
    ignore(ErrorCode.ENTRY_INVALID, `${sep}locality${suffix}`, `${message}; locality ignored`);
    return undefined;
  };
  let parts: Array<unknown>;
  if (typeof raw === 'string') {
    parts = raw.split('/');
    if (parts.length > 3) return bad('', `locality "${raw}" has more than region/zone/subzone`);
  } else if (isRawMap(raw)) {
    const unknown = Object.keys(raw).find((k) => !LOCALITY_KEYS.has(k));
    if (unknown !== undefined) return bad(keySuffix(unknown), `unknown locality key "${unknown}"`);
    parts = [raw['region'], raw['zone'], raw['subzone']];
    const i = parts.findIndex((v) => v !== undefined && !(typeof v === 'string' && !v.includes('/')));
    if (i >= 0) {
      const key = ['region', 'zone', 'subzone'][i] ?? '';
      return bad(`.${key}`, `locality ${key} must be a string without "/", got ${typeName(parts[i])}`);
    }
  } else {
    return bad('', `locality must be "region/zone/subzone" or a mapping, got ${typeName(raw)}`);
  }
  const [region, zone, subzone] = parts as Array<string | undefined>;
  return internLocality(region || undefined, zone || undefined, subzone || undefined);
}

const LOCALITIES = new Map<string, Locality>();
const MAX_LOCALITIES = 4096;

/**
 * One frozen Locality object per distinct (region, zone, subzone), undefined when all are unset.
 * A fleet has few localities and many endpoints: at 100,000 endpoints per-endpoint objects cost
 * ~30 MB (built by spreads, each got its own hidden class: measured in a heap snapshot). The
 * table is bounded; past MAX_LOCALITIES it is cleared (objects handed out stay valid).
 */
export function internLocality(region: string, zone: string | undefined, subzone: string | undefined): Locality;
export function internLocality(region: string | undefined, zone: string | undefined, subzone: string | undefined): Locality | undefined;
export function internLocality(region: string | undefined, zone: string | undefined, subzone: string | undefined): Locality | undefined {
  if (region === undefined && zone === undefined && subzone === undefined) return undefined;
  const key = `${region ?? ''}\0${zone ?? ''}\0${subzone ?? ''}`;
  const hit = LOCALITIES.get(key);
  if (hit !== undefined) return hit;
  const loc: { region?: string; zone?: string; subzone?: string } = {};
  if (region !== undefined) loc.region = region;
  if (zone !== undefined) loc.zone = zone;
  if (subzone !== undefined) loc.subzone = subzone;
  if (LOCALITIES.size >= MAX_LOCALITIES) LOCALITIES.clear();
  LOCALITIES.set(key, Object.freeze(loc));
  return loc;
}

/** `healthy: bool` or `health: healthy|unhealthy|unknown`; neither means unknown (treated as healthy). */
export function readHealth(entry: RawMap, fail: Fail, sep = '.'): Health {
  const healthy = entry['healthy'];
  const health = entry['health'];
  let fromBool: Health | undefined;
  let fromText: Health | undefined;
  if (healthy !== undefined) {
    if (typeof healthy !== 'boolean') fail(ErrorCode.ENTRY_INVALID, `${sep}healthy`, `healthy must be true or false, got ${typeName(healthy)}`);
    fromBool = healthy === true ? Health.HEALTHY : Health.UNHEALTHY;
  }
  if (health !== undefined) {
    fromText = typeof health === 'string' ? HEALTH.get(health.toLowerCase()) : undefined;
    if (fromText === undefined) fail(ErrorCode.ENTRY_INVALID, `${sep}health`, `health must be healthy, unhealthy or unknown, got ${typeName(health)}`);
  }
  if (fromBool !== undefined && fromText !== undefined && fromBool !== fromText) {
    fail(ErrorCode.ENTRY_INVALID, `${sep}health`, `health "${fromText}" contradicts healthy: ${String(healthy)}`);
  }
  return fromBool ?? fromText ?? Health.UNKNOWN;
}
