import { endpointKey, serviceKey, type Endpoint, type Port, type Service } from '../model/index.js';
import type { ConvertInput, HostConsumer } from '../convert/options.js';
import { compareStrings } from '../util/sort.js';

export const ConflictPolicy = {
  /** The same host from several registries: one ServiceEntry with every registry's endpoints. */
  MERGE: 'merge',
  /** The same host from several registries: only the first registry (config order) publishes it. */
  PRECEDENCE: 'precedence',
} as const;
export type ConflictPolicy = (typeof ConflictPolicy)[keyof typeof ConflictPolicy];

export interface HostConflict {
  readonly host: string;
  /** The registry that publishes the host. */
  readonly winner: string;
  /** Registries (or services) hidden by the precedence policy. */
  readonly hidden: readonly string[];
}

/**
 * Two or more services of ONE registry that map to the same host: the template does not tell
 * them apart, or sanitising made two names equal (`Foo_Bar`, `foo-bar`). They are merged; this
 * record lets the caller report it (MB_HOST_CONFLICT) rather than merge silently.
 */
export interface HostCollision {
  readonly host: string;
  readonly registry: string;
  /** serviceKey of every colliding service, sorted. */
  readonly services: readonly string[];
}

export interface MergeResult {
  readonly inputs: readonly ConvertInput[];
  readonly conflicts: readonly HostConflict[];
  readonly collisions: readonly HostCollision[];
}

interface Member {
  readonly service: Service;
  readonly rank: number;
}

/**
 * Groups services from every registry by Istio host and merges each group by the policy.
 *
 * Contract: pure. `views` are in precedence order (config order of the registries); within one
 * registry, services are ranked by key so the result does not depend on arrival order. Two
 * services of the SAME registry that map to one host are always merged (their registry chose
 * that host template). Endpoints carry their `origin`; ports merge by number, the first name and
 * protocol for a number wins, and a later port whose name is taken gets skipped.
 */
export function mergeByHost(
  views: ReadonlyArray<{ readonly registry: string; readonly services: readonly Service[] }>,
  hostOf: (s: Service) => string | undefined,
  policy: ConflictPolicy,
): MergeResult {
  const groups = new Map<string, Member[]>();
  views.forEach((view, rank) => {
    for (const service of view.services) {
      const host = hostOf(service);
      if (host === undefined) continue;
      let g = groups.get(host);
      if (g === undefined) groups.set(host, (g = []));
      g.push({ service, rank });
    }
  });
  const inputs: ConvertInput[] = [];
  const conflicts: HostConflict[] = [];
  const collisions: HostCollision[] = [];
  for (const [host, members] of groups) {
    members.sort((a, b) => a.rank - b.rank || compareStrings(serviceKey(a.service), serviceKey(b.service)));
    const first = members[0];
    if (first === undefined) continue;
    if (members.length > 1) noteCollisions(host, members, collisions);
    let used = members;
    if (policy === ConflictPolicy.PRECEDENCE) {
      used = members.filter((m) => m.rank === first.rank);
      const hidden = members.filter((m) => m.rank !== first.rank).map((m) => m.service.registry);
      if (hidden.length > 0) conflicts.push({ host, winner: first.service.registry, hidden: [...new Set(hidden)] });
    }
    inputs.push(used.length === 1 ? single(host, first.service) : merged(host, used.map((m) => m.service)));
  }
  inputs.sort((a, b) => compareStrings(a.host, b.host));
  collisions.sort((a, b) => compareStrings(a.host, b.host) || compareStrings(a.registry, b.registry));
  return { inputs, conflicts, collisions };
}

function noteCollisions(host: string, members: readonly Member[], out: HostCollision[]): void {
  const byRegistry = new Map<string, string[]>();
  for (const m of members) {
    let keys = byRegistry.get(m.service.registry);
    if (keys === undefined) byRegistry.set(m.service.registry, (keys = []));
    keys.push(serviceKey(m.service));
  }
  for (const [registry, keys] of byRegistry) {
    if (keys.length > 1) out.push({ host, registry, services: keys.sort() });
  }
}

function single(host: string, s: Service): ConvertInput {
  const input: ConvertInput = { host, primary: s, ports: s.ports, endpoints: s.endpoints, origins: [s.registry] };
  return s.consumers === undefined || s.consumers.length === 0 ? input : { ...input, consumers: consumersOf([s]) };
}

/** The consumers of the services of one host, by registry, unique (in service order). */
function consumersOf(services: readonly Service[]): HostConsumer[] {
  const seen = new Set<string>();
  const out: HostConsumer[] = [];
  for (const s of services) {
    for (const application of s.consumers ?? []) {
      const k = `${s.registry}\u0000${application}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ registry: s.registry, application });
    }
  }
  return out;
}

function merged(host: string, services: readonly Service[]): ConvertInput {
  const primary = services[0];
  if (primary === undefined) throw new Error('merged: no services');
  const byNumber = new Map<number, Port>();
  const names = new Set<string>();
  for (const s of services) {
    for (const p of s.ports) {
      if (byNumber.has(p.number) || names.has(p.name)) continue;
      byNumber.set(p.number, p);
      names.add(p.name);
    }
  }
  const seen = new Set<string>();
  const endpoints: Endpoint[] = [];
  for (const s of services) {
    for (const e of s.endpoints) {
      const k = `${e.origin}|${endpointKey(e)}`;
      if (seen.has(k)) continue;
      seen.add(k);
      endpoints.push(e);
    }
  }
  const origins = [...new Set(services.map((s) => s.registry))];
  const consumers = consumersOf(services);
  return { host, primary, ports: [...byNumber.values()], endpoints, origins, ...(consumers.length > 0 ? { consumers } : {}) };
}

