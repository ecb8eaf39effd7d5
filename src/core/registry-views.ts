/**
 * What each registry contributes to a pass around its first sync: checkpoints from before a
 * restart and start-up time-outs (docs/safety.md).
 *
 * Contract:
 * - viewOf(r) is r's own services once it synced (its checkpoint and time-out are then
 *   forgotten), else its checkpoint when seeded, else what it has so far.
 * - A registry is substituted while it is published from its checkpoint or timed out unsynced.
 * - complete() is true once every registry synced, has a checkpoint or timed out: publishing
 *   may begin.
 * - substitute(name, services) does for a registry a reload added or restarted what a checkpoint
 *   does at start: `services` (its predecessor's published view, or nothing for a new one) stand
 *   for it until it syncs.
 * - `registries` is the pipeline's own list, read on every call: it changes on a reload.
 */
import type { Service } from '../model/index.js';
import type { Registry } from '../registry/types.js';

export class RegistryViews {
  /** Last published views from before a restart, used for a registry until it syncs. */
  private readonly checkpoint = new Map<string, ReadonlyMap<string, Service>>();
  /** Registries whose first sync did not finish within the start-up time-out. */
  private readonly timedOut = new Set<string>();

  constructor(private readonly registries: readonly Registry[]) {}

  /** Seeds `registry`'s checkpoint; false (and nothing kept) when there is no such registry. */
  seed(registry: string, services: ReadonlyMap<string, Service>): boolean {
    if (!this.registries.some((r) => r.name === registry)) return false;
    this.checkpoint.set(registry, services);
    return true;
  }

  /**
   * A registry a reload added (`services` empty) or restarted (its predecessor's view): they
   * stand for it until its first sync, like a checkpoint.
   */
  substitute(registry: string, services: ReadonlyMap<string, Service>): void {
    this.timedOut.delete(registry);
    this.checkpoint.set(registry, services);
  }

  /** Forgets what stood for a registry that left the config. */
  forget(registry: string): void {
    this.timedOut.delete(registry);
    this.checkpoint.delete(registry);
  }

  hasCheckpoint(registry: string): boolean {
    return this.checkpoint.has(registry);
  }

  /** `registry` did not sync in time; it stops blocking publishing. */
  timeOut(registry: string): void {
    this.timedOut.add(registry);
  }

  complete(): boolean {
    return this.registries.every((r) => r.hasSynced() || this.checkpoint.has(r.name) || this.timedOut.has(r.name));
  }

  /** True while a registry's published view is not its own synced one. */
  substituted(registry: string): boolean {
    return this.checkpoint.has(registry) || this.timedOut.has(registry);
  }

  /** True while any registry is substituted. */
  anySubstituted(): boolean {
    return this.checkpoint.size > 0 || this.timedOut.size > 0;
  }

  /** What a registry contributes: its own services once synced, else its checkpoint if any. */
  viewOf(r: Registry): ReadonlyMap<string, Service> {
    if (r.hasSynced()) {
      if (this.checkpoint.has(r.name)) this.checkpoint.delete(r.name);
      this.timedOut.delete(r.name);
      return r.services();
    }
    return this.checkpoint.get(r.name) ?? r.services();
  }
}
