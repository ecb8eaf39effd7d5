import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Sampling interval of meshbridge_nodejs_eventloop_lag_* (see withProcessMetrics). */
export const EVENT_LOOP_SAMPLE_MS = 1000;

/** `meshbridge_render_writes_total{op="write"|"delete"|"stream", result="ok"|"error"}` (Metrics.renderWrites). */
export const RENDER_WRITES_METRIC = 'meshbridge_render_writes_total';

/**
 * Every Prometheus metric Meshbridge exports, on a registry of its own (several instances can
 * live in one process, as tests do). Names are part of the public interface: docs/operations.md
 * lists them.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly registryServices = new Gauge({
    name: 'meshbridge_registry_services',
    help: 'Services currently known per registry.',
    labelNames: ['registry'] as const,
    registers: [this.registry],
  });
  readonly registryEndpoints = new Gauge({
    name: 'meshbridge_registry_endpoints',
    help: 'Endpoints currently known per registry.',
    labelNames: ['registry'] as const,
    registers: [this.registry],
  });
  readonly registrySynced = new Gauge({
    name: 'meshbridge_registry_synced',
    help: '1 once the registry completed its first full sync.',
    labelNames: ['registry'] as const,
    registers: [this.registry],
  });
  readonly registryStale = new Gauge({
    name: 'meshbridge_registry_stale',
    help: '1 while the registry is unreachable and its last known state is served.',
    labelNames: ['registry'] as const,
    registers: [this.registry],
  });
  readonly registryLastSync = new Gauge({
    name: 'meshbridge_registry_last_sync_timestamp_seconds',
    help: 'Unix time of the last successful sync per registry.',
    labelNames: ['registry'] as const,
    registers: [this.registry],
  });
  readonly registryErrors = new Counter({
    name: 'meshbridge_registry_errors_total',
    help: 'Problems reported by registries (skipped entries, connection errors), by error code.',
    labelNames: ['registry', 'code'] as const,
    registers: [this.registry],
  });
  readonly entriesSkipped = new Counter({
    name: 'meshbridge_entries_skipped_total',
    help: 'Registry entries or services skipped because they were invalid, by error code.',
    labelNames: ['registry', 'code'] as const,
    registers: [this.registry],
  });
  readonly labelsDropped = new Counter({
    name: 'meshbridge_labels_dropped_total',
    help: 'Instance metadata entries dropped because they are not valid Kubernetes labels.',
    labelNames: ['registry'] as const,
    registers: [this.registry],
  });
  readonly selectionExcludedServices = new Gauge({
    name: 'meshbridge_selection_excluded_services',
    help: "Services of a registry its selection rules keep out of the published config (registries[].select).",
    labelNames: ['registry'] as const,
    registers: [this.registry],
  });
  readonly selectionExcludedEndpoints = new Gauge({
    name: 'meshbridge_selection_excluded_endpoints',
    help: "Endpoints of a registry its selection rules keep out: those of excluded services and those the endpoint metadata rules drop.",
    labelNames: ['registry'] as const,
    registers: [this.registry],
  });
  readonly listenerConflicts = new Gauge({
    name: 'meshbridge_listener_conflicts',
    help: 'Places on a sidecar outbound side (listener address, HTTP domain, wildcard listener) that several published ServiceEntries want, by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly sharedServiceEntries = new Gauge({
    name: 'meshbridge_shared_service_entries',
    help: 'Shared ServiceEntries published for provider ip:ports that several services listen on.',
    registers: [this.registry],
  });
  readonly vipsAllocated = new Gauge({
    name: 'meshbridge_vips_allocated',
    help: 'VIPs held by services that have no provider IP of their own.',
    registers: [this.registry],
  });
  readonly protectHeld = new Counter({
    name: 'meshbridge_protect_held_total',
    help: 'Holds begun by the deletion guard (a registry lost more services or endpoints than it allows).',
    labelNames: ['registry'] as const,
    registers: [this.registry],
  });
  readonly checkpointWrites = new Counter({
    name: 'meshbridge_checkpoint_writes_total',
    help: 'Checkpoint files written.',
    registers: [this.registry],
  });
  readonly checkpointErrors = new Counter({
    name: 'meshbridge_checkpoint_errors_total',
    help: 'Checkpoint reads or writes that failed, by op (read, write).',
    labelNames: ['op'] as const,
    registers: [this.registry],
  });
  readonly checkpointBytes = new Gauge({
    name: 'meshbridge_checkpoint_bytes',
    help: 'Size of the last checkpoint written.',
    registers: [this.registry],
  });
  readonly protectHeldServices = new Gauge({
    name: 'meshbridge_protect_held_services',
    help: 'Services gone from the registry that the deletion guard keeps published.',
    labelNames: ['registry'] as const,
    registers: [this.registry],
  });
  readonly protectHeldEndpoints = new Gauge({
    name: 'meshbridge_protect_held_endpoints',
    help: 'Endpoints gone from the registry that the deletion guard keeps published.',
    labelNames: ['registry'] as const,
    registers: [this.registry],
  });
  readonly protectReleases = new Counter({
    name: 'meshbridge_protect_releases_total',
    help: 'Holds ended, by cause: recovered (back complete), settled (back to its numbers for protectSettleSeconds), operator, time.',
    labelNames: ['registry', 'cause'] as const,
    registers: [this.registry],
  });
  readonly debounceEvents = new Counter({
    name: 'meshbridge_debounce_events_total',
    help: 'Change events that reached the debouncer.',
    registers: [this.registry],
  });
  readonly debounceMerged = new Counter({
    name: 'meshbridge_debounce_merged_total',
    help: 'Change events merged into an already pending flush.',
    registers: [this.registry],
  });
  readonly xdsShardGaps = new Gauge({
    name: 'meshbridge_xds_shard_gaps',
    help: 'istiod nodes that stream from some MCP shards but not from all (sinks.xds.shards; MB_XDS_SHARD_MISSING): their configSources lack a shard.',
    registers: [this.registry],
  });
  readonly debounceLeading = new Counter({
    name: 'meshbridge_debounce_leading_total',
    help: 'Isolated changes flushed at once (leading edge, debounce.leadingEdge) instead of after the quiet period.',
    registers: [this.registry],
  });
  readonly debounceFlushes = new Counter({
    name: 'meshbridge_debounce_flushes_total',
    help: 'Flushes of the debouncer (each may publish a snapshot).',
    registers: [this.registry],
  });
  readonly flushFullPasses = new Counter({
    name: 'meshbridge_flush_full_passes_total',
    help: 'Flushes that merged every host (first flush, held deletions, or a change no event announced); the others redo only changed hosts.',
    registers: [this.registry],
  });
  readonly snapshotSequence = new Gauge({
    name: 'meshbridge_snapshot_version',
    help: 'Sequence number of the current snapshot (increments on every content change).',
    registers: [this.registry],
  });
  readonly snapshotResources = new Gauge({
    name: 'meshbridge_snapshot_resources',
    help: 'Resources in the current snapshot, by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly buildDuration = new Histogram({
    name: 'meshbridge_snapshot_build_duration_seconds',
    help: 'Time to merge, convert and publish one snapshot.',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly xdsClients = new Gauge({
    name: 'meshbridge_xds_connected_clients',
    help: 'Open ADS streams.',
    registers: [this.registry],
  });
  readonly xdsPushes = new Counter({
    name: 'meshbridge_xds_pushes_total',
    help: 'DiscoveryResponses sent, by type URL.',
    labelNames: ['type_url'] as const,
    registers: [this.registry],
  });
  readonly xdsPushDuration = new Histogram({
    name: 'meshbridge_xds_push_duration_seconds',
    help: 'Time to assemble and write one DiscoveryResponse.',
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [this.registry],
  });
  readonly xdsPushBytes = new Counter({
    name: 'meshbridge_xds_push_bytes_total',
    help: 'Bytes of DiscoveryResponses sent.',
    registers: [this.registry],
  });
  readonly xdsQueuedBytes = new Gauge({
    name: 'meshbridge_xds_queued_bytes',
    help: 'Bytes of DiscoveryResponses written to ADS streams and not yet flushed to the transport (all streams).',
    registers: [this.registry],
  });
  readonly xdsHeld = new Counter({
    name: 'meshbridge_xds_pushes_deferred_total',
    help: 'Pushes deferred because the previous response of the type on that stream was not yet ACKed or NACKed (newer state replaces it).',
    labelNames: ['type_url'] as const,
    registers: [this.registry],
  });
  readonly xdsNacks = new Counter({
    name: 'meshbridge_xds_nacks_total',
    help: 'DiscoveryResponses rejected by a client (NACK), by type URL. istiod never NACKs.',
    labelNames: ['type_url'] as const,
    registers: [this.registry],
  });
  readonly xdsBadRequests = new Counter({
    name: 'meshbridge_xds_bad_requests_total',
    help: 'Streams closed because a client sent a request that cannot be answered (MB_XDS_BAD_REQUEST: no type URL, undecodable).',
    registers: [this.registry],
  });

  readonly kubeWrites = new Counter({
    name: 'meshbridge_kube_writes_total',
    help: 'Writes to the Kubernetes API server by operation (apply, delete), kind and result.',
    labelNames: ['op', 'kind', 'result'] as const,
    registers: [this.registry],
  });
  readonly kubeClashes = new Gauge({
    name: 'meshbridge_kube_host_clashes',
    help: 'Resources not written because an object Meshbridge does not own claims their host or name.',
    registers: [this.registry],
  });
  readonly kubeWritesFenced = new Counter({
    name: 'meshbridge_kube_writes_fenced_total',
    help: 'Kubernetes writes not sent because this replica lost leadership while they waited (rate limiter, backoff).',
    registers: [this.registry],
  });
  readonly kubeReconciles = new Counter({
    name: 'meshbridge_kube_reconciles_total',
    help: 'Planning passes of the Kubernetes sink, by plan: full (every desired object against the cluster view) or changes (only what the snapshot added or replaced since a pass that left nothing to do). One per new snapshot or plan-relevant change in the cluster, not per status write.',
    labelNames: ['plan'] as const,
    registers: [this.registry],
  });
  readonly kubePendingWrites = new Gauge({
    name: 'meshbridge_kube_pending_writes',
    help: 'Objects whose write (apply or delete) the Kubernetes sink still owes: one per object, however many snapshots changed it.',
    registers: [this.registry],
  });
  readonly kubePendingOldest = new Gauge({
    name: 'meshbridge_kube_pending_oldest_seconds',
    help: 'Age of the oldest write the Kubernetes sink still owes (0 when none): the backlog ahead of a new change.',
    registers: [this.registry],
  });
  readonly kubePassesPreempted = new Counter({
    name: 'meshbridge_kube_passes_preempted_total',
    help: 'Write passes that stopped early because a newer snapshot arrived (the rest is re-planned from it, latest wins).',
    registers: [this.registry],
  });
  readonly kubeLeader = new Gauge({
    name: 'meshbridge_kube_leader',
    help: '1 while this replica holds the leader lease and writes to the API server.',
    registers: [this.registry],
  });
  readonly kubeLeaderElection = new Gauge({
    name: 'meshbridge_kube_leader_election',
    help: '1 while the Kubernetes sink runs with leader election (replicas compete for the Lease), else 0: tells "no replica leads" from "no Kubernetes sink".',
    registers: [this.registry],
  });

  readonly configReloads = new Counter({
    name: 'meshbridge_config_reloads_total',
    help: 'Config reloads (file change or SIGHUP) by result: applied, unchanged, invalid (the old config keeps running), restart_required (nothing applied).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly configInfo = new Gauge({
    name: 'meshbridge_config_info',
    help: 'Always 1, labelled with the content hash of the config running now (hash of the resolved config).',
    labelNames: ['hash'] as const,
    registers: [this.registry],
  });
  readonly configLastReloadSuccess = new Gauge({
    name: 'meshbridge_config_last_reload_success_timestamp_seconds',
    help: 'Unix time the running config was loaded: at start, then at each applied reload.',
    registers: [this.registry],
  });

  /** Shared by every render sink of this registry. */
  readonly renderWrites = new Counter({
    name: RENDER_WRITES_METRIC,
    help: 'Files written or deleted by the render sink (op write/delete), or snapshots written to its stream (op stream), by result.',
    labelNames: ['op', 'result'] as const,
    registers: [this.registry],
  });

  /**
   * Adds Node.js process metrics (memory, CPU, event loop lag).
   *
   * The event-loop delay histogram samples every EVENT_LOOP_SAMPLE_MS (prom-client's default, 10 ms,
   * woke an idle process 100 times a second: ~0.3 CPU s per minute; 100 ms still cost ~0.09 s per
   * minute over 1 s; measured in bench/footprint). A stall longer than the interval is still seen
   * whole; shorter ones are sampled. `nodejs_eventloop_lag_seconds` is measured at each scrape.
   */
  withProcessMetrics(): this {
    collectDefaultMetrics({ register: this.registry, prefix: 'meshbridge_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    return this;
  }
}
