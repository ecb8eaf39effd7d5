import type { Parsed } from '../shared/parsed.js';
import { ErrorCode, MeshbridgeError } from '../../errors/index.js';
import type { Health} from '../../model/index.js';
import { Protocol, type Locality } from '../../model/index.js';
import { normaliseAddress } from '../shared/address.js';
import { isPortNumber, isRawMap, keySuffix, scalarText, typeName, type RawMap } from '../shared/entry-path.js';
import type { KeyMatch } from './layout.js';
import { parseProtocol, placement, protocolFromName, readHealth, readLocality, readWeight, type Fail } from '../shared/instance-fields.js';

/**
 * One instance as its etcd value states it (docs/configuration.md, "etcd"): the JSON object
 *
 *   {"address": "10.0.0.1", "ports": {"http": 8080, "grpc": {"number": 9090, "protocol": "GRPC"}},
 *    "labels": {...}, "weight": 1, "locality": "r/z/s", "network": "n1", "healthy": true}
 *
 * Service identity (namespace, name, attributes) and the instance id come from the key.
 */
export interface InstanceRecord {
  /** The full etcd key. */
  readonly key: string;
  /** etcd mod_revision of the value this record was parsed from. */
  readonly modRevision: number;
  readonly match: KeyMatch;
  readonly address: string;
  /** Port name -> number on this instance and the protocol the value states (if any). */
  readonly ports: Readonly<Record<string, InstancePort>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly weight?: number;
  readonly locality?: Locality;
  readonly network?: string;
  readonly health: Health;
}

export interface InstancePort {
  readonly number: number;
  /** Stated in the value, or implied by the port name (`http`, `grpc-api`); else undefined. */
  readonly protocol?: Protocol;
}

const VALUE_KEYS: ReadonlySet<string> = new Set(['address', 'ports', 'labels', 'weight', 'locality', 'network', 'healthy', 'health']);
const PORT_KEYS: ReadonlySet<string> = new Set(['number', 'protocol']);

/** The outcome of parsing one key's value: the record (undefined: skipped) and its problems. */

export interface ParseInput {
  readonly registry: string;
  readonly key: string;
  readonly modRevision: number;
  readonly match: KeyMatch;
  readonly value: Uint8Array;
}

class Skip extends Error {}

/**
 * Parses and checks one instance value. Pure. Contract: any invalid field skips the instance
 * (one problem naming the field, `path` = `<key>: <field>`), except a label value that is not a
 * scalar (that label is dropped) and unknown keys (reported, ignored). Codes as the file
 * registry: MB_ENTRY_BAD_ADDRESS, MB_ENTRY_BAD_PORT, else MB_ENTRY_INVALID.
 */
export function parseInstance(input: ParseInput): Parsed<InstanceRecord> {
  const problems: MeshbridgeError[] = [];
  const add = (code: ErrorCode, field: string, message: string): void => {
    problems.push(
      new MeshbridgeError(code, message, {
        path: field === '' ? input.key : `${input.key}: ${field}`,
        details: { registry: input.registry, key: input.key },
      }),
    );
  };
  const fail = (code: ErrorCode, field: string, message: string): never => {
    add(code, field, `${message}; instance skipped`);
    throw new Skip();
  };
  try {
    const raw = decode(input.value, fail);
    for (const k of Object.keys(raw)) {
      if (!VALUE_KEYS.has(k)) add(ErrorCode.ENTRY_INVALID, k, `unknown key "${k}" ignored`);
    }
    const address = readAddress(raw['address'], fail);
    const ports = readPorts(raw['ports'], fail);
    const labels = readLabels(raw['labels'], add, fail);
    const weight = readWeight(raw['weight'], add, '');
    const locality = readLocality(raw['locality'], add, '');
    const network = raw['network'];
    if (network !== undefined && !(typeof network === 'string' && network.length > 0)) {
      fail(ErrorCode.ENTRY_INVALID, 'network', `network must be a non-empty string, got ${typeName(network)}`);
    }
    const health = readHealth(raw, fail, '');
    const record: InstanceRecord = {
      key: input.key,
      modRevision: input.modRevision,
      match: input.match,
      address,
      ports,
      labels,
      ...placement(weight, locality, network),
      health,
    };
    return { value: record, problems };
  } catch (e) {
    if (e instanceof Skip) return { value: undefined, problems };
    throw e;
  }
}


