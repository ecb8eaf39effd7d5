import type { Service } from '../model/index.js';
import type { MeshbridgeError } from '../errors/index.js';

/**
 * A change in one registry's view. `upsert` carries the whole new service (never a partial
 * patch); `delete` carries the last known service. Adapters emit an event only when the service
 * actually changed (model equality), so no-op changes never reach the debouncer.
 */
export type RegistryEvent =
  | { readonly type: 'upsert'; readonly registry: string; readonly service: Service }
  | { readonly type: 'delete'; readonly registry: string; readonly service: Service }
  | { readonly type: 'synced'; readonly registry: string }
  | { readonly type: 'status'; readonly registry: string };

export interface RegistryStatus {
  readonly name: string;
  readonly kind: string;
  /** The first full listing has completed. Stays true once set. */
  readonly synced: boolean;
  /** The adapter currently has a working connection (or read the source successfully). */
  readonly connected: boolean;
  /** Services are the last known state of a registry that is currently unreachable. */
  readonly stale: boolean;
  readonly services: number;
  readonly endpoints: number;
  /** Unix ms of the last successful full or incremental sync. */
  readonly lastSyncTime: number | undefined;
  readonly lastError: { readonly code: string; readonly message: string } | undefined;
  /** Unix ms of the last change of the view (a service added, changed or removed); optional. */
  readonly lastChangeTime?: number | undefined;
  /**
   * While the first full listing runs (`synced` false), how far it got, when the adapter can say
   * so cheaply: `listed` services (or `unit` keys) read so far, and reads still `pending` when
   * known. Absent once synced and for adapters that list in one request.
   */
  readonly progress?: ListingProgress | undefined;
}

/** How far a first listing got (RegistryStatus.progress). */
export interface ListingProgress {
  readonly listed: number;
  readonly unit: 'services' | 'keys';
  readonly pending?: number | undefined;
}

/**
 * One service registry, watched. Build, then start: constructors do no I/O.
 *
 * Contract:
 * - `onEvent` handlers are registered before `start`; they are called synchronously, in the
 *   order the registry's changes happened.
 * - `start(signal)` resolves once the adapter is running (not necessarily synced); the adapter
 *   runs until `signal` aborts and then releases every connection and timer.
 * - `hasSynced()` becomes true after the first complete listing and never goes back to false.
 * - `services()` is the current state; an unreachable registry keeps its last known services
 *   (marked stale in `status()`): losing the connection never deletes anything.
 */
export interface Registry {
  readonly name: string;
  readonly kind: string;
  onEvent(handler: (event: RegistryEvent) => void): void;
  start(signal: AbortSignal): Promise<void>;
  hasSynced(): boolean;
  services(): ReadonlyMap<string, Service>;
  status(): RegistryStatus;
}

/** What an adapter gets from the composition root: where to report problems. */
export interface RegistryContext {
  /** A coded problem with one entry (skipped) or the connection. Counted and logged by the caller. */
  report(problem: MeshbridgeError): void;
}
