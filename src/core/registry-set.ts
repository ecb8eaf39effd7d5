/**
 * The pipeline's registries and their lifecycles, which a config reload changes
 * (docs/operations.md#reloading-the-config, ADR 0017).
 *
 * Contract:
 * - `list` is in precedence order: the configured registries (config order), then the retired
 *   ones. It is the pipeline's own array, changed in place by replace(): the passes and views
 *   that hold it read it on every call.
 * - Every adapter runs under its own AbortController, a child of the signal start() got, so one
 *   that a reload replaces or removes is stopped alone, and events it still emits are dropped.
 * - A retired registry (RetiredRegistry) stands for one the config no longer lists: synced and
 *   empty, so its services leave the snapshot through its deletion guard like any other loss.
 */
import type { Service } from '../model/index.js';
import type { Registry, RegistryEvent, RegistryStatus } from '../registry/types.js';

const NOTHING: ReadonlyMap<string, Service> = new Map();

/** A registry removed from the config, kept (empty) until its guard lets its services go. */
export class RetiredRegistry implements Registry {
  readonly name: string;
  readonly kind: string;

  constructor(of: Pick<Registry, 'name' | 'kind'>) {
    this.name = of.name;
    this.kind = of.kind;
  }

  onEvent(): void {
    /* it never changes */
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  hasSynced(): boolean {
    return true;
  }

  services(): ReadonlyMap<string, Service> {
    return NOTHING;
  }

  status(): RegistryStatus {
    return { name: this.name, kind: this.kind, synced: true, connected: false, stale: false, services: 0, endpoints: 0, lastSyncTime: undefined, lastError: undefined };
  }
}

export class RegistrySet {
  /** See the module contract: changed in place. */
  readonly list: Registry[];
  private readonly running = new Map<Registry, AbortController>();
  private readonly members: Set<Registry>;
  private signal: AbortSignal | undefined;

  constructor(
    initial: readonly Registry[],
    private readonly handler: (registry: Registry, event: RegistryEvent) => void,
  ) {
    this.list = [...initial];
    this.members = new Set(initial);
  }

  /** Registers the handlers and starts every registry; resolves once all are started. */
  async start(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    await Promise.all(this.list.map((r) => this.startOne(r, signal)));
  }

  /** The registries the config lists (not the retired ones). */
  configured(): Registry[] {
    return this.list.filter((r) => !(r instanceof RetiredRegistry));
  }

  retired(): RetiredRegistry[] {
    return this.list.filter((r): r is RetiredRegistry => r instanceof RetiredRegistry);
  }

  /**
   * Makes `next` the list: stops the registries not in it (by object), starts the new ones.
   * Resolves once the new ones are started. Only after start().
   */
  async replace(next: readonly Registry[]): Promise<void> {
    const signal = this.signal;
    if (signal === undefined) throw new Error('RegistrySet.replace before start');
    const keep = new Set(next);
    for (const r of this.list) {
      if (keep.has(r)) continue;
      this.members.delete(r);
      this.running.get(r)?.abort();
      this.running.delete(r);
    }
    const fresh = next.filter((r) => !this.members.has(r));
    this.list.splice(0, this.list.length, ...next);
    for (const r of fresh) this.members.add(r);
    await Promise.all(fresh.map((r) => this.startOne(r, signal)));
  }

  /** Drops retired registries from the list (they run nothing). */
  drop(gone: readonly RetiredRegistry[]): void {
    const set = new Set<Registry>(gone);
    for (const r of gone) this.members.delete(r);
    this.list.splice(0, this.list.length, ...this.list.filter((r) => !set.has(r)));
  }

  private async startOne(r: Registry, signal: AbortSignal): Promise<void> {
    const ac = new AbortController();
    this.running.set(r, ac);
    const stop = (): void => ac.abort();
    if (signal.aborted) ac.abort();
    else {
      signal.addEventListener('abort', stop, { once: true });
      ac.signal.addEventListener('abort', () => signal.removeEventListener('abort', stop), { once: true });
    }
    r.onEvent((e) => {
      if (this.members.has(r)) this.handler(r, e);
    });
    await r.start(ac.signal);
  }
}
