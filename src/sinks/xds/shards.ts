import { labelValueFor } from '../../convert/index.js';
import { ISTIO_KINDS, OwnershipLabel, ResourceKind, SnapshotStore, type IstioResource, type Snapshot } from '../../snapshot/index.js';
import { ErrorCode, MeshbridgeError } from '../../errors/index.js';
import type { Sink } from '../types.js';
import { whenAborted } from '../../util/abort.js';
import type { XdsServerOptions } from './options.js';
import { XdsServer, type XdsDebugState } from './server.js';

/**
 * Sharded MCP (ADR 0016): the snapshot served as N config sources, one xDS server per shard on
 * consecutive ports. istiod keeps one stream and one store per `configSources` entry and joins
 * the stores (the first source wins for the same kind/namespace/name), so a change re-sends and
 * istiod re-reads only its shard: 1/N of the state of the world.
 *
 * Contract:
 * - Every resource is in exactly one shard, chosen by a stable hash of its namespace and its
 *   service (a WorkloadEntry's meshbridge.io/service-entry label, else its own name): a
 *   service's ServiceEntry and WorkloadEntries are always together, and a resource never moves
 *   between shards while the shard count stays.
 * - Every shard answers every type (an empty shard answers empty lists): istiod waits for every
 *   source before it is ready.
 * - Shard stores are fed synchronously from the main store's publishes; a shard whose resources
 *   did not change publishes nothing (its streams get no push).
 */