const utf8 = new TextDecoder('utf-8', { fatal: true });

function decode(value: Uint8Array, fail: Fail): RawMap {
  let text: string;
  try {
    text = utf8.decode(value);
  } catch {
    return fail(ErrorCode.ENTRY_INVALID, '', 'value is not UTF-8 text');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text.startsWith('\uFEFF') ? text.slice(1) : text);
  } catch (e) {
    return fail(ErrorCode.ENTRY_INVALID, '', `value is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isRawMap(doc)) return fail(ErrorCode.ENTRY_INVALID, '', `value must be a JSON object with an address, got ${typeName(doc)}`);
  return doc;
}

function readAddress(raw: unknown, fail: Fail): string {
  if (raw === undefined) return fail(ErrorCode.ENTRY_INVALID, 'address', 'address is required');
  const address = typeof raw === 'string' ? normaliseAddress(raw) : undefined;
  return address ?? fail(ErrorCode.ENTRY_BAD_ADDRESS, 'address', `${typeName(raw)} is not an IP address or DNS name`);
}


function readPorts(raw: unknown, fail: Fail): Record<string, InstancePort> {
  if (!isRawMap(raw) || Object.keys(raw).length === 0) {
    return fail(ErrorCode.ENTRY_INVALID, 'ports', `ports must be a non-empty mapping {name: number}, got ${typeName(raw)}`);
  }
  const out = new Map<string, InstancePort>();
  for (const [name, v] of Object.entries(raw)) {
    const at = `ports${keySuffix(name)}`;
    if (name.length === 0) fail(ErrorCode.ENTRY_INVALID, at, 'a port name must not be empty');
    let number: unknown = v;
    let protocol: Protocol | undefined;
    if (isRawMap(v)) {
      for (const k of Object.keys(v)) {
        if (!PORT_KEYS.has(k)) fail(ErrorCode.ENTRY_INVALID, `${at}${keySuffix(k)}`, `unknown port key "${k}"`);
      }
      number = v['number'];
      const p = v['protocol'];
      if (p !== undefined) {
        protocol = typeof p === 'string' ? parseProtocol(p) : undefined;
        if (protocol === undefined) {
          fail(ErrorCode.ENTRY_INVALID, `${at}.protocol`, `unknown protocol ${typeName(p)} (one of ${Object.values(Protocol).join(', ')})`);
        }
      }
    }
    if (!isPortNumber(number)) {
      fail(ErrorCode.ENTRY_BAD_PORT, isRawMap(v) ? `${at}.number` : at, `port must be an integer 1-65535, got ${typeName(number)}`);
    }
    protocol ??= protocolFromName(name);
    out.set(name, { number, ...(protocol !== undefined ? { protocol } : {}) });
  }
  return Object.fromEntries(out);
}

function readLabels(raw: unknown, add: (code: ErrorCode, field: string, message: string) => void, fail: Fail): Record<string, string> {
  if (raw === undefined) return {};
  if (!isRawMap(raw)) return fail(ErrorCode.ENTRY_INVALID, 'labels', `labels must be a mapping, got ${typeName(raw)}`);
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(raw)) {
    const text = scalarText(v);
    if (text === undefined) {
      add(ErrorCode.ENTRY_INVALID, `labels${keySuffix(k)}`, `label value must be a string, got ${typeName(v)}; label dropped`);
      continue;
    }
    out.set(k, text);
  }
  return Object.fromEntries(out);
}

