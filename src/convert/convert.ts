import { isIP } from 'node:net';
import { ErrorCode, MeshbridgeError } from '../errors/index.js';
import { Health, serviceKey, type Endpoint, type Locality } from '../model/index.js';
import {
  ContentHashAnnotation,
  OwnershipLabel,
  ResourceKind,
  resourceKey,
  type IstioResource,
} from '../snapshot/index.js';
import { hashOf } from '../util/hash.js';
import { sortStrings } from '../util/sort.js';
import { sanitizeLabels, MAX_ENDPOINT_LABELS } from './labels.js';
import { isDnsSubdomain, isValidHost, labelValueFor, objectName, withHashSuffix } from './names.js';
import { EndpointForm, type ConversionOptions, type ConvertInput } from './options.js';
import { convertPorts, type OutPort } from './ports.js';

/** What conversion gives back for one host (the shape core/pipeline.ts expects). */
export interface ConvertOutput {
  /** The ServiceEntry first, then WorkloadEntries sorted by name. */
  readonly resources: readonly IstioResource[];
  /** What was dropped or rewritten, one error per kind of problem (with counts in details). */
  readonly problems: readonly MeshbridgeError[];
  /** Instance-metadata (and extraLabels) entries dropped because they are not valid labels. */
  readonly droppedLabels: number;
}

/** CRD limit: ServiceEntry.spec.endpoints maxItems. More endpoints switch to WorkloadEntry form. */
export const MAX_INLINE_ENDPOINTS = 4096;
/**
 * A host in WorkloadEntry form goes back to inline only at or below this share of the limit, so a
 * service hovering around the limit does not switch (thousands of writes) on every change.
 */
export const INLINE_RETURN_RATIO = 0.9;

/**
 * The endpoint form of a host with `endpoints` endpoints (after filtering). Pure.
 *
 * Contract: `workloadEntry` when the registry's `form` says so; else above `limit` (default
 * MAX_INLINE_ENDPOINTS); else, for a host last published in WorkloadEntry form, it stays so
 * while it has more than floor(limit x INLINE_RETURN_RATIO) endpoints (3,686 of 4,096);
 * else inline.
 */
export function formFor(endpoints: number, configured: EndpointForm, previous: EndpointForm | undefined, limit: number = MAX_INLINE_ENDPOINTS): EndpointForm {
  if (configured === EndpointForm.WORKLOAD_ENTRY || endpoints > limit) return EndpointForm.WORKLOAD_ENTRY;
  if (previous === EndpointForm.WORKLOAD_ENTRY && endpoints > Math.floor(limit * INLINE_RETURN_RATIO)) return EndpointForm.WORKLOAD_ENTRY;
  return EndpointForm.INLINE;
}

/** The form `resources` (one host's conversion output) are in. */
export function formOf(resources: readonly IstioResource[]): EndpointForm | undefined {
  const se = resources[0];
  if (se === undefined) return undefined;
  return se.spec['workloadSelector'] !== undefined ? EndpointForm.WORKLOAD_ENTRY : EndpointForm.INLINE;
}

/** CRD limit: endpoint / WorkloadEntry `ports` maxProperties. */
export const MAX_ENDPOINT_PORTS = 128;
/** Largest endpoint weight the CRD accepts (uint32). */
export const MAX_WEIGHT = 4294967295;

/** WorkloadEntry spec label (and metadata label) the ServiceEntry's workloadSelector matches. */
export const SELECTOR_LABEL = OwnershipLabel.SERVICE_ENTRY;
/** Annotations besides the content hash. */
export const Annotation = {
  /** `registry/namespace/name` of the primary service (the registry-native name, unsanitised). */
  SOURCE: 'meshbridge.io/source',
  /** Comma-separated registries contributing endpoints, when more than one. */
  ORIGINS: 'meshbridge.io/origins',
} as const;

export const Resolution = { STATIC: 'STATIC', DNS: 'DNS' } as const;
export type Resolution = (typeof Resolution)[keyof typeof Resolution];

