/**
 * One host's endpoints, filtered and normalised for publishing (docs/mapping.md): addresses,
 * effective ports, weights, localities and networks, each bad value dropped with a counted
 * problem. Pure; filterEndpoints states the contract of the whole.
 */
import { isIP } from 'node:net';
import { ErrorCode } from '../errors/index.js';
import { Health, type Endpoint, type Locality } from '../model/index.js';
import { isValidHost } from './names.js';
import type { ConversionOptions, ConvertInput } from './options.js';
import type { OutPort } from './ports.js';
import type { Problems } from './problems.js';
import { compareStrings } from '../util/sort.js';

/** CRD limit: endpoint / WorkloadEntry `ports` maxProperties. */
export const MAX_ENDPOINT_PORTS = 128;
/** Largest endpoint weight the CRD accepts (uint32). */
export const MAX_WEIGHT = 4294967295;

/** One endpoint after filtering, before it becomes an inline endpoint or a WorkloadEntry. */
export interface OutEndpoint {
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

/**
 * Normalises an endpoint address: brackets around IPv6 removed, DNS names lowercased. Returns
 * undefined for what is neither an IP address nor a DNS name (IPv6 zone ids included).
 */
export function endpointAddress(raw: string): { address: string; isIp: boolean } | undefined {
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

/** Orders strings by UTF-16 code units (what `Array.prototype.sort()` gives strings). */

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
  const s = localityString(l);
  return s === undefined ? undefined : internLocality(s);
}

/** Interned locality strings: 100,000 endpoints in a few zones hold a few strings, not one each. */
const localities = new Map<string, string>();
const MAX_LOCALITIES = 4096;

function internLocality(s: string): string {
  const hit = localities.get(s);
  if (hit !== undefined) return hit;
  if (localities.size >= MAX_LOCALITIES) localities.clear();
  localities.set(s, s);
  return s;
}

/**
 * Filters and normalises the endpoints of one host. Contract: unhealthy endpoints are left out
 * unless includeUnhealthy; weight-0 endpoints are left out (drained); unparseable addresses are
 * left out with a problem; duplicates (same address and effective ports) keep the first in input
 * (precedence) order. The result is sorted by address, then identity.
 */
export function filterEndpoints(input: ConvertInput, ports: readonly OutPort[], o: ConversionOptions, p: Problems): OutEndpoint[] {
  const seen = new Set<string>();
  const out: OutEndpoint[] = [];
  // The identity's port part is stableStringify of {name: effective port}: the same text, written
  // directly in name order (names are unique; values are integers).
  const order = ports
    .map((x, i) => ({ i, name: x.name, key: JSON.stringify(x.name) }))
    .sort((a, b) => compareStrings(a.name, b.name));
  for (const e of input.endpoints) {
    if (e.health === Health.UNHEALTHY && !o.includeUnhealthy) continue;
    const addr = typeof e.address === 'string' ? endpointAddress(e.address) : undefined;
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
  out.sort((a, b) => compareStrings(a.address, b.address) || compareStrings(a.identity, b.identity));
  return out;
}
