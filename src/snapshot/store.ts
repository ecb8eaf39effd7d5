import { hash } from 'node:crypto';
import { contentHash } from '../util/hash.js';
import { ResourceKind, type IstioResource } from './resource.js';
import { compareStrings } from '../util/sort.js';

/**
 * An immutable, versioned view of every published resource, by kind. Snapshots are the only
 * hand-off between computing (registries, conversion) and serving (sinks).
 */
export interface Snapshot {
  /** Hash of the kind versions: equal content gives an equal version, across restarts too. */
  readonly version: string;
  /** Monotonic sequence number within this process (1 for the first publish). */
  readonly sequence: number;
  readonly createdAt: Date;
  readonly kinds: ReadonlyMap<ResourceKind, KindSnapshot>;
}

export interface KindSnapshot {
  readonly kind: ResourceKind;
  /**
   * Content version of the kind: a hash of the kind, the resource count and an
   * order-independent sum of per-resource hashes of `key@version`. Equal (key, version) sets
   * give equal versions, whatever the order or history of publishes, across restarts too.
   */
  readonly version: string;
  /** Resources by key, sorted by key. */
  readonly resources: ReadonlyMap<string, IstioResource>;
  /**
   * Set when this kind was derived by a delta from the kind at version `fromVersion` (not
   * rebuilt from scratch): the resources added or replaced, and the keys removed. A consumer
   * that holds the `fromVersion` content follows in O(changes) instead of O(resources). (A
   * version, not the previous KindSnapshot: snapshots must not chain up in memory.)
   */
  readonly delta?: KindDelta;
}

export interface KindDelta {
  readonly fromVersion: string;
  readonly upserted: readonly IstioResource[];
  readonly removed: readonly string[];
}

export type SnapshotListener = (snapshot: Snapshot, changedKinds: ReadonlySet<ResourceKind>) => void;

const ALL_KINDS: readonly ResourceKind[] = Object.values(ResourceKind);
/** Kinds always part of the snapshot version; the opt-in kinds count only when they hold something (versions of configs without them stay as they were). */
const ENTRY_KINDS: ReadonlySet<ResourceKind> = new Set([ResourceKind.ServiceEntry, ResourceKind.WorkloadEntry]);
const MASK_128 = (1n << 128n) - 1n;

/** 128 bits of SHA-256 of `key@version`, as a BigInt. */
function resourceHash(r: IstioResource): bigint {
  return BigInt(`0x${hash('sha256', `${r.key}@${r.version}`, 'hex').slice(0, 32)}`);
}

function kindVersion(kind: ResourceKind, count: number, sum: bigint): string {
  return contentHash(`${kind}\n${count}\n${sum.toString(16)}`);
}


/** Per-key state the store keeps besides the published resource (never shared). */
interface KeyState {
  /** resourceHash of the published resource. */
  hash: bigint;
  /** The publish that last listed this key (duplicate and removal detection without a Set). */
  mark: number;
}

/** What the store keeps per kind besides the published KindSnapshot (never shared). */
interface KindState {
  readonly snapshot: KindSnapshot;
  /** Sum of resourceHash over the kind's resources, mod 2^128. */
  readonly sum: bigint;
  /**
   * Per-key state (same keys as snapshot.resources once committed). Owned by the store and
   * updated in place: a state is only ever followed by the next one.
   */
  readonly keys: Map<string, KeyState>;
}

const EMPTY_STATE = (kind: ResourceKind): KindState => ({
  snapshot: { kind, version: kindVersion(kind, 0, 0n), resources: new Map() },
  sum: 0n,
  keys: new Map(),
});

let marks = 0;

/**
 * The next state of one kind from the previous one and the kind's full resource list.
 * Cost: one or two Map lookups per resource (no allocation per unchanged resource), plus
 * hashing what changed, one Map copy when anything changed, and a merge of sorted key lists
 * when keys came or went. Returns `prev` itself when nothing changed.
 */
