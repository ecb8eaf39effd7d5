import { isIP } from 'node:net';
import { ContentHashAnnotation, ResourceKind, type IstioResource } from '../snapshot/index.js';
import { contentHash } from '../util/hash.js';
import { buildResource } from './resource.js';
import { objectName } from './names.js';

/*
 * Listener addresses (docs/mapping.md#listener-addresses, ADR 0013).
 *
 * A sidecar's outbound TCP listener is keyed by a ServiceEntry address and port; HTTP virtual
 * hosts list the addresses (with and without the port) as domains. Registry clients dial the
 * provider's ip:port they discovered themselves, so the mesh governs that traffic only when a
 * listener exists for it, and routes it right only when the cluster behind that listener holds
 * endpoints that all serve what the client wanted. These pure functions describe what one
 * converted host claims (its listener keys) and build the objects that carry the addresses; the
 * stateful planner (core/address-index.ts) decides who gets which address.
 */

export { AddressMode } from './address-mode.js';

/** CRD limit: ServiceEntry.spec.addresses maxItems. */
export const MAX_ADDRESSES = 256;

/**
 * Addresses Meshbridge puts on one ServiceEntry, by what istiod does with them (checked from the
 * data plane, test/istiod/dataplane-routing-*):
 * - istiod makes one internal Service per (host, address), each with every endpoint, so EDS lists
 *   every endpoint once per address: an entry with A addresses and E endpoints costs A x E. At
 *   most 8 per TCP entry keeps that linear in the endpoints (the rest go to chunk entries).
 * - For HTTP ports (HTTP, HTTP2, GRPC) istiod builds one virtual host per host and port, whose
 *   domains hold the address of the first of those Services only: any further address would pass
 *   through. So an entry with an HTTP port carries one address; every other provider address gets
 *   a chunk entry of its own.
 */
export const MAX_TCP_ENTRY_ADDRESSES = 8;

/** How many addresses one ServiceEntry with these port protocols may carry. */
export function entryAddressLimit(protocols: Iterable<string>): number {
  for (const p of protocols) if (isHttpProtocol(p)) return 1;
  return MAX_TCP_ENTRY_ADDRESSES;
}

/** Protocols istiod serves through an HTTP connection manager (routes by authority). */
const HTTP_PROTOCOLS: ReadonlySet<string> = new Set(['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB']);

/** True for protocols istiod gives an HTTP route (virtual hosts by authority), false for TCP proxying. */
export function isHttpProtocol(protocol: string): boolean {
  return HTTP_PROTOCOLS.has(protocol.toUpperCase());
}

export interface ClaimPort {
  readonly number: number;
  readonly protocol: string;
}

/** Endpoint fields a shared ServiceEntry copies for one ip:port (first owner's endpoint). */
export interface KeyMeta {
  readonly network?: string;
  readonly locality?: string;
  /** The endpoint's identity (docs/identity.md): the shared entry's cluster verifies it too. */
  readonly serviceAccount?: string;
}

/**
 * What one converted host claims on the data plane.
 *
 * Contract: `keys` are `ip|port` for every IP endpoint (inline or WorkloadEntry) whose effective
 * port for a ServiceEntry port equals that port's number (only then does a listener at ip:port
 * catch what a client dials); DNS-name endpoints claim nothing. Sorted, unique.
 */
export interface ListenerClaim {
  readonly host: string;
  readonly namespace: string;
  readonly ports: readonly ClaimPort[];
  readonly keys: readonly string[];
  /** Per key: what a shared entry copies (undefined: its endpoint has none of those fields) and the endpoint's IP string. */
  readonly meta: KeyMetas;
  /** A port istiod proxies at L4 (gets a listener per address, or the wildcard one). */
  readonly hasTcpPort: boolean;
  readonly exportTo: readonly string[] | undefined;
  /** The ServiceEntry's labels (ownership and extra labels): a shared entry takes its first owner's. */
  readonly labels: Readonly<Record<string, string>>;
}

export function listenerKey(ip: string, port: number): string {
  return `${ip}|${port}`;
}

/** Splits a listener key (`ip|port`). */
export function splitKey(key: string): { ip: string; port: number } {
  const bar = key.lastIndexOf('|');
  return { ip: key.slice(0, bar), port: Number(key.slice(bar + 1)) };
}

interface SpecPort {
  number?: unknown;
  name?: unknown;
  protocol?: unknown;
  targetPort?: unknown;
}
interface SpecEndpoint {
  address?: unknown;
  ports?: Record<string, unknown>;
  network?: unknown;
  locality?: unknown;
  serviceAccount?: unknown;
}

