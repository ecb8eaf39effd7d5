/**
 * Sidecars from consumers (docs/mapping.md#sidecars, ADR 0023): one Istio Sidecar per consumer
 * application, whose egress lists only the ServiceEntry hosts the application consumes, so
 * istiod pushes its proxies those services instead of every service in the mesh.
 */
import { ErrorCode, MeshbridgeError } from '../errors/index.js';
import { OwnershipLabel, ResourceKind, type IstioResource } from '../snapshot/index.js';
import { compareStrings, sortStrings } from '../util/sort.js';
import { Annotation } from './convert.js';
import { isLabelValue, labelValueFor, objectName } from './names.js';
import type { HostConsumer, SidecarOptions } from './options.js';
import { buildResource, sortedRecord } from './resource.js';

export type { HostConsumer } from './options.js';

/** A published ServiceEntry host and the applications that consume it. */
export interface ConsumedHost {
  /** The ServiceEntry's host. */
  readonly host: string;
  /** The ServiceEntry's namespace. */
  readonly namespace: string;
  readonly consumers: readonly HostConsumer[];
}

/** A registry with a `sidecars` block, in precedence (config) order. */
export interface SidecarRegistry {
  readonly name: string;
  readonly sidecars: SidecarOptions;
  /** The registry's extraLabels (already valid labels), put on its Sidecars too. */
  readonly extraLabels?: Readonly<Record<string, string>>;
}

export interface SidecarsOutput {
  /** Sorted by key. */
  readonly resources: readonly IstioResource[];
  /** One MB_SIDECAR_SKIPPED per application left without a Sidecar, path `registry/application`. */
  readonly skipped: readonly MeshbridgeError[];
}

/** The placeholder of workloadLabels values. */
const APPLICATION = /\{application\}/g;

interface Group {
  readonly namespace: string;
  readonly application: string;
  /** Ranks of the registries reporting the application here. */
  readonly ranks: Set<number>;
  readonly hosts: Set<string>;
}

/**
 * The Sidecars of every consumer application (pure: equal input gives deep-equal output,
 * whatever the order of hosts and consumers).
 *
 * Contract:
 * - Only applications of registries in `registries` count; only hosts given (published
 *   ServiceEntries) are listed, as `<ServiceEntry namespace>/<host>`.
 * - An application's Sidecar goes to `namespaces[application]`, else `namespace`, of the first
 *   registry (precedence) that reports it; with neither it is skipped (MB_SIDECAR_SKIPPED). The
 *   same application in one namespace from several registries is one Sidecar listing every
 *   host any of them reports it consuming (two Sidecars selecting one workload would conflict).
 * - spec.workloadSelector.labels: the first registry's workloadLabels with {application}
 *   rendered; a value that is not a label value skips the application (MB_SIDECAR_SKIPPED).
 * - spec.egress: one listener whose hosts are alwaysInclude plus the consumed hosts, sorted and
 *   unique. Name: objectName(application) in its namespace; ownership labels of the first
 *   registry, source annotation `registry/application`, content-hash version as convert().
 */
export function convertSidecars(hosts: Iterable<ConsumedHost>, registries: readonly SidecarRegistry[]): SidecarsOutput {
  const rank = new Map(registries.map((r, i) => [r.name, i]));
  const groups = new Map<string, Group>();
  const skipped = new Map<string, MeshbridgeError>();
  for (const h of hosts) {
    for (const c of h.consumers) {
      const i = rank.get(c.registry);
      const reg = i === undefined ? undefined : registries[i];
      if (i === undefined || reg === undefined) continue;
      const ns = Object.hasOwn(reg.sidecars.namespaces, c.application) ? reg.sidecars.namespaces[c.application] : reg.sidecars.namespace;
      if (ns === undefined) {
        skip(skipped, c, `consumer application "${c.application}" has no namespace (sidecars.namespaces or sidecars.namespace); no Sidecar for it`);
        continue;
      }
      const key = `${ns}/${c.application}`;
      let g = groups.get(key);
      if (g === undefined) groups.set(key, (g = { namespace: ns, application: c.application, ranks: new Set(), hosts: new Set() }));
      g.ranks.add(i);
      g.hosts.add(`${h.namespace}/${h.host}`);
    }
  }
  const resources: IstioResource[] = [];
  for (const g of groups.values()) {
    const r = sidecarOf(g, registries, skipped);
    if (r !== undefined) resources.push(r);
  }
  resources.sort((a, b) => compareStrings(a.key, b.key));
  const problems = [...skipped.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([, e]) => e);
  return { resources, skipped: problems };
}

function skip(out: Map<string, MeshbridgeError>, c: HostConsumer, message: string): void {
  const path = `${c.registry}/${c.application}`;
  if (!out.has(path)) out.set(path, new MeshbridgeError(ErrorCode.SIDECAR_SKIPPED, message, { path, details: { registry: c.registry, application: c.application } }));
}

function sidecarOf(g: Group, registries: readonly SidecarRegistry[], skipped: Map<string, MeshbridgeError>): IstioResource | undefined {
  const ranks = [...g.ranks].sort((a, b) => a - b);
  const first = registries[ranks[0] ?? 0];
  if (first === undefined) return undefined;
  const selector: Record<string, string> = {};
  for (const [key, template] of Object.entries(first.sidecars.workloadLabels)) {
    const value = template.replace(APPLICATION, g.application);
    if (!isLabelValue(value)) {
      skip(skipped, { registry: first.name, application: g.application }, `workload label ${key}="${value}" of consumer application "${g.application}" is not a valid label value; no Sidecar for it`);
      return undefined;
    }
    selector[key] = value;
  }
  const labels = sortedRecord({
    ...first.extraLabels,
    [OwnershipLabel.MANAGED_BY]: OwnershipLabel.MANAGED_BY_VALUE,
    [OwnershipLabel.REGISTRY]: labelValueFor(first.name),
  });
  const origins = ranks.map((i) => registries[i]?.name ?? '');
  const annotations: Record<string, string> = { [Annotation.SOURCE]: `${first.name}/${g.application}` };
  if (origins.length > 1) annotations[Annotation.ORIGINS] = origins.join(',');
  const egressHosts = sortStrings([...new Set([...first.sidecars.alwaysInclude, ...g.hosts])]);
  const spec = { workloadSelector: { labels: sortedRecord(selector) }, egress: [{ hosts: egressHosts }] };
  return buildResource(ResourceKind.Sidecar, g.namespace, objectName(g.application), labels, annotations, spec);
}
