import { ErrorCode, MeshbridgeError } from '../../errors/index.js';
import { endpointKey, serviceKey, type Endpoint, type Protocol, type Service } from '../../model/index.js';
import { child, isRawMap, Problems, scalarText, typeName, type RawMap } from '../shared/entry-path.js';
import { validateInstance } from './instance.js';
import { validatePorts } from './ports.js';

/** The registryKind of every service a file registry produces. */
export const FILE_REGISTRY_KIND = 'file';

export interface ValidateOptions {
  /** Configured registry name: Service.registry and Endpoint.origin. */
  readonly registry: string;
  /** The file as it appears in problem paths (`<file>: services[0].name`). */
  readonly file: string;
  /** Protocol of ports that state none and whose name has no protocol prefix. */
  readonly defaultProtocol: Protocol;
}

/**
 * The outcome of checking a parsed file. `ok`: the services that survived, in file order, plus
 * the problems of the entries that were skipped (a file with bad entries is still `ok`).
 * `invalid`: the document as a whole is not a registry file (not a mapping, no `services` list);
 * the caller keeps its last good state.
 */
export type ValidateResult =
  | { readonly type: 'ok'; readonly services: readonly Service[]; readonly problems: readonly MeshbridgeError[] }
  | { readonly type: 'invalid'; readonly error: MeshbridgeError };

const TOP_KEYS: ReadonlySet<string> = new Set(['services']);
const SERVICE_KEYS: ReadonlySet<string> = new Set(['name', 'namespace', 'attributes', 'ports', 'instances']);

/**
 * Checks a parsed registry file entry by entry. Pure: no I/O, same input gives the same output.
 * Contract: one bad entry never fails the whole file; it is reported (stable code, path into the
 * file) and skipped: a bad service skips the service, a bad port the port, a bad instance the
 * instance. `services: []` is a valid, empty registry; `services:` with no value is not.
 */
export function validateDocument(doc: unknown, o: ValidateOptions): ValidateResult {
  if (!isRawMap(doc) || !Array.isArray(doc['services'])) {
    const got = isRawMap(doc) ? typeName(doc['services']) : typeName(doc);
    return {
      type: 'invalid',
      error: new MeshbridgeError(ErrorCode.SOURCE_PARSE, `expected a mapping with a "services" list, got ${got}`, {
        path: `${o.file}: services`,
        details: { registry: o.registry, file: o.file },
      }),
    };
  }
  const p = new Problems(o.file, o.registry);
  p.unknownKeys(doc, TOP_KEYS, '');
  const services: Service[] = [];
  const seen = new Map<string, string>();
  (doc['services'] as readonly unknown[]).forEach((entry, i) => {
    const here = child('services', i);
    const s = validateService(entry, here, o, p);
    if (s === undefined) return;
    const key = serviceKey(s);
    const first = seen.get(key);
    if (first !== undefined) {
      const ns = s.namespace !== undefined ? ` in namespace "${s.namespace}"` : '';
      p.add(ErrorCode.ENTRY_DUPLICATE_SERVICE, here, `service "${s.name}"${ns} is already defined at ${first}; skipped`);
      return;
    }
    seen.set(key, here);
    services.push(s);
  });
  return { type: 'ok', services, problems: p.list };
}

function validateService(entry: unknown, here: string, o: ValidateOptions, p: Problems): Service | undefined {
  if (!isRawMap(entry)) {
    p.add(ErrorCode.ENTRY_INVALID, here, `a service must be a mapping with a name, got ${typeName(entry)}; skipped`);
    return undefined;
  }
  p.unknownKeys(entry, SERVICE_KEYS, here);
  const skip = (code: ErrorCode, field: string, message: string): undefined => {
    p.add(code, child(here, field), `${message}; service skipped`);
    return undefined;
  };
  const name = entry['name'];
  if (typeof name !== 'string' || name.trim().length === 0) {
    return skip(ErrorCode.ENTRY_INVALID, 'name', `name must be a non-empty string, got ${typeName(name)}`);
  }
  const namespace = entry['namespace'];
  if (namespace !== undefined && !(typeof namespace === 'string' && namespace.length > 0)) {
    return skip(ErrorCode.ENTRY_INVALID, 'namespace', `namespace must be a non-empty string, got ${typeName(namespace)}`);
  }
  const attributes = readAttributes(entry, child(here, 'attributes'), p);
  if (attributes === undefined) return undefined;
  const rawPorts = entry['ports'];
  if (!Array.isArray(rawPorts) || rawPorts.length === 0) {
    return skip(ErrorCode.ENTRY_INVALID, 'ports', `ports must be a non-empty list, got ${typeName(rawPorts)}`);
  }
  const { ports, skippedNames } = validatePorts(rawPorts, child(here, 'ports'), p, o.defaultProtocol);
  if (ports.length === 0) return skip(ErrorCode.ENTRY_INVALID, 'ports', 'no valid port');
  const rawInstances = entry['instances'] ?? [];
  if (!Array.isArray(rawInstances)) {
    return skip(ErrorCode.ENTRY_INVALID, 'instances', `instances must be a list, got ${typeName(rawInstances)}`);
  }
  const endpoints: Endpoint[] = [];
  const seen = new Map<string, string>();
  const ctx = { origin: o.registry, ports, skippedPortNames: skippedNames };
  rawInstances.forEach((raw: unknown, k) => {
    const at = child(child(here, 'instances'), k);
    const ep = validateInstance(raw, at, ctx, p);
    if (ep === undefined) return;
    const key = endpointKey(ep);
    const first = seen.get(key);
    if (first !== undefined) {
      p.add(ErrorCode.ENTRY_INVALID, at, `instance ${ep.address} has the same address and ports as ${first}; skipped`);
      return;
    }
    seen.set(key, at);
    endpoints.push(ep);
  });
  return {
    registry: o.registry,
    registryKind: FILE_REGISTRY_KIND,
    name,
    ...(namespace !== undefined ? { namespace } : {}),
    attributes,
    ports,
    endpoints,
  };
}

/**
 * Attributes feed host templates, so a bad one skips the service (publishing it under another
 * host would be worse than not publishing it). Scalars become strings.
 */
function readAttributes(entry: RawMap, at: string, p: Problems): Record<string, string> | undefined {
  const raw = entry['attributes'];
  if (raw === undefined) return {};
  if (!isRawMap(raw)) {
    p.add(ErrorCode.ENTRY_INVALID, at, `attributes must be a mapping, got ${typeName(raw)}; service skipped`);
    return undefined;
  }
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(raw)) {
    const text = scalarText(v);
    if (text === undefined) {
      p.add(ErrorCode.ENTRY_INVALID, child(at, k), `attribute value must be a string, got ${typeName(v)}; service skipped`);
      return undefined;
    }
    out.set(k, text);
  }
  return Object.fromEntries(out);
}
