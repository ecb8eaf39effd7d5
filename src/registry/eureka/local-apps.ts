import { reconcileHashCode } from './hash.js';
import { fingerprint, type MappedInstance } from './instance.js';
import { ActionType, type WireInstance } from './wire.js';

/** One instance held in the local copy, with its mapping (cached per fingerprint). */
export interface StoredInstance {
  readonly wire: WireInstance;
  readonly fingerprint: string;
  readonly mapped: MappedInstance;
}

export interface LocalAppsOptions {
  /** Maps an instance whose fingerprint is new; problems are reported here, once per content. */
  readonly map: (inst: WireInstance) => MappedInstance;
  readonly onProblem: (inst: StoredInstance) => void;
}

/**
 * The client's copy of the server's registry, as DiscoveryClient keeps it: every instance of
 * every app, whatever its status (the reconcile hash counts them all), keyed by upper-case app
 * name and instance id.
 *
 * Contract: `replace` (a full fetch) and `applyDelta` return the names of the apps whose held
 * content changed; re-applying what is already held (the server repeats recent changes in every
 * delta for ~3 minutes) changes nothing and returns an empty set.
 */
export class LocalApps {
  private readonly apps = new Map<string, Map<string, StoredInstance>>();
  private readonly o: LocalAppsOptions;

  constructor(options: LocalAppsOptions) {
    this.o = options;
  }

  /** Replaces everything with a full listing. */
  replace(instances: readonly WireInstance[]): Set<string> {
    const next = new Map<string, Map<string, StoredInstance>>();
    const dirty = new Set<string>();
    for (const inst of instances) {
      let app = next.get(inst.app);
      if (app === undefined) next.set(inst.app, (app = new Map<string, StoredInstance>()));
      const stored = this.store(inst, this.apps.get(inst.app)?.get(inst.id));
      if (stored !== this.apps.get(inst.app)?.get(inst.id)) dirty.add(inst.app);
      app.set(inst.id, stored);
    }
    for (const [name, app] of this.apps) {
      const n = next.get(name);
      if (n === undefined || n.size !== app.size) dirty.add(name);
    }
    this.apps.clear();
    for (const [k, v] of next) this.apps.set(k, v);
    return dirty;
  }

  /**
   * Applies a delta in order, as DiscoveryClient.updateDelta does: ADDED and MODIFIED put the
   * instance (creating its app), DELETED removes it (and the app once empty); entries without
   * a known action type are ignored.
   */
  applyDelta(instances: readonly WireInstance[]): Set<string> {
    const dirty = new Set<string>();
    for (const inst of instances) {
      const app = this.apps.get(inst.app);
      const old = app?.get(inst.id);
      switch (inst.actionType) {
        case ActionType.ADDED:
        case ActionType.MODIFIED: {
          const stored = this.store(inst, old);
          if (stored === old) break;
          if (app === undefined) this.apps.set(inst.app, new Map([[inst.id, stored]]));
          else app.set(inst.id, stored);
          dirty.add(inst.app);
          break;
        }
        case ActionType.DELETED:
          if (app === undefined || old === undefined) break;
          app.delete(inst.id);
          if (app.size === 0) this.apps.delete(inst.app);
          dirty.add(inst.app);
          break;
        case undefined:
          break;
      }
    }
    return dirty;
  }

  /** The reconcile hash of what is held (compare with the server's `apps__hashcode`). */
  hashCode(): string {
    return reconcileHashCode(this.statuses());
  }

  appNames(): IterableIterator<string> {
    return this.apps.keys();
  }

  instancesOf(app: string): Iterable<StoredInstance> {
    return this.apps.get(app)?.values() ?? [];
  }

  instanceCount(): number {
    let n = 0;
    for (const a of this.apps.values()) n += a.size;
    return n;
  }

  private *statuses(): Generator<string> {
    for (const app of this.apps.values()) for (const i of app.values()) yield i.wire.status;
  }

  /** The stored form of `inst`: `old` itself when nothing mapping reads has changed. */
  private store(inst: WireInstance, old: StoredInstance | undefined): StoredInstance {
    const fp = fingerprint(inst);
    if (old !== undefined && old.fingerprint === fp) return old;
    const stored: StoredInstance = { wire: inst, fingerprint: fp, mapped: this.o.map(inst) };
    if (stored.mapped.value === undefined) this.o.onProblem(stored);
    return stored;
  }
}
