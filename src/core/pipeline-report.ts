/**
 * The pipeline's status reporting: the logs and metrics of what a pass found (skipped entries,
 * deletion-guard holds, host conflicts and collisions, listener conflicts, the address plan,
 * registry status, sync time-outs, published snapshots), and the current lists /debug shows.
 * Contract: it decides nothing; each distinct host conflict, collision and listener conflict is
 * logged once per process, while the gauges and lists always show the current ones.
 */
import { ErrorCode, MeshbridgeError } from '../errors/index.js';
import type { Registry } from '../registry/types.js';
import type { Logger, Metrics } from '../observability/index.js';
import type { Snapshot } from '../snapshot/index.js';
import type { GuardState, ProtectResult } from './protect.js';
import type { HostCollision, HostConflict } from './aggregate.js';
import type { ListenerConflict } from './listener-conflicts.js';
import type { ServiceClash } from './service-clashes.js';
import type { AddressIndex } from './address-index.js';
import type { ConvertOutput } from './pipeline-options.js';
import type { SelectionStats } from './service-selection.js';

/** A registry's deletions held back by its guard. */
export interface Held {
  readonly services: readonly string[];
  readonly endpoints: number;
}

export type AddressStats = ReturnType<AddressIndex['stats']>;

export class PipelineReport {
  /** Keys of the host conflicts, collisions and listener conflicts already logged. */
  private readonly reported = new Set<string>();
  private readonly heldBy = new Map<string, Held>();
  private conflictList: readonly HostConflict[] = [];
  private collisionList: readonly HostCollision[] = [];
  private listenerList: readonly ListenerConflict[] = [];
  private selectionGauged: ReadonlySet<string> = new Set();

  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  /** The cross-registry host conflicts now (as the last pass left them). */
  get conflicts(): readonly HostConflict[] {
    return this.conflictList;
  }

  /** The same-registry host collisions now (as the last pass left them). */
  get collisions(): readonly HostCollision[] {
    return this.collisionList;
  }

  /** Places on a sidecar's outbound side several published ServiceEntries want. */
  get listeners(): readonly ListenerConflict[] {
    return this.listenerList;
  }

  /** The deletions each holding registry holds back. */
  held(): Record<string, Held> {
    return Object.fromEntries(this.heldBy);
  }

  /** A service or entry skipped (or rewritten) for `err`: counted and logged. */
  skipped(registry: string, err: MeshbridgeError): void {
    this.metrics.entriesSkipped.inc({ registry, code: err.code });
    this.logger.warn({ registry, code: err.code, path: err.path }, err.message);
  }

  /** One host converted: its problems reported as skipped entries, its dropped labels counted. */
  converted(registry: string, output: ConvertOutput): void {
    for (const p of output.problems) this.skipped(registry, p);
    if (output.droppedLabels > 0) this.metrics.labelsDropped.inc({ registry }, output.droppedLabels);
  }

  /**
   * A registry went through the deletion guard: logs a hold when it begins or grows, and its end;
   * keeps the gauges. `state` (the registry's guard state) is asked only for a log line.
   */
  guard(registry: string, res: ProtectResult, state: () => GuardState | undefined): void {
    const m = this.metrics;
    const before = this.heldBy.get(registry);
    m.protectHeldServices.set({ registry }, res.held.length);
    m.protectHeldEndpoints.set({ registry }, res.heldEndpoints);
    if (res.released !== undefined) {
      m.protectReleases.inc({ registry, cause: res.released });
      // What the hold still kept at its last pass leaves now (none when it recovered complete).
      const gone = before?.services ?? [];
      this.logger.warn(
        { registry, cause: res.released, removedServices: gone.length, removed: gone.slice(0, 20) },
        `deletion guard: hold of registry ${registry} released (${res.released}); its current view is published`,
      );
    }
    if (!res.holding) {
      this.heldBy.delete(registry);
      return;
    }
    this.heldBy.set(registry, { services: res.held, endpoints: res.heldEndpoints });
    if (before === undefined || before.services.length < res.held.length || before.endpoints < res.heldEndpoints) {
      if (before === undefined) m.protectHeld.inc({ registry });
      const st = state();
      const err = new MeshbridgeError(
        ErrorCode.PROTECT_HELD,
        `registry ${registry} lost more than its guard allows (${st?.hold?.reasons.join(' and ') ?? 'services'}): ` +
          `${res.held.length} services and ${res.heldEndpoints} endpoints are held back and stay published ` +
          `until the registry recovers (complete, or back to its numbers for protectSettleSeconds), an operator releases it (POST /debug/release?registry=${registry}) or its protectHoldMaxSeconds pass`,
        { details: { held: res.held.slice(0, 20) } },
      );
      this.logger.error(
        { registry, code: err.code, heldServices: res.held.length, heldEndpoints: res.heldEndpoints, baseline: st?.baselineServices, baselineEndpoints: st?.baselineEndpoints },
        err.message,
      );
    }
  }

  /** Reports each distinct cross-registry host conflict once (precedence hides the later ones). */
  hostConflicts(conflicts: readonly HostConflict[]): void {
    this.conflictList = conflicts;
    for (const c of conflicts) {
      const key = `${c.host}|${c.winner}|${c.hidden.join(',')}`;
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      for (const h of c.hidden) {
        this.metrics.registryErrors.inc({ registry: h, code: ErrorCode.HOST_CONFLICT });
      }
      this.logger.warn({ host: c.host, winner: c.winner, hidden: c.hidden, code: ErrorCode.HOST_CONFLICT }, 'host published by several registries; precedence policy hides the later ones');
    }
  }

