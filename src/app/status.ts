import type { GuardState } from '../core/protect.js';
import type { Readiness } from '../observability/admin.js';
import type { ListingProgress, Registry } from '../registry/types.js';
import type { KubernetesSinkDebug } from '../sinks/kubernetes/sink.js';
import type { RenderSinkDebug } from '../sinks/render/index.js';
import type { ShardedXdsDebugState, XdsDebugState } from '../sinks/xds/index.js';
import type { SnapshotStore } from '../snapshot/index.js';
import type { ProblemCount } from './context.js';

/**
 * The status summary: what the status page (GET /, docs/operations.md#status-page) shows and
 * GET /debug/status serves, one compact JSON value. It is also what /debug/events pushes (about
 * once a second while it changes), so it holds no per-service data: the service list and the
 * published objects are separate pages (status-services.ts).
 */

/** What the summary reads (the live parts of the App). */
export interface StatusSources {
  readonly registries: readonly Registry[];
  readonly store: SnapshotStore;
  readonly pipeline: { guardState(): readonly GuardState[] };
  readonly problems: { byCode(): readonly ProblemCount[] };
  readonly readiness: () => Readiness;
  readonly xds: { debugState(): XdsDebugState | ShardedXdsDebugState } | undefined;
  readonly kubernetes: { debugState(): KubernetesSinkDebug } | undefined;
  readonly render: { debug(): RenderSinkDebug } | undefined;
  readonly now?: () => number;
}

/** One word for a registry, worst first: held, stale, unreachable, syncing, ok. */
export type RegistryState = 'held' | 'stale' | 'unreachable' | 'syncing' | 'ok';

export interface RegistrySummary {
  readonly name: string;
  readonly kind: string;
  readonly state: RegistryState;
  readonly connected: boolean;
  readonly synced: boolean;
  readonly stale: boolean;
  /** The deletion guard holds this registry's deletions (POST /debug/release?registry=NAME ends it). */
  readonly held: { readonly since: string; readonly reasons: readonly string[]; readonly services: number; readonly releaseAt: string | undefined } | undefined;
  readonly services: number;
  readonly endpoints: number;
  readonly lastSyncTime: number | undefined;
  readonly lastChangeTime: number | undefined;
  readonly lastError: { readonly code: string; readonly message: string } | undefined;
  readonly progress: ListingProgress | undefined;
}

export interface XdsClientSummary {
  readonly id: number;
  readonly nodeId: string | undefined;
  readonly peer: string;
  readonly connectedAt: string;
  /** Per subscribed type: its short name (ServiceEntry), what was sent, ACKed, and NACKs. */
  readonly types: readonly {
    readonly type: string;
    readonly sent: string | undefined;
    readonly acked: string | undefined;
    readonly reply: string;
    readonly nacks: number;
    readonly lastNack: string | undefined;
  }[];
}

export interface XdsSummary {
  readonly servers: readonly { readonly shard: number | undefined; readonly port: number | undefined; readonly serving: boolean; readonly clients: readonly XdsClientSummary[] }[];
}

export interface KubernetesSummary {
  readonly leader: boolean;
  readonly cachesSynced: boolean;
  readonly lastWriteTime: number | undefined;
  readonly lastReconcile: string | undefined;
  readonly pendingWrites: number;
  readonly oldestPendingMs: number;
  readonly writes: KubernetesSinkDebug['writes'];
  readonly clashes: number;
  /** The first clashes (at most MAX_LISTED). */
  readonly clashList: KubernetesSinkDebug['clashes'];
  readonly heldDeletions: KubernetesSinkDebug['held'];
}

export type RenderSummary = Pick<RenderSinkDebug, 'mode' | 'lastVersion' | 'lastWriteTime' | 'files' | 'failures' | 'lastError'>;

export interface StatusSummary {
  readonly generatedAt: number;
  readonly ready: boolean;
  readonly reasons: readonly string[];
  readonly notes: readonly string[];
  readonly snapshot: { readonly version: string; readonly sequence: number; readonly createdAt: number; readonly resources: Readonly<Record<string, number>> } | undefined;
  readonly registries: readonly RegistrySummary[];
  readonly sinks: {
    readonly kubernetes?: KubernetesSummary;
    readonly xds?: XdsSummary;
    readonly render?: RenderSummary;
  };
  /** Problems by code, most frequent first (ProblemLog.byCode). */
  readonly problems: readonly ProblemCount[];
}