/** One endpoint after filtering, before it becomes an inline endpoint or a WorkloadEntry. */
interface OutEndpoint {
  readonly address: string;
  readonly isIp: boolean;
  /** Published port name -> endpoint port, only where it differs from targetPort/number. */
  readonly ports: Readonly<Record<string, number>>;
  /** Published port name -> endpoint port for every port (identity of the endpoint). */
  readonly identity: string;
  readonly source: Endpoint;
  readonly weight: number | undefined;
  readonly locality: string | undefined;
  readonly network: string | undefined;
}

/** Problems of one host, counted by kind so 5,000 bad endpoints give one report, not 5,000. */
class Problems {
  readonly list: MeshbridgeError[] = [];
  private readonly counts = new Map<string, { code: ErrorCode; message: string; count: number; examples: string[] }>();
  constructor(private readonly where: string) {}

  add(e: MeshbridgeError): void {
    this.list.push(e);
  }

  /** Counts one occurrence of `kind`; `message` describes the kind, `example` this occurrence. */
  count(code: ErrorCode, kind: string, message: string, example: string): void {
    let c = this.counts.get(kind);
    if (c === undefined) this.counts.set(kind, (c = { code, message, count: 0, examples: [] }));
    c.count++;
    if (c.examples.length < 5) c.examples.push(example);
  }

  done(): MeshbridgeError[] {
    for (const c of this.counts.values()) {
      this.list.push(
        new MeshbridgeError(c.code, `${c.message} (${c.count}: ${c.examples.join(', ')}${c.count > c.examples.length ? ', ...' : ''})`, {
          path: this.where,
          details: { count: c.count, examples: c.examples },
        }),
      );
    }
    return this.list;
  }
}

/**
 * Normalises an endpoint address: brackets around IPv6 removed, DNS names lowercased. Returns
 * undefined for what is neither an IP address nor a DNS name (IPv6 zone ids included).
 */
export function normaliseAddress(raw: string): { address: string; isIp: boolean } | undefined {
  let a = raw.trim();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  if (a.includes('%')) return undefined;
  const v = isIP(a);
  if (v === 4) return { address: a, isIp: true };
  if (v === 6) return { address: a.toLowerCase(), isIp: true };
  const lower = a.toLowerCase();
  return isValidHost(lower) ? { address: lower, isIp: false } : undefined;
}