function nextKind(prev: KindState, list: readonly IstioResource[]): KindState {
  const old = prev.snapshot.resources;
  const keys = prev.keys;
  const mark = ++marks;
  const changed: IstioResource[] = [];
  const fresh: string[] = [];
  let listed = 0;
  for (const r of list) {
    const o = old.get(r.key);
    if (o === undefined) {
      fresh.push(r.key);
      changed.push(r);
      continue;
    }
    const st = keys.get(r.key);
    if (st === undefined || st.mark === mark) return fromScratch(prev, list); // a key twice: the last one wins
    st.mark = mark;
    listed += 1;
    if (o !== r && o.version !== r.version) changed.push(r);
  }
  if (fresh.length > 1 && new Set(fresh).size !== fresh.length) return fromScratch(prev, list);
  // Keys of the old snapshot missing from the list (only looked for when some are).
  const removed: string[] = [];
  if (listed < old.size) {
    for (const [k, st] of keys) if (st.mark !== mark) removed.push(k);
  }
  return applyChanges(prev, changed, fresh, removed, mark);
}

/**
 * The next state of one kind from the previous one and a delta: `upserts` (new or replaced
 * resources, keys distinct) and `removedKeys` (keys to drop; unknown keys are ignored, a key
 * also upserted stays). Cost: proportional to the delta, plus one Map copy when anything
 * changed. Returns `prev` itself when nothing changed.
 */
function nextKindDelta(prev: KindState, upserts: readonly IstioResource[], removedKeys: readonly string[]): KindState {
  const old = prev.snapshot.resources;
  const changed: IstioResource[] = [];
  const fresh: string[] = [];
  const upserted = new Set<string>();
  for (const r of upserts) {
    upserted.add(r.key);
    const o = old.get(r.key);
    if (o === undefined) {
      fresh.push(r.key);
      changed.push(r);
    } else if (o !== r && o.version !== r.version) changed.push(r);
  }
  const removed: string[] = [];
  for (const k of removedKeys) if (old.has(k) && !upserted.has(k)) removed.push(k);
  return applyChanges(prev, changed, fresh, removed, 0);
}

/**
 * The next state of a kind from `prev` and what changed: `changed` (new or replaced resources),
 * `fresh` (the keys of `changed` not in prev), `removed` (keys to drop). Updates prev's per-key
 * state in place (new keys get `mark`); returns `prev` itself when nothing changed.
 */
function applyChanges(prev: KindState, changed: readonly IstioResource[], fresh: string[], removed: readonly string[], mark: number): KindState {
  if (changed.length === 0 && removed.length === 0) return prev;
  const keys = prev.keys;
  let sum = prev.sum;
  for (const k of removed) {
    sum -= keys.get(k)?.hash ?? 0n;
    keys.delete(k);
  }
  for (const r of changed) {
    const h = resourceHash(r);
    const st = keys.get(r.key);
    sum += h - (st?.hash ?? 0n);
    if (st === undefined) keys.set(r.key, { hash: h, mark });
    else st.hash = h;
  }
  sum &= MASK_128;
  const resources = nextResources(prev.snapshot.resources, changed, fresh, removed);
  const kind = prev.snapshot.kind;
  const delta: KindDelta = { fromVersion: prev.snapshot.version, upserted: changed, removed };
  return { snapshot: { kind, version: kindVersion(kind, resources.size, sum), resources, delta }, sum, keys };
}

/**
 * The next resources map, sorted by key, from the previous one (never mutated): `changed` holds
 * every new or replaced resource, `fresh` the keys not in `old`, `removed` the keys to drop.
 */
function nextResources(
  old: ReadonlyMap<string, IstioResource>,
  changed: readonly IstioResource[],
  fresh: string[],
  removed: readonly string[],
): Map<string, IstioResource> {
  if (fresh.length === 0 && removed.length === 0) {
    // Same keys: a copy keeps the sorted order; changed resources replace theirs in place.
    const resources = new Map(old);
    for (const r of changed) resources.set(r.key, r);
    return resources;
  }
  const gone = new Set(removed);
  const added = fresh.sort(compareStrings);
  const byKey = new Map<string, IstioResource>();
  for (const r of changed) byKey.set(r.key, r);
  const resources = new Map<string, IstioResource>();
  let i = 0;
  for (const [k, r] of old) {
    if (gone.has(k)) continue;
    for (let a = added[i]; a !== undefined && a < k; a = added[++i]) resources.set(a, byKey.get(a) as IstioResource);
    resources.set(k, byKey.get(k) ?? r);
  }
  for (let a = added[i]; a !== undefined; a = added[++i]) resources.set(a, byKey.get(a) as IstioResource);
  return resources;
}

/** The state of one kind built from nothing (the first publish, or a list with duplicate keys). */
function fromScratch(prev: KindState, list: readonly IstioResource[]): KindState {
  const byKey = new Map<string, IstioResource>();
  for (const r of list) byKey.set(r.key, r);
  const next = nextKind(EMPTY_STATE(prev.snapshot.kind), [...byKey.values()]);
  // Keep identity when the content is the same as before (unchanged kinds are shared).
  return next.snapshot.version === prev.snapshot.version ? prev : next;
}

