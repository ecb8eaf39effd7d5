/**
 * `meshbridge diff`'s view of a plan: one entry per object a pass would create, update or delete,
 * per deletion the guard holds and per clash, with a YAML diff of each update. Pure.
 *
 * Contract:
 * - Built from the sink's own `plan()` result (plan.ts): nothing here decides what is written.
 *   create: in `plan.apply`, not in the cluster; update: in `plan.apply` and in the cluster
 *   (including the adoption of a legacy object); delete: `plan.remove`; held: `plan.kept`, with
 *   the guard's line from `plan.held`; clash: `plan.clashes` and `plan.skipped`.
 * - An update's diff compares, as YAML with sorted keys, the fields our field manager owns in
 *   the cluster (managedFields; for a legacy object also the pre-instance manager's) with the
 *   body the sink would apply (applyBody). Server-set metadata, status and other managers'
 *   fields never show. An object without managedFields of ours is compared on the desired
 *   labels and annotations and the whole spec.
 * - Entries are sorted by action (create, update, delete, held, clash), then key.
 * - `changes` is true when a pass would write: any create, update or delete. Held deletions and
 *   clashes are reported but are not writes.
 */
import { stringify } from 'yaml';
import { OwnershipLabel, type IstioResource } from '../../snapshot/index.js';
import { unifiedDiff } from '../../util/line-diff.js';
import { applyBody, type ApplyBody } from './apply-body.js';
import { ownedPart } from './managed-fields.js';
import type { ObservedObject } from './observed.js';
import { LEGACY_FIELD_MANAGER, fieldManagerFor, ownershipOf } from './ownership.js';
import type { HeldDeletion, Plan } from './plan.js';

export const DiffAction = {
  CREATE: 'create',
  UPDATE: 'update',
  DELETE: 'delete',
  HELD: 'held',
  CLASH: 'clash',
} as const;
export type DiffAction = (typeof DiffAction)[keyof typeof DiffAction];

const ORDER: readonly DiffAction[] = ['create', 'update', 'delete', 'held', 'clash'];
/** `meshbridge diff` compares the Istio kinds (the Kubernetes Services kinds are left out). */
type Kind = 'ServiceEntry' | 'WorkloadEntry' | 'Sidecar';
const KINDS: readonly Kind[] = ['ServiceEntry', 'WorkloadEntry', 'Sidecar'];

export interface DiffEntry {
  readonly action: DiffAction;
  readonly kind: Kind;
  readonly namespace: string;
  readonly name: string;
  /** `${kind}/${namespace}/${name}`. */
  readonly key: string;
  /** The meshbridge.io/registry label ('' when none). */
  readonly registry: string;
  /** One line saying why, for people. */
  readonly reason: string;
  /** clash: the object Meshbridge does not own that claims the name or host. */
  readonly claimedBy?: string;
  /** clash: the claimed host ('' for a name). */
  readonly host?: string;
  /** update: unified diff of the managed fields, live (---) to what would be applied (+++). */
  readonly diff?: string;
  /** create and update: the body server-side apply would send. */
  readonly object?: ApplyBody;
}

export interface DiffReport {
  readonly changes: boolean;
  readonly entries: readonly DiffEntry[];
  /** Entries per action and kind (every action and kind present, 0 when none). */
  readonly counts: Readonly<Record<DiffAction, Readonly<Record<Kind, number>>>>;
  /** Desired objects already up to date. */
  readonly unchanged: number;
  /** The guard's lines (plan.held). */
  readonly held: readonly HeldDeletion[];
}

export interface PlanDiffInput {
  readonly plan: Plan;
  readonly desired: readonly IstioResource[];
  readonly observed: ReadonlyMap<string, ObservedObject>;
  /** The live objects (as the API server returns them) of the updates, by key. */
  readonly live: ReadonlyMap<string, unknown>;
  readonly instance: string;
  readonly registries: ReadonlySet<string>;
  readonly maxDeletePercent: number;
}