/** Istio's locality string `region/zone/subzone`, trailing empty parts left out. */
export function localityString(l: Locality | undefined): string | undefined {
  if (l === undefined) return undefined;
  const region = l.region ?? '';
  const zone = l.zone ?? '';
  const subzone = l.subzone ?? '';
  if (subzone !== '') return `${region}/${zone}/${subzone}`;
  if (zone !== '') return `${region}/${zone}`;
  return region !== '' ? region : undefined;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The effective port of every published port for `e` (`all[i]` for `ports[i]`: the endpoint's
 * number, else targetPort, else the port number) and the overrides that differ from the fallback.
 */
function publishedPortsOf(e: Endpoint, ports: readonly OutPort[], p: Problems): { all: number[]; diff: Array<[string, number]> } {
  const all: number[] = [];
  const diff: Array<[string, number]> = [];
  for (const port of ports) {
    const src = port.sourceName;
    const n = src !== undefined && Object.hasOwn(e.ports, src) ? e.ports[src] : undefined;
    const fallback = port.targetPort ?? port.number;
    if (n === undefined) {
      all.push(fallback);
      continue;
    }
    if (!(Number.isInteger(n) && n >= 1 && n <= 65535)) {
      p.count(ErrorCode.ENTRY_BAD_PORT, 'bad-endpoint-port', 'endpoint port numbers outside 1-65535 ignored (the service port applies)', `${e.address}:${port.name}=${String(n)}`);
      all.push(fallback);
      continue;
    }
    all.push(n);
    if (n !== fallback) diff.push([port.name, n]);
  }
  if (diff.length > MAX_ENDPOINT_PORTS) {
    p.count(ErrorCode.LIMIT_EXCEEDED, 'endpoint-ports', `endpoint port overrides beyond ${MAX_ENDPOINT_PORTS} per endpoint dropped (those ports use the service port)`, e.address);
    diff.length = MAX_ENDPOINT_PORTS;
  }
  return { all, diff };
}

function weightOf(e: Endpoint, p: Problems): number | undefined | null {
  const w = e.weight;
  if (w === undefined) return undefined;
  if (!Number.isFinite(w) || w < 0) {
    p.count(ErrorCode.ENTRY_INVALID, 'bad-weight', 'endpoint weights that are not numbers >= 0 ignored', `${e.address}=${String(w)}`);
    return undefined;
  }
  if (w === 0) return null; // drained: Istio has no zero weight (0 means "default")
  return Math.min(MAX_WEIGHT, Math.max(1, Math.round(w)));
}

function hasSlash(x: string | undefined): boolean {
  return x !== undefined && x.includes('/');
}

function localityOf(e: Endpoint, p: Problems): string | undefined {
  const l = e.locality;
  if (l !== undefined && (hasSlash(l.region) || hasSlash(l.zone) || hasSlash(l.subzone))) {
    p.count(ErrorCode.ENTRY_INVALID, 'bad-locality', 'endpoint localities with "/" inside a part ignored', e.address);
    return undefined;
  }
  return localityString(l);
}

/**
 * Filters and normalises the endpoints of one host. Contract: unhealthy endpoints are left out
 * unless includeUnhealthy; weight-0 endpoints are left out (drained); unparseable addresses are
 * left out with a problem; duplicates (same address and effective ports) keep the first in input
 * (precedence) order. The result is sorted by address, then identity.
 */
function filterEndpoints(input: ConvertInput, ports: readonly OutPort[], o: ConversionOptions, p: Problems): OutEndpoint[] {
  const seen = new Set<string>();
  const out: OutEndpoint[] = [];
  // The identity's port part is stableStringify of {name: effective port}: the same text, written
  // directly in name order (names are unique; values are integers).
  const order = ports
    .map((x, i) => ({ i, name: x.name, key: JSON.stringify(x.name) }))
    .sort((a, b) => cmp(a.name, b.name));
  for (const e of input.endpoints) {
    if (e.health === Health.UNHEALTHY && !o.includeUnhealthy) continue;
    const addr = typeof e.address === 'string' ? normaliseAddress(e.address) : undefined;
    if (addr === undefined) {
      p.count(ErrorCode.ENTRY_BAD_ADDRESS, 'bad-address', 'endpoints whose address is not an IP address or DNS name left out', JSON.stringify(e.address));
      continue;
    }
    const weight = weightOf(e, p);
    if (weight === null) continue;
    const { all, diff } = publishedPortsOf(e, ports, p);
    let identity = `${addr.address}|{`;
    for (let k = 0; k < order.length; k++) {
      const o = order[k] as { i: number; name: string; key: string };
      identity += `${k > 0 ? ',' : ''}${o.key}:${String(all[o.i])}`;
    }
    identity += '}';
    if (seen.has(identity)) continue;
    seen.add(identity);
    const locality = localityOf(e, p);
    const network = e.network !== undefined && e.network.length > 0 ? e.network : o.network;
    out.push({
      address: addr.address,
      isIp: addr.isIp,
      ports: Object.fromEntries(diff),
      identity,
      source: e,
      weight,
      locality,
      network: network !== undefined && network.length > 0 ? network : undefined,
    });
  }
  out.sort((a, b) => cmp(a.address, b.address) || cmp(a.identity, b.identity));
  return out;
}

/** Ownership labels (win over extraLabels) plus the valid extraLabels. */
function ownershipLabels(input: ConvertInput, o: ConversionOptions, p: Problems): { labels: Record<string, string>; dropped: number } {
  const extra = sanitizeLabels(o.extraLabels);
  for (const d of extra.droppedKeys) {
    p.count(ErrorCode.LABEL_DROPPED, 'extra-labels', 'extraLabels that are not valid Kubernetes labels dropped', `${d.key} (${d.reason})`);
  }
  const labels: Record<string, string> = {
    ...extra.labels,
    [OwnershipLabel.MANAGED_BY]: OwnershipLabel.MANAGED_BY_VALUE,
    [OwnershipLabel.REGISTRY]: labelValueFor(input.primary.registry),
  };
  return { labels: sortedRecord(labels), dropped: extra.dropped };
}

/** A copy of `r` with its own enumerable keys inserted in sorted order. */
function sortedRecord<T>(r: Readonly<Record<string, T>>): Record<string, T> {
  return sortedRecordWith(r, undefined, undefined as T);
}

/**
 * `sortedRecord({ ...r, [key]: value })` without the intermediate object: `key` (when given) is
 * added or overrides, every key inserted in sorted order.
 */
function sortedRecordWith<T>(r: Readonly<Record<string, T>>, key: string | undefined, value: T): Record<string, T> {
  const keys = Object.keys(r);
  if (key !== undefined && !keys.includes(key)) keys.push(key);
  const out: Record<string, T> = {};
  for (const k of sortStrings(keys)) {
    const v = k === key ? value : (r[k] as T);
    // A data property even for "__proto__" (plain assignment would set the prototype).
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    else out[k] = v;
  }
  return out;
}

/** Builds the resource with its content-hash version and annotation. */
export function buildResource(
  kind: ResourceKind,
  namespace: string,
  name: string,
  labels: Record<string, string>,
  annotations: Record<string, string>,
  spec: Record<string, unknown>,
): IstioResource {
  const version = hashOf({ labels, annotations, spec });
  return {
    kind,
    namespace,
    name,
    key: resourceKey(kind, namespace, name),
    labels,
    annotations: sortedRecordWith(annotations, ContentHashAnnotation, version),
    spec,
    version,
  };
}

/** Endpoint fields shared by inline endpoints and WorkloadEntry specs, in CRD field order. */
function endpointSpec(e: OutEndpoint, labels: Readonly<Record<string, string>>): Record<string, unknown> {
  const out: Record<string, unknown> = { address: e.address };
  if (hasKeys(e.ports)) out['ports'] = e.ports;
  if (hasKeys(labels)) out['labels'] = labels;
  if (e.network !== undefined) out['network'] = e.network;
  if (e.locality !== undefined) out['locality'] = e.locality;
  if (e.weight !== undefined) out['weight'] = e.weight;
  return out;
}

/** True when `r` has an own enumerable string key (what `Object.keys(r).length > 0` says). */
function hasKeys(r: object): boolean {
  for (const k in r) if (Object.hasOwn(r, k)) return true;
  return false;
}

/** A readable, address-derived part of a WorkloadEntry name. */
function addressSlug(address: string): string {
  return address.replace(/[^a-z0-9]+/g, '-');
}

/**
 * Converts one host to Istio resources: a ServiceEntry (`networking.istio.io/v1`, namespace and
 * exportTo from `options`) with inline endpoints, or, in WorkloadEntry form, a ServiceEntry with a
 * workloadSelector plus one WorkloadEntry per endpoint in the same namespace.
 *
 * Contract:
 * - Pure: no I/O, clock or logging; equal input and options give deep-equal output, whatever the
 *   order of ports, endpoints and map keys in the input (everything is sorted).
 * - Never throws for bad data: what cannot be published is dropped and reported in `problems`
 *   (one error per kind, with a count) and, for labels, counted in `droppedLabels`. An invalid
 *   `input.host` (not from hostFor) gives no resources and one MB_NAME_INVALID problem.
 * - WorkloadEntry form is used when `options.form` says so or when more than 4,096 endpoints
 *   remain after filtering (the CRD's inline limit); a host whose `previousForm` was WorkloadEntry
 *   returns to inline only at 3,686 (90%) or fewer (formFor: hysteresis, the pipeline passes
 *   the previous form in, so conversion stays pure).
 * - resolution is STATIC, or DNS as soon as one published endpoint address is a DNS name
 *   (istiod rejects STATIC with non-IP addresses). location is always MESH_INTERNAL.
 * - Every object carries the ownership labels, `extraLabels`, the source annotation and the
 *   content-hash annotation; `version` is the hash of labels, annotations (without the hash) and
 *   spec, so unchanged content keeps its version across runs and restarts.
 * - Names: the ServiceEntry is `objectName(host)`; a WorkloadEntry is
 *   `<host>-<address>-<hash of host, address and effective ports>`, shortened to 253 characters
 *   with the hash kept: unique per endpoint and stable across runs.
 */
export function convert(input: ConvertInput, options: ConversionOptions): ConvertOutput {
  const where = `${serviceKey(input.primary)} (host ${input.host})`;
  const p = new Problems(where);
  if (!isValidHost(input.host)) {
    p.add(new MeshbridgeError(ErrorCode.NAME_INVALID, `host "${input.host}" is not a valid DNS host; nothing published`, { path: serviceKey(input.primary) }));
    return { resources: [], problems: p.done(), droppedLabels: 0 };
  }
  const portsResult = convertPorts(input.ports, options, where);
  for (const e of portsResult.problems) p.add(e);
  const ports = portsResult.ports;
  const endpoints = filterEndpoints(input, ports, options, p);
  const limit = Math.min(options.maxInlineEndpoints ?? MAX_INLINE_ENDPOINTS, MAX_INLINE_ENDPOINTS);
  const form = formFor(endpoints.length, options.form, input.previousForm, limit);
  const resolution = endpoints.some((e) => !e.isIp) ? Resolution.DNS : Resolution.STATIC;

  const owner = ownershipLabels(input, options, p);
  let droppedLabels = owner.dropped;
  const annotations: Record<string, string> = { [Annotation.SOURCE]: serviceKey(input.primary) };
  if (input.origins.length > 1) annotations[Annotation.ORIGINS] = input.origins.join(',');

  const seName = objectName(input.host);
  const selectorValue = labelValueFor(seName);
  // WorkloadEntry spec labels hold the selector label too: one fewer for instance metadata.
  const maxLabels = form === EndpointForm.WORKLOAD_ENTRY ? MAX_ENDPOINT_LABELS - 1 : MAX_ENDPOINT_LABELS;
  const endpointLabels = endpoints.map((e) => {
    const s = sanitizeLabels(e.source.labels, maxLabels);
    droppedLabels += s.dropped;
    for (const d of s.droppedKeys) {
      p.count(ErrorCode.LABEL_DROPPED, 'label', 'instance metadata that is not a valid Kubernetes label dropped', `${e.address}:${d.key} (${d.reason})`);
    }
    return s.labels;
  });

  const exportTo = [...new Set(options.exportTo)].sort();
  const spec: Record<string, unknown> = {
    hosts: [input.host],
    ports: ports.map((x) => ({
      number: x.number,
      name: x.name,
      protocol: x.protocol,
      ...(x.targetPort !== undefined ? { targetPort: x.targetPort } : {}),
    })),
    location: 'MESH_INTERNAL',
    resolution,
    ...(exportTo.length > 0 ? { exportTo } : {}),
  };
  if (form === EndpointForm.WORKLOAD_ENTRY) {
    spec['workloadSelector'] = { labels: { [SELECTOR_LABEL]: selectorValue } };
  } else if (endpoints.length > 0) {
    spec['endpoints'] = endpoints.map((e, i) => endpointSpec(e, endpointLabels[i] ?? {}));
  }
  const ns = targetNamespace(input.primary.namespace, options);
  const resources: IstioResource[] = [buildResource(ResourceKind.ServiceEntry, ns, seName, owner.labels, annotations, spec)];

  if (form === EndpointForm.WORKLOAD_ENTRY) {
    const weLabels = sortedRecordWith(owner.labels, SELECTOR_LABEL, selectorValue);
    const wes = endpoints.map((e, i) => {
      const name = withHashSuffix(`${input.host}-${addressSlug(e.address)}`, `${input.host}|${e.identity}`);
      const labels = sortedRecordWith(endpointLabels[i] ?? {}, SELECTOR_LABEL, selectorValue);
      return buildResource(ResourceKind.WorkloadEntry, ns, name, weLabels, annotations, endpointSpec(e, labels));
    });
    wes.sort((a, b) => cmp(a.name, b.name));
    resources.push(...wes);
  }
  if (!isDnsSubdomain(seName)) {
    p.add(new MeshbridgeError(ErrorCode.INTERNAL, `object name "${seName}" is not DNS-1123`, { path: where }));
  }
  return { resources, problems: p.done(), droppedLabels };
}

/** Where a service's objects go: its registry namespace mapped by `namespaceMap`, else `namespace`. */
export function targetNamespace(registryNamespace: string | undefined, options: ConversionOptions): string {
  if (registryNamespace === undefined) return options.namespace;
  return options.namespaceMap[registryNamespace] ?? options.namespace;
}