export function shardOf(r: Pick<IstioResource, 'kind' | 'namespace' | 'name' | 'labels'>, shards: number): number {
  if (shards <= 1) return 0;
  // A WorkloadEntry's label holds its ServiceEntry's name as a label value (hashed when long).
  const owner = r.labels[OwnershipLabel.SERVICE_ENTRY] ?? (r.kind === ResourceKind.ServiceEntry ? labelValueFor(r.name) : r.name);
  return fnv1a(`${r.namespace}/${owner}`) % shards;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * N shard stores kept equal to a partition of the source store. A publish costs what changed:
 * kinds that did not change are skipped, a kind derived by a delta from the content last seen
 * is followed through its delta, and only shards whose resources changed publish (each its own
 * resources only). Construction does no I/O.
 */
export class ShardedStores {
  readonly stores: readonly SnapshotStore[];
  private readonly source: SnapshotStore;
  /** Per shard: its resources by key. */
  private readonly parts: Map<string, IstioResource>[];
  /** Per kind: the version of the content last split. */
  private readonly seen = new Map<ResourceKind, string>();
  /** Per kind: key -> shard, to find a removed key's shard. */
  private readonly owner = new Map<string, number>();

  constructor(source: SnapshotStore, shards: number) {
    this.source = source;
    this.stores = Array.from({ length: shards }, () => new SnapshotStore());
    this.parts = this.stores.map(() => new Map<string, IstioResource>());
  }

  /** Splits the current snapshot (if any) and every later one; returns the unsubscribe. */
  attach(): () => void {
    const now = this.source.current();
    if (now !== undefined) this.split(now, true);
    return this.source.subscribe((s) => this.split(s, false));
  }

  private split(snapshot: Snapshot, first: boolean): void {
    const dirty = new Set<number>();
    const n = this.stores.length;
    for (const ks of snapshot.kinds.values()) {
      if (!ISTIO_KINDS.has(ks.kind)) continue; // core Kubernetes kinds are not served over MCP
      const last = this.seen.get(ks.kind);
      if (last === ks.version) continue;
      if (last !== undefined && ks.delta?.fromVersion === last) {
        for (const key of ks.delta.removed) {
          const i = this.owner.get(key);
          if (i === undefined) continue;
          this.parts[i]?.delete(key);
          this.owner.delete(key);
          dirty.add(i);
        }
        for (const r of ks.delta.upserted) this.place(r, shardOf(r, n), dirty);
      } else {
        // Rebuilt from scratch, or content never seen: re-partition this kind.
        for (const [key, i] of this.owner) {
          if (!key.startsWith(`${ks.kind}/`) || ks.resources.has(key)) continue;
          this.parts[i]?.delete(key);
          this.owner.delete(key);
          dirty.add(i);
        }
        for (const r of ks.resources.values()) if (this.parts[this.owner.get(r.key) ?? -1]?.get(r.key) !== r) this.place(r, shardOf(r, n), dirty);
      }
      this.seen.set(ks.kind, ks.version);
    }
    // A shard publishes when its resources changed, and once at first (empty shards too: every
    // shard must answer before istiod is ready).
    this.stores.forEach((st, i) => {
      if (first || dirty.has(i) || st.current() === undefined) st.publish(this.parts[i]?.values() ?? []);
    });
  }

  private place(r: IstioResource, i: number, dirty: Set<number>): void {
    const was = this.owner.get(r.key);
    if (was !== undefined && was !== i) {
      this.parts[was]?.delete(r.key);
      dirty.add(was);
    }
    this.parts[i]?.set(r.key, r);
    this.owner.set(r.key, i);
    dirty.add(i);
  }
}

/**
 * Pure: the istiod nodes (by node ID) that stream from some shards but not from all, with the
 * shards they lack. `nodes[i]` holds the node IDs of shard i's streams.
 */
export function shardGaps(nodes: readonly (readonly string[])[]): Map<string, number[]> {
  const all = new Set(nodes.flat());
  const gaps = new Map<string, number[]>();
  for (const id of all) {
    const missing = nodes.flatMap((ids, i) => (ids.includes(id) ? [] : [i]));
    if (missing.length > 0) gaps.set(id, missing);
  }
  return gaps;
}

/** How often shard coverage is checked; a gap seen on two checks in a row is reported. */
const GAP_CHECK_MS = 10_000;

/** What /debug/xds shows with shards. */
export interface ShardedXdsDebugState {
  readonly shards: number;
  readonly servers: readonly (XdsDebugState & { readonly shard: number; readonly resources: number })[];
}

/**
 * The xDS sink with `shards` > 1: one XdsServer per shard, listening on the configured port
 * plus the shard number (port 0: each picks a free one; see ports()). Ready ("can serve") only
 * when every shard can.
 */
export class ShardedXdsServer implements Sink {
  readonly name = 'xds';
  private readonly split: ShardedStores;
  private readonly servers: readonly XdsServer[];
  private detach: (() => void) | undefined;
  private readonly options: XdsServerOptions & { readonly shards: number };
  /** Gaps seen at the last check, and those already reported (node -> missing shards text). */
  private lastGaps = new Map<string, string>();
  private reported = new Map<string, string>();

  constructor(options: XdsServerOptions & { readonly shards: number }) {
    this.options = options;
    if (!Number.isInteger(options.shards) || options.shards < 2) throw new MeshbridgeError(ErrorCode.INTERNAL, `ShardedXdsServer needs 2 or more shards, got ${options.shards}`);
    this.split = new ShardedStores(options.store, options.shards);
    const { host, port } = splitAddress(options.address);
    this.servers = this.split.stores.map(
      (store, i) =>
        new XdsServer({
          ...options,
          address: `${host}:${port === 0 ? 0 : port + i}`,
          store,
          logger: options.logger.child({ shard: i }),
        }),
    );
  }

  async start(signal: AbortSignal): Promise<void> {
    this.detach = this.split.attach();
    // One listener on the caller's signal (more than ten on one signal make Node print a
    // plain-text warning that breaks JSON-lines logs); each server gets its own signal.
    const inner = this.servers.map(() => new AbortController());
    const timer = setInterval(() => this.checkGaps(), GAP_CHECK_MS);
    timer.unref();
    whenAborted(signal, () => {
      clearInterval(timer);
      this.detach?.();
      for (const c of inner) c.abort(signal.reason);
    });
    for (const [i, s] of this.servers.entries()) await s.start(inner[i]?.signal ?? signal);
  }

  /**
   * Reports (MB_XDS_SHARD_MISSING, meshbridge_xds_shard_gaps) an istiod that streams from some
   * shards but not all on two checks in a row (a restart or a reconnect is not a gap), once per
   * node and set of missing shards.
   */
  checkGaps(): void {
    const gaps = shardGaps(this.servers.map((s) => s.debugState().clients.flatMap((c) => (c.nodeId !== undefined ? [c.nodeId] : []))));
    const now = new Map([...gaps].map(([id, m]) => [id, m.join(',')]));
    let lasting = 0;
    for (const [id, missing] of now) {
      if (this.lastGaps.get(id) !== missing) continue;
      lasting += 1;
      if (this.reported.get(id) === missing) continue;
      this.reported.set(id, missing);
      this.options.logger.error(
        { code: ErrorCode.XDS_SHARD_MISSING, nodeId: id, missingShards: missing, shards: this.servers.length },
        `istiod ${id} streams from ${this.servers.length - (gaps.get(id)?.length ?? 0)} of ${this.servers.length} MCP shards: add the missing ones (ports ${(gaps.get(id) ?? []).map((i) => this.servers[i]?.port()).join(', ')}) to its meshConfig.configSources, or it misses their services`,
      );
    }
    for (const id of this.reported.keys()) if (!now.has(id)) this.reported.delete(id);
    this.lastGaps = now;
    this.options.metrics.xdsShardGaps.set(lasting);
  }

  canServe(): boolean {
    return this.servers.every((s) => s.canServe());
  }

  /** The first shard's port. */
  port(): number {
    return this.servers[0]?.port() ?? 0;
  }

  ports(): number[] {
    return this.servers.map((s) => s.port());
  }

  stopped(): Promise<void> {
    return Promise.all(this.servers.map((s) => s.stopped())).then(() => undefined);
  }

  debugState(): ShardedXdsDebugState {
    return {
      shards: this.servers.length,
      servers: this.servers.map((s, i) => {
        let resources = 0;
        for (const k of this.split.stores[i]?.current()?.kinds.values() ?? []) resources += k.resources.size;
        return { shard: i, resources, ...s.debugState() };
      }),
    };
  }
}

/** `host:port` (host may be a bracketed IPv6 literal). */
function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
}