/**
 * Holds the current snapshot and notifies listeners of new ones.
 *
 * Contract: `publish` returns the new snapshot, or undefined when nothing changed (no listener is
 * called then). Listeners are called synchronously, in registration order, with the kinds whose
 * version changed; a listener registered after the first publish is not called back for it and
 * should read `current()`. Unchanged kinds keep their KindSnapshot object (identity) across
 * snapshots. `publish` costs O(resources) Map lookups plus work proportional to what changed;
 * `publishChanges` (the pipeline's incremental flush) only the latter, plus one Map copy of a
 * changed kind (resources are compared by identity, then by version, against the previous one).
 */
export class SnapshotStore {
  private snapshot: Snapshot | undefined;
  private sequence = 0;
  private readonly listeners: SnapshotListener[] = [];
  private readonly states = new Map<ResourceKind, KindState>(ALL_KINDS.map((k) => [k, EMPTY_STATE(k)]));

  current(): Snapshot | undefined {
    return this.snapshot;
  }

  subscribe(listener: SnapshotListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  publish(resources: Iterable<IstioResource>): Snapshot | undefined {
    const byKind = new Map<ResourceKind, IstioResource[]>();
    for (const k of ALL_KINDS) byKind.set(k, []);
    for (const r of resources) byKind.get(r.kind)?.push(r);
    return this.commit((k, prev) => nextKind(prev, byKind.get(k) ?? []));
  }

  /**
   * Publishes the current content changed by a delta: `upserts` replace or add resources (keys
   * distinct), `removed` drops resources (by kind and key; an upserted key stays). The result is
   * the snapshot `publish` would give for the whole changed list (same versions, same contract),
   * at a cost proportional to the delta. Before the first publish it is `publish(upserts)`.
   */
  publishChanges(upserts: readonly IstioResource[], removed: readonly Pick<IstioResource, 'kind' | 'key'>[]): Snapshot | undefined {
    if (this.snapshot === undefined) return this.publish(upserts);
    const ups = new Map<ResourceKind, IstioResource[]>();
    const gone = new Map<ResourceKind, string[]>();
    for (const r of upserts) (ups.get(r.kind) ?? ups.set(r.kind, []).get(r.kind))?.push(r);
    for (const r of removed) (gone.get(r.kind) ?? gone.set(r.kind, []).get(r.kind))?.push(r.key);
    return this.commit((k, prev) => (ups.has(k) || gone.has(k) ? nextKindDelta(prev, ups.get(k) ?? [], gone.get(k) ?? []) : prev));
  }

  private commit(step: (kind: ResourceKind, prev: KindState) => KindState): Snapshot | undefined {
    const kinds = new Map<ResourceKind, KindSnapshot>();
    const next = new Map<ResourceKind, KindState>();
    const changed = new Set<ResourceKind>();
    for (const k of ALL_KINDS) {
      const prev = this.states.get(k) ?? EMPTY_STATE(k);
      const st = step(k, prev);
      next.set(k, st);
      // Kind versions are content hashes: a kind whose resources changed and changed back in
      // one publish keeps its previous KindSnapshot.
      // (per-key state, updated in place, then holds the same content as before).
      const same = st.snapshot.version === prev.snapshot.version;
      kinds.set(k, same ? prev.snapshot : st.snapshot);
      if (same) next.set(k, prev);
      if (!same || this.snapshot === undefined) changed.add(k);
    }
    for (const [k, st] of next) this.states.set(k, st);
    if (this.snapshot !== undefined && changed.size === 0) return undefined;
    // The Istio kinds always, the core kinds only once they hold something: a configuration
    // without Kubernetes Services keeps the snapshot versions it had before those kinds existed.
    const parts = ALL_KINDS.filter((k) => ENTRY_KINDS.has(k) || (kinds.get(k)?.resources.size ?? 0) > 0);
    const version = contentHash(parts.map((k) => (ENTRY_KINDS.has(k) ? '' : `${k}=`) + (kinds.get(k)?.version ?? '')).join('/'));
    this.sequence += 1;
    const snap: Snapshot = { version, sequence: this.sequence, createdAt: new Date(), kinds };
    this.snapshot = snap;
    for (const l of [...this.listeners]) l(snap, changed);
    return snap;
  }
}
