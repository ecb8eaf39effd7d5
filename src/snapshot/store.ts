import { contentHash } from '../util/hash.js';
import { ResourceKind, type IstioResource } from './resource.js';

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
  /** Hash of the sorted (key, resource version) pairs of this kind. */
  readonly version: string;
  /** Resources by key, sorted by key. */
  readonly resources: ReadonlyMap<string, IstioResource>;
}

export type SnapshotListener = (snapshot: Snapshot, changedKinds: ReadonlySet<ResourceKind>) => void;

const ALL_KINDS: readonly ResourceKind[] = Object.values(ResourceKind);

function buildKind(kind: ResourceKind, resources: IstioResource[]): KindSnapshot {
  resources.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const map = new Map<string, IstioResource>();
  const parts: string[] = [];
  for (const r of resources) {
    map.set(r.key, r);
    parts.push(`${r.key}@${r.version}`);
  }
  return { kind, version: contentHash(parts.join('\n')), resources: map };
}

/**
 * Holds the current snapshot and notifies listeners of new ones.
 *
 * Contract: `publish` returns the new snapshot, or undefined when nothing changed (no listener is
 * called then). Listeners are called synchronously, in registration order, with the kinds whose
 * version changed; a listener registered after the first publish is not called back for it and
 * should read `current()`.
 */
export class SnapshotStore {
  private snapshot: Snapshot | undefined;
  private sequence = 0;
  private readonly listeners: SnapshotListener[] = [];

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
    const kinds = new Map<ResourceKind, KindSnapshot>();
    const changed = new Set<ResourceKind>();
    for (const k of ALL_KINDS) {
      const ks = buildKind(k, byKind.get(k) ?? []);
      const prev = this.snapshot?.kinds.get(k);
      if (prev !== undefined && prev.version === ks.version) {
        kinds.set(k, prev); // keep identity: unchanged kinds are shared between snapshots
      } else {
        kinds.set(k, ks);
        changed.add(k);
      }
    }
    if (this.snapshot !== undefined && changed.size === 0) return undefined;
    const version = contentHash(ALL_KINDS.map((k) => kinds.get(k)?.version ?? '').join('/'));
    this.sequence += 1;
    const snap: Snapshot = { version, sequence: this.sequence, createdAt: new Date(), kinds };
    this.snapshot = snap;
    for (const l of [...this.listeners]) l(snap, changed);
    return snap;
  }
}