export function planDiff(input: PlanDiffInput): DiffReport {
  const { plan: p, observed } = input;
  const desired = new Map(input.desired.map((r) => [r.key, r]));
  const entries: DiffEntry[] = [];
  const id = { instance: input.instance, registries: input.registries };
  for (const r of p.apply) {
    const o = observed.get(r.key);
    const object = applyBody(r, input.instance);
    if (o === undefined) {
      entries.push({ ...base('create', r), reason: 'not in the cluster', object });
      continue;
    }
    const legacy = ownershipOf(o, id) === 'legacy';
    const managers = new Set([fieldManagerFor(input.instance), ...(legacy ? [LEGACY_FIELD_MANAGER] : [])]);
    const diff = yamlDiff(input.live.get(r.key), object, managers);
    const reason = legacy ? 'adopt an object written before instances existed (stamps the instance label)' : o.contentHash !== r.version ? 'content changed' : 'out of date';
    entries.push({ ...base('update', r), reason, diff, object });
  }
  for (const o of p.remove) entries.push({ ...base('delete', o), reason: 'owned by this instance, no longer desired' });
  for (const o of p.kept) entries.push({ ...base('held', o), reason: heldReason(o, p.held, input.maxDeletePercent) });
  for (const c of p.clashes) {
    const r = desired.get(c.resource);
    const name = c.claimedBy === c.resource;
    const reason = name ? 'name taken by an object Meshbridge does not own; left untouched' : `host ${c.host} claimed by ${c.claimedBy}, which Meshbridge does not own; left untouched`;
    entries.push({ ...base('clash', r ?? parseKey(c.resource)), reason, claimedBy: c.claimedBy, host: name ? '' : c.host });
  }
  for (const key of p.skipped) {
    const r = desired.get(key);
    entries.push({ ...base('clash', r ?? parseKey(key)), reason: 'skipped with the ServiceEntry selecting it, which clashes' });
  }
  entries.sort((a, b) => ORDER.indexOf(a.action) - ORDER.indexOf(b.action) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const counts = Object.fromEntries(ORDER.map((a) => [a, Object.fromEntries(KINDS.map((k) => [k, 0]))])) as Record<DiffAction, Record<Kind, number>>;
  for (const e of entries) counts[e.action][e.kind]++;
  const changes = entries.some((e) => e.action === 'create' || e.action === 'update' || e.action === 'delete');
  return { changes, entries, counts, unchanged: p.unchanged, held: p.held };
}

function base(
  action: DiffAction,
  o: Pick<ObservedObject, 'kind' | 'namespace' | 'name' | 'key' | 'labels'>,
): Pick<DiffEntry, 'action' | 'kind' | 'namespace' | 'name' | 'key' | 'registry'> {
  // Only Istio kinds reach a diff (cli/diff.ts leaves the Kubernetes Services kinds out).
  return { action, kind: o.kind as Kind, namespace: o.namespace, name: o.name, key: o.key, registry: o.labels[OwnershipLabel.REGISTRY] ?? '' };
}

function parseKey(key: string): Pick<ObservedObject, 'kind' | 'namespace' | 'name' | 'key' | 'labels'> {
  const [kind, namespace = '', name = ''] = key.split('/');
  return { kind: kind === 'WorkloadEntry' || kind === 'Sidecar' ? kind : 'ServiceEntry', namespace, name, key, labels: {} };
}

function heldReason(o: ObservedObject, held: readonly HeldDeletion[], percent: number): string {
  const registry = o.labels[OwnershipLabel.REGISTRY] ?? '';
  const lines = held.filter((h) => h.registry === registry).map((h) => `${h.wouldDelete} of ${h.owned} ${h.kind === 'ServiceEntry' ? 'ServiceEntries' : `${h.kind}s`}`);
  return `deletion guard: would delete ${lines.join(' and ')} of registry ${registry || '(none)'}, more than maxDeletePercent ${percent}%; none of the registry's deletions happen`;
}

/** The YAML of a document with every map's keys sorted (stable, comparable). */
export function sortedYaml(doc: unknown): string {
  return stringify(doc, { sortMapEntries: true, aliasDuplicateObjects: false, lineWidth: 0 });
}

function yamlDiff(raw: unknown, object: ApplyBody, managers: ReadonlySet<string>): string {
  const live = raw === undefined ? {} : (ownedPart(raw, managers) ?? fallbackPart(raw, object));
  const label = `${object.kind} ${object.metadata.namespace}/${object.metadata.name}`;
  return unifiedDiff(sortedYaml(live), sortedYaml(object), { from: `live ${label}`, to: `meshbridge ${label}` });
}

/** Without managedFields of ours: the desired labels and annotations as they are live, and the whole spec. */
function fallbackPart(raw: unknown, object: ApplyBody): Record<string, unknown> {
  const o = raw as { apiVersion?: string; kind?: string; metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: unknown };
  const pick = (have: Record<string, string> | undefined, want: Readonly<Record<string, string>>): Record<string, string> =>
    Object.fromEntries(Object.keys(want).flatMap((k) => (have?.[k] !== undefined ? [[k, have[k]]] : [])));
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: { name: object.metadata.name, namespace: object.metadata.namespace, labels: pick(o.metadata?.labels, object.metadata.labels), annotations: pick(o.metadata?.annotations, object.metadata.annotations) },
    ...(o.spec !== undefined ? { spec: o.spec } : {}),
  };
}