/** Lists in the summary (clashes, xDS clients) are cut to this many; counts stay whole. */
export const MAX_LISTED = 20;

/** Builds the summary. O(registries + sinks' clients + problem codes): never walks services. */
export function buildStatus(src: StatusSources): StatusSummary {
  const guard = new Map(src.pipeline.guardState().map((g) => [g.registry, g]));
  const r = src.readiness();
  const snap = src.store.current();
  const sinks: { kubernetes?: KubernetesSummary; xds?: XdsSummary; render?: RenderSummary } = {};
  if (src.kubernetes !== undefined) sinks.kubernetes = kubernetesSummary(src.kubernetes.debugState());
  if (src.xds !== undefined) sinks.xds = xdsSummary(src.xds.debugState());
  if (src.render !== undefined) {
    const d = src.render.debug();
    sinks.render = { mode: d.mode, lastVersion: d.lastVersion, lastWriteTime: d.lastWriteTime, files: d.files, failures: d.failures, lastError: d.lastError };
  }
  return {
    generatedAt: (src.now ?? Date.now)(),
    ready: r.ready,
    reasons: r.reasons,
    notes: r.notes ?? [],
    snapshot:
      snap === undefined
        ? undefined
        : {
            version: snap.version,
            sequence: snap.sequence,
            createdAt: snap.createdAt.getTime(),
            resources: Object.fromEntries([...snap.kinds].map(([kind, ks]) => [kind, ks.resources.size])),
          },
    registries: src.registries.map((reg) => registrySummary(reg, guard.get(reg.name))),
    sinks,
    problems: src.problems.byCode(),
  };
}

function registrySummary(reg: Registry, g: GuardState | undefined): RegistrySummary {
  const st = reg.status();
  const hold = g?.hold;
  const state: RegistryState =
    hold !== undefined ? 'held' : st.stale ? 'stale' : !st.synced ? (st.lastError !== undefined ? 'unreachable' : 'syncing') : !st.connected ? 'unreachable' : 'ok';
  return {
    name: st.name,
    kind: st.kind,
    state,
    connected: st.connected,
    synced: st.synced,
    stale: st.stale,
    held: hold === undefined ? undefined : { since: hold.since, reasons: hold.reasons.map(String), services: hold.heldServices, releaseAt: hold.releaseAt },
    services: st.services,
    endpoints: st.endpoints,
    lastSyncTime: st.lastSyncTime,
    lastChangeTime: st.lastChangeTime,
    lastError: st.lastError,
    progress: st.synced ? undefined : st.progress,
  };
}

function kubernetesSummary(d: KubernetesSinkDebug): KubernetesSummary {
  return {
    leader: d.leader,
    cachesSynced: d.cachesSynced,
    lastWriteTime: d.lastWriteTime,
    lastReconcile: d.lastReconcile,
    pendingWrites: d.pending.writes,
    oldestPendingMs: d.pending.oldestAgeMs,
    writes: d.writes,
    clashes: d.clashes.length,
    clashList: d.clashes.slice(0, MAX_LISTED),
    heldDeletions: d.held,
  };
}

function xdsSummary(d: XdsDebugState | ShardedXdsDebugState): XdsSummary {
  const servers = 'servers' in d ? d.servers : [{ ...d, shard: undefined }];
  return {
    servers: servers.map((s) => ({
      shard: s.shard,
      port: s.port,
      serving: s.serving,
      clients: s.clients.slice(0, MAX_LISTED).map((c) => ({
        id: c.id,
        nodeId: c.nodeId,
        peer: c.peer,
        connectedAt: c.connectedAt,
        types: c.types.map((t) => ({
          type: shortType(t.typeUrl),
          sent: t.sentVersion,
          acked: t.ackedVersion,
          reply: t.reply,
          nacks: t.nacks,
          lastNack: t.lastNack,
        })),
      })),
    })),
  };
}

/** `type.googleapis.com/...`, `networking.istio.io/v1/ServiceEntry` -> the last path segment. */
export function shortType(typeUrl: string): string {
  const at = typeUrl.lastIndexOf('/');
  const tail = at < 0 ? typeUrl : typeUrl.slice(at + 1);
  return tail === '' ? typeUrl : tail;
}