/**
 * What a claim knows of each of its keys, aligned with its sorted `keys` (a lookup is a binary
 * search): the endpoint's metadata a shared entry copies, and the key's IP as the endpoint's own
 * address string. Arrays of shared objects rather than a Map per claim: at 10,000 hosts x 10
 * endpoints the Maps and their entries cost ~10 MB of heap, the arrays ~1 MB. The IPs are the
 * endpoints' strings so that the address index and the ServiceEntries built from it hold no copies
 * (an IP sliced out of `ip|port` is a fresh string: ~6 MB for 200,000 of them).
 */
export class KeyMetas {
  private readonly keys: readonly string[];
  private readonly metas: readonly (KeyMeta | undefined)[];
  private readonly ips: readonly string[];

  /**
   * `metas[i]` and `ips[i]` belong to `keys[i]`; `keys` sorted; `metas` empty when no key has any;
   * `ips` empty when the IPs are to be read from the keys.
   */
  constructor(keys: readonly string[], metas: readonly (KeyMeta | undefined)[], ips: readonly string[] = []) {
    this.keys = keys;
    this.metas = metas;
    this.ips = ips;
  }

  get(key: string): KeyMeta | undefined {
    if (this.metas.length === 0) return undefined;
    const i = this.indexOf(key);
    return i < 0 ? undefined : this.metas[i];
  }

  /** True when `key` is one of the keys. */
  has(key: string): boolean {
    return this.indexOf(key) >= 0;
  }

  /** The IP of `keys[i]` (the endpoint's string when known). */
  ipAt(i: number): string {
    return this.ips[i] ?? splitKey(this.keys[i] as string).ip;
  }

  /** The IP of `key` (the endpoint's string when `key` is one of the keys). */
  ip(key: string): string {
    const i = this.ips.length === 0 ? -1 : this.indexOf(key);
    return i < 0 ? splitKey(key).ip : (this.ips[i] as string);
  }

