import { servicesEqual, serviceKey, type Service } from '../model/index.js';
import { describeError, ErrorCode, MeshbridgeError } from '../errors/index.js';
import { shareEndpointRecords } from './shared/endpoint-records.js';
import type { ListingProgress, Registry, RegistryEvent, RegistryStatus } from './types.js';

/**
 * Shared state keeping for adapters: holds the registry's current services, turns replacements
 * into minimal upsert/delete events (equal services emit nothing), and tracks sync and
 * connection status. Adapters extend it and implement `run`.
 */
export abstract class ServiceSetRegistry implements Registry {
  readonly name: string;
  readonly kind: string;
  private readonly current = new Map<string, Service>();
  private readonly handlers: Array<(e: RegistryEvent) => void> = [];
  private synced = false;
  private connected = false;
  private lastSyncTime: number | undefined;
  private lastChangeTime: number | undefined;
  private lastError: { code: string; message: string } | undefined;
  private endpointCount = 0;
  private started = false;
  /** Code and message of the source failure last reported, until a recovery. */
  private lastFailure: string | undefined;

  protected constructor(name: string, kind: string) {
    this.name = name;
    this.kind = kind;
  }

  onEvent(handler: (event: RegistryEvent) => void): void {
    this.handlers.push(handler);
  }

  abstract start(signal: AbortSignal): Promise<void>;

  /**
   * Claims this adapter's one start. Throws MB_INTERNAL when called twice; returns false when
   * `signal` is already aborted (there is nothing to run).
   */
  protected claimStart(signal: AbortSignal): boolean {
    if (this.started) throw new MeshbridgeError(ErrorCode.INTERNAL, `registry ${this.name} started twice`);
    this.started = true;
    return !signal.aborted;
  }

  /**
   * Runs an adapter's supervision loop in the background and resolves when its first attempt is
   * over: when `run` (or anything it hands `firstDone` to) calls `firstDone` (synced, or failed
   * once), when `signal` aborts, or when `run` throws (a bug: reported as MB_INTERNAL through
   * `report`). `run` returning does not resolve it: a loop may start watches and return.
   */
  protected superviseUntilFirst(signal: AbortSignal, report: (e: MeshbridgeError) => void, run: (firstDone: () => void) => Promise<void>): Promise<void> {
    return new Promise<void>((firstDone) => {
      signal.addEventListener('abort', () => firstDone(), { once: true });
      run(firstDone).catch((e: unknown) => {
        report(new MeshbridgeError(ErrorCode.INTERNAL, `${this.kind} registry ${this.name} stopped: ${describeError(e)}`, { cause: e }));
        firstDone();
      });
    });
  }

  hasSynced(): boolean {
    return this.synced;
  }

  services(): ReadonlyMap<string, Service> {
    return this.current;
  }

  status(): RegistryStatus {
    return {
      name: this.name,
      kind: this.kind,
      synced: this.synced,
      connected: this.connected,
      stale: this.synced && !this.connected,
      services: this.current.size,
      endpoints: this.endpointCount,
      lastSyncTime: this.lastSyncTime,
      lastError: this.lastError,
      lastChangeTime: this.lastChangeTime,
      ...(this.synced ? {} : { progress: this.listingProgress() }),
    };
  }

  /**
   * How far the first listing got, for `status().progress` while not synced; called per status
   * read, so it must be O(1). Default: undefined (the adapter cannot say).
   */
  protected listingProgress(): ListingProgress | undefined {
    return undefined;
  }

  /** Replace the whole set (a full listing). Emits only the differences. */
  protected replaceAll(services: Iterable<Service>): void {
    const seen = new Set<string>();
    for (const s of services) {
      const key = serviceKey(s);
      seen.add(key);
      this.upsert(s);
    }
    for (const [key, old] of [...this.current]) {
      if (!seen.has(key)) {
        this.current.delete(key);
        this.endpointCount -= old.endpoints.length;
        this.emit({ type: 'delete', registry: this.name, service: old });
      }
    }
    this.markSyncedNow();
  }

  /**
   * Add or replace one service; emits nothing when it is equal to what is held. What is held and
   * emitted has its endpoints' equal label and port records shared (shareEndpointRecords).
   */
  protected upsert(given: Service): void {
    const key = serviceKey(given);
    const old = this.current.get(key);
    if (old !== undefined && servicesEqual(old, given)) return;
    const service = shareEndpointRecords(given);
    this.current.set(key, service);
    this.endpointCount += service.endpoints.length - (old?.endpoints.length ?? 0);
    this.emit({ type: 'upsert', registry: this.name, service });
  }

  /** Remove one service by key; emits nothing when it is not held. */
  protected remove(key: string): void {
    const old = this.current.get(key);
    if (old === undefined) return;
    this.current.delete(key);
    this.endpointCount -= old.endpoints.length;
    this.emit({ type: 'delete', registry: this.name, service: old });
  }

  /** Record a successful sync (full or incremental); the first call marks the registry synced. */
  protected markSyncedNow(): void {
    this.lastSyncTime = Date.now();
    if (!this.connected) {
      this.connected = true;
      this.emit({ type: 'status', registry: this.name });
    }
    if (!this.synced) {
      this.synced = true;
      this.emit({ type: 'synced', registry: this.name });
    }
  }

  /** Record a lost connection or failed read. Services are kept (stale), never cleared. */
  protected markDisconnected(error: MeshbridgeError): void {
    this.lastError = { code: error.code, message: error.message };
    if (this.connected) {
      this.connected = false;
      this.emit({ type: 'status', registry: this.name });
    }
  }

  protected clearError(): void {
    this.lastError = undefined;
  }

  /**
   * The source failed as a whole (unreachable, unreadable, refused): every service is kept and
   * the registry is marked disconnected (stale once synced). `error` is reported through
   * `report` once until a different failure or `sourceRecovered()`; once services are held its
   * message says they are kept. Adapters do not log it themselves: the caller logs what is
   * reported (RegistryContext).
   */
  protected sourceFailed(error: MeshbridgeError, report: (e: MeshbridgeError) => void): void {
    const key = `${error.code} ${error.message}`;
    if (key !== this.lastFailure) {
      this.lastFailure = key;
      report(
        this.synced
          ? new MeshbridgeError(error.code, `${error.reason}; keeping the last known services`, {
              cause: error,
              ...(error.path !== undefined ? { path: error.path } : {}),
              ...(error.details !== undefined ? { details: error.details } : {}),
            })
          : error,
      );
    }
    this.markDisconnected(error);
  }

  /**
   * The source works again: the next failure is reported afresh and the last error clears.
   * Returns true when a failure was being held (the adapter may log the recovery).
   */
  protected sourceRecovered(): boolean {
    const was = this.lastFailure !== undefined;
    this.lastFailure = undefined;
    this.clearError();
    return was;
  }

  private emit(e: RegistryEvent): void {
    if (e.type === 'upsert' || e.type === 'delete') this.lastChangeTime = Date.now();
    for (const h of this.handlers) h(e);
  }
}