  /** Reports each distinct same-registry host collision once (they are merged, not skipped). */
  hostCollisions(collisions: readonly HostCollision[]): void {
    this.collisionList = collisions;
    for (const c of collisions) {
      const key = `collision|${c.host}|${c.registry}|${c.services.join(',')}`;
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      const err = new MeshbridgeError(
        ErrorCode.HOST_CONFLICT,
        `services ${c.services.map((k) => `"${k}"`).join(', ')} of registry ${c.registry} all map to host ${c.host}; ` +
          'they are merged into one ServiceEntry (make the host template tell them apart)',
        { path: c.registry, details: { host: c.host, services: c.services } },
      );
      this.metrics.registryErrors.inc({ registry: c.registry, code: err.code });
      this.logger.warn({ registry: c.registry, code: err.code, host: c.host, services: c.services }, err.message);
    }
  }

  /** Reports each distinct Kubernetes Service clash once (core/service-clashes.ts). */
  serviceClashes(clashes: readonly ServiceClash[]): void {
    for (const c of clashes) {
      const key = `service|${c.service}|${c.kept}|${c.dropped.join(',')}`;
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      for (const source of c.dropped) {
        const registry = source.split('/')[0] ?? '';
        const err = new MeshbridgeError(
          ErrorCode.KUBE_SERVICE_CLASH,
          `${source} and ${c.kept} both want Kubernetes ${c.service}; ${c.kept} keeps it, ${source} gets no Service`,
          { path: registry, details: { ...c } },
        );
        this.metrics.registryErrors.inc({ registry, code: err.code });
        this.logger.warn({ registry, code: err.code, clash: c }, err.message);
      }
    }
  }

  /** Reports each distinct listener conflict once and sets the gauges. */
  listenerConflicts(list: readonly ListenerConflict[]): void {
    this.listenerList = list;
    const byKind = { address: 0, domain: 0, wildcard: 0 };
    for (const c of list) {
      byKind[c.kind] += 1;
      const key = `listener|${c.kind}|${c.port}|${c.what ?? ''}|${c.resources.join(',')}`;
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      const err = new MeshbridgeError(
        ErrorCode.LISTENER_CONFLICT,
        `${c.resources.length} ServiceEntries want the same ${c.kind === 'wildcard' ? `wildcard listener 0.0.0.0:${c.port}` : c.kind === 'address' ? `listener ${c.what ?? ''}:${c.port}` : `HTTP domain ${c.what ?? ''}:${c.port}`}; ` +
          'istiod keeps the oldest and drops the others (give the registry addresses: providers, see docs/mapping.md#listener-addresses)',
        { details: { ...c } },
      );
      this.logger.warn({ code: err.code, conflict: c }, err.message);
    }
    for (const [kind, n] of Object.entries(byKind)) this.metrics.listenerConflicts.set({ kind }, n);
  }

  /** Sets the gauges of the address plan. */
  /** The selection gauges: every registry passed over now; those no longer passed over lose theirs. */
  selection(stats: readonly SelectionStats[]): void {
    const m = this.metrics;
    const now = new Set<string>();
    for (const st of stats) {
      now.add(st.registry);
      m.selectionExcludedServices.set({ registry: st.registry }, st.excludedServices);
      m.selectionExcludedEndpoints.set({ registry: st.registry }, st.excludedEndpoints);
    }
    for (const r of this.selectionGauged) {
      if (now.has(r)) continue;
      m.selectionExcludedServices.remove({ registry: r });
      m.selectionExcludedEndpoints.remove({ registry: r });
    }
    this.selectionGauged = now;
  }

  addressStats(st: AddressStats): void {
    this.metrics.sharedServiceEntries.set(st.sharedGroups);
    this.metrics.vipsAllocated.set(st.vips);
  }

  /** Sets the gauges of a registry's status. */
  registryStatus(r: Registry): void {
    const name = r.name;
    const st = r.status();
    const m = this.metrics;
    m.registryServices.set({ registry: name }, st.services);
    m.registryEndpoints.set({ registry: name }, st.endpoints);
    m.registrySynced.set({ registry: name }, st.synced ? 1 : 0);
    m.registryStale.set({ registry: name }, st.stale ? 1 : 0);
    if (st.lastSyncTime !== undefined) m.registryLastSync.set({ registry: name }, st.lastSyncTime / 1000);
  }

  /** `r` has not synced `timeoutMs` after start and stops blocking the first publish. */
  syncTimedOut(r: Registry, fromCheckpoint: boolean, timeoutMs: number): void {
    const err = new MeshbridgeError(
      ErrorCode.REGISTRY_SYNC_TIMEOUT,
      `registry ${r.name} has not synced ${Math.round(timeoutMs / 1000)} s after start; ` +
        (fromCheckpoint ? 'its services are published from the checkpoint' : 'publishing without it (it has no checkpoint)') +
        ' and it counts as stale until it syncs',
    );
    this.metrics.registryErrors.inc({ registry: r.name, code: err.code });
    this.logger.error({ registry: r.name, code: err.code, status: r.status() }, err.message);
  }

  /** A snapshot was published: its sequence and sizes. */
  published(snap: Snapshot): void {
    this.metrics.snapshotSequence.set(snap.sequence);
    let total = 0;
    for (const [kind, ks] of snap.kinds) {
      this.metrics.snapshotResources.set({ kind }, ks.resources.size);
      total += ks.resources.size;
    }
    this.logger.info({ version: snap.version, sequence: snap.sequence, resources: total }, 'snapshot published');
  }
}
