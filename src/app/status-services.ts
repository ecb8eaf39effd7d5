import type { ConversionOptions } from '../convert/options.js';
import { ErrorCode, MeshbridgeError } from '../errors/index.js';
import { Health, type Service } from '../model/index.js';
import type { Registry } from '../registry/types.js';
import { compareResources, renderDocument } from '../sinks/render/index.js';
import { ResourceKind, type IstioResource, type Snapshot } from '../snapshot/index.js';

/**
 * The status page's on-demand views (GET /debug/services, GET /debug/objects): the searchable
 * service list and the published objects of one host as YAML. Built per request from the live
 * registries and snapshot; bounded by `limit` (services) and MAX_OBJECTS (documents).
 */

export interface ServiceRow {
  /** The Istio host the service maps to; undefined when its name gives no valid host (see /debug/problems). */
  readonly host: string | undefined;
  readonly registry: string;
  readonly kind: string;
  /** The registry-native name, as the registry sent it (untrusted text). */
  readonly name: string;
  readonly namespace: string | undefined;
  readonly endpoints: number;
  readonly healthy: number;
  /** `name:number/PROTOCOL` per port. */
  readonly ports: readonly string[];
}

export interface ServiceList {
  /** Services in every registry. */
  readonly total: number;
  /** Services that match the query. */
  readonly matched: number;
  readonly offset: number;
  readonly limit: number;
  /** The matched services from `offset`, at most `limit`, ordered by host (none last), registry, name. */
  readonly services: readonly ServiceRow[];
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
/** Documents of one host's YAML at most (a host with thousands of WorkloadEntries is cut). */
export const MAX_OBJECTS = 200;

/** The host of a service, memoised per service object (adapters replace objects on change). */
export function hostResolver(
  conversion: ReadonlyMap<string, ConversionOptions>,
  hostFor: (s: Service, o: ConversionOptions) => string,
): (s: Service) => string | undefined {
  const memo = new WeakMap<Service, string | null>();
  return (s) => {
    const hit = memo.get(s);
    if (hit !== undefined) return hit ?? undefined;
    const opts = conversion.get(s.registry);
    let host: string | null = null;
    if (opts !== undefined) {
      try {
        host = hostFor(s, opts);
      } catch {
        host = null; // reported by the pipeline (MB_NAME_INVALID); the row shows no host
      }
    }
    memo.set(s, host);
    return host ?? undefined;
  };
}

/**
 * `?q=` (case-insensitive substring of host, name or registry), `?registry=` (exact),
 * `?limit=` (default DEFAULT_LIMIT, at most MAX_LIMIT), `?offset=`. A bad number is
 * ADMIN_BAD_REQUEST.
 */
export function listServices(registries: readonly Registry[], hostOf: (s: Service) => string | undefined, query: URLSearchParams): ServiceList {
  const q = (query.get('q') ?? '').trim().toLowerCase();
  const only = query.get('registry');
  const limit = intParam(query, 'limit', DEFAULT_LIMIT, 1, MAX_LIMIT);
  const offset = intParam(query, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
  let total = 0;
  const matched: { s: Service; host: string | undefined }[] = [];
  for (const r of registries) {
    total += r.services().size;
    if (only !== null && only !== '' && r.name !== only) continue;
    for (const s of r.services().values()) {
      const host = hostOf(s);
      if (q === '' || (host?.includes(q) ?? false) || s.name.toLowerCase().includes(q) || s.registry.toLowerCase().includes(q)) matched.push({ s, host });
    }
  }
  // Services without a valid host last (their names are in the problems).
  matched.sort((a, b) => cmp(a.host ?? '\uffff', b.host ?? '\uffff') || cmp(a.s.registry, b.s.registry) || cmp(a.s.name, b.s.name));
  return { total, matched: matched.length, offset, limit, services: matched.slice(offset, offset + limit).map(({ s, host }) => row(s, host)) };
}

function row(s: Service, host: string | undefined): ServiceRow {
  return {
    host,
    registry: s.registry,
    kind: s.registryKind,
    name: s.name,
    namespace: s.namespace,
    endpoints: s.endpoints.length,
    healthy: s.endpoints.filter((e) => e.health !== Health.UNHEALTHY).length,
    ports: s.ports.map((p) => `${p.name}:${p.number}/${p.protocol}`),
  };
}

export interface HostObjects {
  readonly host: string;
  readonly published: boolean;
  /** Keys (`Kind/namespace/name`) of the objects, in rendering order. */
  readonly resources: readonly string[];
  /** More objects than MAX_OBJECTS: the rest are left out of `yaml`. */
  readonly truncated: boolean;
  /** The objects as multi-document YAML (the render sink's emitter), '' when none. */
  readonly yaml: string;
}

/**
 * `?host=H`: the ServiceEntries of the snapshot that list H, and the WorkloadEntries they select,
 * as YAML. Missing host is ADMIN_BAD_REQUEST.
 */
export function objectsForHost(snap: Snapshot | undefined, query: URLSearchParams): HostObjects {
  const host = query.get('host');
  if (host === null || host === '') throw new MeshbridgeError(ErrorCode.ADMIN_BAD_REQUEST, 'objects needs ?host=HOST');
  if (snap === undefined) return { host, published: false, resources: [], truncated: false, yaml: '' };
  const entries = [...(snap.kinds.get(ResourceKind.ServiceEntry)?.resources.values() ?? [])].filter((r) => hostsOf(r).includes(host));
  const out: IstioResource[] = [...entries];
  const selectors = entries.flatMap((se) => {
    const sel = selectorOf(se);
    return sel === undefined ? [] : [{ namespace: se.namespace, sel }];
  });
  if (selectors.length > 0) {
    for (const we of snap.kinds.get(ResourceKind.WorkloadEntry)?.resources.values() ?? []) {
      if (selectors.some((x) => x.namespace === we.namespace && Object.entries(x.sel).every(([k, v]) => we.labels[k] === v))) out.push(we);
    }
  }
  out.sort(compareResources);
  const shown = out.slice(0, MAX_OBJECTS);
  return { host, published: true, resources: out.map((r) => r.key), truncated: out.length > shown.length, yaml: shown.map(renderDocument).join('') };
}

function hostsOf(r: IstioResource): readonly string[] {
  const h = r.spec['hosts'];
  return Array.isArray(h) ? h.filter((x): x is string => typeof x === 'string') : [];
}

function selectorOf(r: IstioResource): Readonly<Record<string, string>> | undefined {
  const ws = r.spec['workloadSelector'] as { labels?: Record<string, string> } | undefined;
  const labels = ws?.labels;
  return labels !== undefined && Object.keys(labels).length > 0 ? labels : undefined;
}

function intParam(query: URLSearchParams, name: string, dflt: number, min: number, max: number): number {
  const v = query.get(name);
  if (v === null || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new MeshbridgeError(ErrorCode.ADMIN_BAD_REQUEST, `${name} must be an integer >= ${min}`);
  return Math.min(n, max);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