  private indexOf(key: string): number {
    let lo = 0;
    let hi = this.keys.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const k = this.keys[mid] as string;
      if (k === key) return mid;
      if (k < key) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}

/** Interned metadata: 100,000 endpoints in a few zones share a few frozen objects. */
const keyMetaTable = new Map<string, KeyMeta>();
const KEY_META_TABLE_MAX = 65_536;

/** What a shared entry copies of endpoint `e` (undefined: nothing); one shared object per combination. */
function keyMetaOf(e: SpecEndpoint): KeyMeta | undefined {
  const network = typeof e.network === 'string' ? e.network : undefined;
  const locality = typeof e.locality === 'string' ? e.locality : undefined;
  const serviceAccount = typeof e.serviceAccount === 'string' ? e.serviceAccount : undefined;
  if (network === undefined && locality === undefined && serviceAccount === undefined) return undefined;
  const id = `${network ?? ''}\0${locality ?? ''}\0${serviceAccount ?? ''}`;
  let m = keyMetaTable.get(id);
  if (m === undefined) {
    m = Object.freeze({
      ...(network !== undefined ? { network } : {}),
      ...(locality !== undefined ? { locality } : {}),
      ...(serviceAccount !== undefined ? { serviceAccount } : {}),
    });
    // A bound, not a cache policy: past it (a fleet of unusual shapes) objects are not shared.
    if (keyMetaTable.size < KEY_META_TABLE_MAX) keyMetaTable.set(id, m);
  }
  return m;
}

/** What claimOf learns of one key: its endpoint's address string and metadata. */
interface KeyFact {
  readonly ip: string;
  readonly meta: KeyMeta | undefined;
}

/**
 * The claim of one host's converted resources (the ServiceEntry first, then its WorkloadEntries,
 * as convert() returns them); undefined when there is no ServiceEntry.
 */
export function claimOf(host: string, resources: readonly IstioResource[]): ListenerClaim | undefined {
  const se = resources[0];
  if (se === undefined || se.kind !== ResourceKind.ServiceEntry) return undefined;
  const spec = se.spec as { ports?: SpecPort[]; endpoints?: SpecEndpoint[]; exportTo?: string[] };
  const ports: Array<ClaimPort & { name: string; fallback: number }> = [];
  for (const p of spec.ports ?? []) {
    if (typeof p.number !== 'number' || typeof p.name !== 'string') continue;
    const protocol = typeof p.protocol === 'string' ? p.protocol : 'TCP';
    ports.push({ number: p.number, protocol, name: p.name, fallback: typeof p.targetPort === 'number' ? p.targetPort : p.number });
  }
  const endpoints: SpecEndpoint[] = spec.endpoints ?? [];
  if (spec.endpoints === undefined) {
    for (let i = 1; i < resources.length; i++) {
      const r = resources[i] as IstioResource;
      if (r.kind === ResourceKind.WorkloadEntry) endpoints.push(r.spec);
    }
  }
  // key -> the endpoint's address string and its metadata (the first endpoint at that key).
  const found = new Map<string, KeyFact>();
  let anyMeta = false;
  for (const e of endpoints) {
    if (typeof e.address !== 'string' || isIP(e.address) === 0) continue;
    for (const p of ports) {
      const override = e.ports?.[p.name];
      const effective = typeof override === 'number' ? override : p.fallback;
      if (effective !== p.number) continue;
      const key = listenerKey(e.address, p.number);
      if (found.has(key)) continue;
      const m = keyMetaOf(e);
      if (m !== undefined) anyMeta = true;
      found.set(key, { ip: e.address, meta: m });
    }
  }
  const sorted = [...found.keys()].sort();
  const facts = sorted.map((k) => found.get(k) as KeyFact);
  return {
    host,
    namespace: se.namespace,
    ports: ports.map((p) => ({ number: p.number, protocol: p.protocol })),
    keys: sorted,
    meta: new KeyMetas(sorted, anyMeta ? facts.map((f) => f.meta) : [], facts.map((f) => f.ip)),
    hasTcpPort: ports.some((p) => !isHttpProtocol(p.protocol)),
    exportTo: spec.exportTo,
    labels: se.labels,
  };
}

/** The CRD's field order for a ServiceEntry spec (so written objects read naturally). */
const SPEC_ORDER = ['hosts', 'addresses', 'ports', 'location', 'resolution', 'endpoints', 'workloadSelector', 'exportTo', 'subjectAltNames'];

/**
 * `resources` with `addresses` set on the ServiceEntry; the same array when `addresses` is empty.
 * Pure: equal input gives deep-equal output. The entry's version is the content hash of its
 * version without addresses and the addresses (a function of the content, as every version, at
 * the cost of one short hash rather than re-hashing the whole spec).
 */
export function withAddresses(resources: readonly IstioResource[], addresses: readonly string[]): readonly IstioResource[] {
  const se = resources[0];
  if (addresses.length === 0 || se === undefined || se.kind !== ResourceKind.ServiceEntry) return resources;
  const spec: Record<string, unknown> = {};
  const src = { ...se.spec, addresses: [...addresses] } as Record<string, unknown>;
  for (const k of SPEC_ORDER) if (src[k] !== undefined) spec[k] = src[k];
  for (const k of Object.keys(src)) if (!(k in spec)) spec[k] = src[k];
  const version = contentHash(`${se.version}\naddresses=${addresses.join(',')}`);
  const next: IstioResource = { ...se, spec, version, annotations: { ...se.annotations, [ContentHashAnnotation]: version } };
  return [next, ...resources.slice(1)];
}

/** Annotation on a shared ServiceEntry: the hosts whose providers share its addresses. */
export const SERVES_ANNOTATION = 'meshbridge.io/serves';
/** Label on a shared ServiceEntry (so `kubectl get se -l meshbridge.io/shared=true` lists them). */
export const SHARED_LABEL = 'meshbridge.io/shared';
/** Domain under which shared ServiceEntries get their hosts. */
export const SHARED_DOMAIN = 'shared.meshbridge.internal';
const MAX_SERVES_LISTED = 50;

export interface SharedGroupInput {
  /** The group's identity: `port|owner,owner,...` (owners sorted). */
  readonly signature: string;
  readonly port: number;
  readonly protocol: string;
  /** Hosts whose providers listen on every key of the group, sorted. */
  readonly owners: readonly string[];
  /** `ip|port` keys, sorted; at most MAX_ADDRESSES (the planner splits larger groups). */
  readonly keys: readonly string[];
  /** Chunk number when the planner split the group (0 for the first). */
  readonly chunk: number;
  readonly namespace: string;
  readonly exportTo: readonly string[] | undefined;
  /** Labels of the first owner's ServiceEntry (ownership and extra labels). */
  readonly labels: Readonly<Record<string, string>>;
  /** The first owner's key facts (every key of the group is one of its keys). */
  readonly meta: KeyMetas;
}

/** Host of a shared ServiceEntry: `p<port>-<hash of the signature>[-<chunk>].shared.meshbridge.internal`. */
export function sharedHost(signature: string, port: number, chunk: number): string {
  return `p${port}-${contentHash(signature).slice(0, 12)}${chunk > 0 ? `-${chunk}` : ''}.${SHARED_DOMAIN}`;
}

/**
 * The shared ServiceEntry of one group: addresses = the group's IPs, one port, one endpoint per
 * key. Its cluster holds only endpoints that serve every owner, so a connection to any of its
 * addresses reaches a provider of what the client dialled, whichever owner that was.
 */
export function sharedServiceEntry(g: SharedGroupInput): IstioResource {
  const host = sharedHost(g.signature, g.port, g.chunk);
  const ips = g.keys.map((k) => g.meta.ip(k));
  const endpoints = g.keys.map((k, i) => {
    const ip = ips[i] as string;
    const m = g.meta.get(k);
    const e: Record<string, unknown> = { address: ip };
    if (m?.network !== undefined) e['network'] = m.network;
    if (m?.locality !== undefined) e['locality'] = m.locality;
    if (m?.serviceAccount !== undefined) e['serviceAccount'] = m.serviceAccount;
    return e;
  });
  const name = g.protocol.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const spec: Record<string, unknown> = {
    hosts: [host],
    addresses: ips,
    ports: [{ number: g.port, name: `${name}-${g.port}`, protocol: g.protocol }],
    location: 'MESH_INTERNAL',
    resolution: 'STATIC',
    endpoints,
    ...(g.exportTo !== undefined && g.exportTo.length > 0 ? { exportTo: [...g.exportTo] } : {}),
  };
  const listed = g.owners.slice(0, MAX_SERVES_LISTED).join(',');
  const serves = g.owners.length > MAX_SERVES_LISTED ? `${listed},... (${g.owners.length} hosts)` : listed;
  const labels: Record<string, string> = { ...g.labels, [SHARED_LABEL]: 'true' };
  const sorted: Record<string, string> = {};
  for (const k of Object.keys(labels).sort()) sorted[k] = labels[k] as string;
  return buildResource(ResourceKind.ServiceEntry, g.namespace, objectName(host), sorted, { [SERVES_ANNOTATION]: serves }, spec);
}

/** One place on a sidecar's outbound side a ServiceEntry takes (footprintOf). */
export interface Footprint {
  /** a: a listener (TCP) or virtual-host domain (HTTP) for an address; d: an HTTP virtual-host domain for a host; w: the wildcard listener of the port. */
  readonly kind: 'a' | 'd' | 'w';
  readonly port: number;
  /** The address (a) or host (d), as the entry spells it (the same string object); absent for w. */
  readonly what?: string;
  /** w only: a TCP service without addresses (the wildcard 0.0.0.0 listener). */
  readonly tcpWildcard?: boolean;
  /** w only: an HTTP service (the wildcard HTTP listener, which HTTP services share). */
  readonly httpWildcard?: boolean;
}

/**
 * What one ServiceEntry takes on a sidecar's outbound side, as istiod builds it (the parts two
 * entries can fight over): per port, an `a` footprint for every address, for an HTTP port a `d`
 * footprint for every host and an HTTP `w`, for a TCP port without addresses a TCP `w`.
 * Two footprints of different ServiceEntries on one `a` or `d` (kind, port, what), two TCP `w` on
 * one port, or a TCP and an HTTP `w` on one port are conflicts: istiod keeps one (oldest first)
 * and drops the rest. No strings are built: at 100,000 addresses `a|ip|port` keys cost ~7 MB.
 */
export function footprintOf(se: IstioResource): Footprint[] {
  if (se.kind !== ResourceKind.ServiceEntry) return [];
  const spec = se.spec as { hosts?: unknown[]; addresses?: unknown[]; ports?: SpecPort[] };
  const addresses = (spec.addresses ?? []).filter((a): a is string => typeof a === 'string');
  const hosts = (spec.hosts ?? []).filter((h): h is string => typeof h === 'string');
  const out: Footprint[] = [];
  for (const p of spec.ports ?? []) {
    if (typeof p.number !== 'number') continue;
    const port = p.number;
    const protocol = typeof p.protocol === 'string' ? p.protocol : 'TCP';
    if (protocol.toUpperCase() === 'UDP') continue;
    for (const a of addresses) out.push({ kind: 'a', port, what: a });
    if (isHttpProtocol(protocol)) {
      for (const h of hosts) out.push({ kind: 'd', port, what: h });
      out.push({ kind: 'w', port, httpWildcard: true });
    } else if (addresses.length === 0) out.push({ kind: 'w', port, tcpWildcard: true });
  }
  return out;
}
