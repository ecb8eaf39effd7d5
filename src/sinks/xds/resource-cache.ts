import protobuf from 'protobufjs';
import { messageType, ProtoName, TypeUrl } from '../../proto/index.js';
import type { IstioResource, KindSnapshot, ResourceKind, Snapshot } from '../../snapshot/index.js';
import { bodyTypeUrl, encodeBody } from './spec-encoding.js';
import { encodeAny, frameResource } from './response-assembly.js';
import { ResponseFrame } from './kind-frame.js';

/** Where one resource's framed bytes live: a range of the frame its kind was last built into. */
interface Entry {
  readonly kind: ResourceKind;
  readonly version: string;
  frame: ResponseFrame;
  /** Offset in frame.block() and length of frameResource(Any{istio.mcp.v1alpha1.Resource}). */
  start: number;
  readonly length: number;
}

/** The resources field of one kind at one kind version, ready to be written. */
export interface KindEncoding {
  readonly kind: ResourceKind;
  readonly kindVersion: string;
  readonly count: number;
  /** Concatenated framed resources (DiscoveryResponse field 2, repeated): frame.block(). */
  readonly block: Buffer;
  /** The same bytes with room for the response's other fields (see ResponseFrame). */
  readonly frame: ResponseFrame;
}

export interface ResourceCacheStats {
  readonly entries: number;
  readonly encodes: number;
  readonly hits: number;
  readonly failures: number;
}

export interface ResourceCacheOptions {
  /** Clock for metadata.create_time (ms since the epoch). Default Date.now. */
  readonly now?: (() => number) | undefined;
  /** Called for a resource whose spec cannot be encoded; that resource is left out. */
  readonly onEncodeError?: ((resource: IstioResource, error: unknown) => void) | undefined;
}

/** A kind's live frame and the one before it, whose memory the next rebuild may reuse. */
interface FrameSlot {
  current: ResponseFrame | undefined;
  spare: ResponseFrame | undefined;
}

/** A spare frame is dropped this long after the first rebuild that kept one (RSS at rest). */
const SPARE_MAX_AGE_MS = 10_000;

/** One resource of a kind being rebuilt: bytes to copy from an old frame, or fresh bytes. */
interface Piece {
  readonly entry: Entry | undefined;
  readonly fresh: Buffer | undefined;
  readonly key: string;
  readonly r: IstioResource;
}

/**
 * Encoded MCP resources keyed by (resource key, resource version).
 *
 * Contract:
 * - A resource is encoded once per version; a kind's frame is rebuilt only when the kind version
 *   changes, and then from the previous frame's bytes (one copy, runs of neighbours copied
 *   together), encoding only changed resources.
 * - The encoded bytes are held once: each entry is a range of its kind's current frame, so memory
 *   is one copy of the encodings per kind, plus for at most SPARE_MAX_AGE_MS the previous frame,
 *   whose memory the next rebuild reuses once no queued response points at it (no 17 MiB
 *   allocation per push at 10,000 ServiceEntries). An entry counts as cached only while it is a
 *   range of its kind's current frame.
 * - metadata.create_time is the first time this process saw the key (kept while the key stays
 *   in the snapshot); it never affects metadata.version, which is the resource's content hash.
 * - `retain(snapshot)` evicts every entry, create time and frame not in that snapshot.
 * - A resource whose spec cannot be encoded (a conversion bug) is left out of the frame and
 *   reported through onEncodeError; encodeKind never throws for it, so one bad resource cannot
 *   stop the others from being served.
 */
export class ResourceCache {
  private readonly entries = new Map<string, Entry>();
  private readonly created = new Map<string, number>();
  private readonly blocks = new Map<ResourceKind, KindEncoding>();
  private readonly frames = new Map<ResourceKind, FrameSlot>();
  private spareTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly onEncodeError: (resource: IstioResource, error: unknown) => void;
  private encodes = 0;
  private hits = 0;
  private failures = 0;

  constructor(options: ResourceCacheOptions = {}) {
    this.now = options.now ?? Date.now;
    this.onEncodeError = options.onEncodeError ?? (() => undefined);
  }

  encodeKind(ks: KindSnapshot): KindEncoding {
    const memo = this.blocks.get(ks.kind);
    if (memo !== undefined && memo.kindVersion === ks.version) return memo;
    const pieces: Piece[] = [];
    const arena = new Arena();
    let slot = this.frames.get(ks.kind);
    if (slot === undefined) this.frames.set(ks.kind, (slot = { current: undefined, spare: undefined }));
    let total = 0;
    for (const r of ks.resources.values()) {
      const hit = this.entries.get(r.key);
      if (hit !== undefined && hit.version === r.version && hit.frame === slot.current) {
        this.hits += 1;
        pieces.push({ entry: hit, fresh: undefined, key: r.key, r });
        total += hit.length;
        continue;
      }
      const fresh = this.encode(r, arena);
      if (fresh === undefined) continue;
      pieces.push({ entry: undefined, fresh, key: r.key, r });
      total += fresh.length;
    }
    const frame = this.newFrame(slot, total, pieces.length);
    const out = frame.block();
    // Copy runs of neighbouring ranges of one old frame at once: a kind rebuilt after one change
    // is a handful of copies, not one per resource.
    let pos = 0;
    let runFrame: ResponseFrame | undefined;
    let runStart = 0;
    let runEnd = 0;
    let runPos = 0;
    const flushRun = (): void => {
      if (runFrame !== undefined && runEnd > runStart) runFrame.block().copy(out, runPos, runStart, runEnd);
      runFrame = undefined;
    };
    for (const p of pieces) {
      const e = p.entry;
      if (e !== undefined) {
        if (e.frame !== runFrame || e.start !== runEnd) {
          flushRun();
          runFrame = e.frame;
          runStart = e.start;
          runEnd = e.start;
          runPos = pos;
        }
        runEnd += e.length;
        e.frame = frame;
        e.start = pos;
        pos += e.length;
      } else if (p.fresh !== undefined) {
        flushRun();
        p.fresh.copy(out, pos);
        this.entries.set(p.key, { kind: p.r.kind, version: p.r.version, frame, start: pos, length: p.fresh.length });
        pos += p.fresh.length;
      }
    }
    flushRun();
    slot.spare = slot.current;
    slot.current = frame;
    this.armSpareTimer();
    const enc: KindEncoding = { kind: ks.kind, kindVersion: ks.version, count: pieces.length, block: out, frame };
    this.blocks.set(ks.kind, enc);
    return enc;
  }

  retain(snapshot: Snapshot): void {
    for (const [key, e] of this.entries) {
      if (snapshot.kinds.get(e.kind)?.resources.get(key)?.version !== e.version) this.entries.delete(key);
    }
    for (const key of this.created.keys()) {
      if (!this.entries.has(key) && !inSnapshot(snapshot, key)) this.created.delete(key);
    }
    for (const [kind, b] of this.blocks) {
      if (snapshot.kinds.get(kind)?.version !== b.kindVersion) this.blocks.delete(kind);
    }
    for (const kind of this.frames.keys()) if (!snapshot.kinds.has(kind)) this.frames.delete(kind);
  }

  /** The frame to build into: the spare's memory when it is free and big enough, else new memory. */
  private newFrame(slot: FrameSlot, length: number, count: number): ResponseFrame {
    const spare = slot.spare;
    slot.spare = undefined;
    if (spare !== undefined && !spare.isPinned() && spare.fits(length)) return ResponseFrame.reuse(spare, length, count);
    // 1/16 spare capacity: a kind that grows a little still fits when its memory comes back.
    return ResponseFrame.allocate(length, count, length >>> 4);
  }

  private armSpareTimer(): void {
    if (this.spareTimer !== undefined) return;
    this.spareTimer = setTimeout(() => {
      this.spareTimer = undefined;
      for (const slot of this.frames.values()) slot.spare = undefined;
    }, SPARE_MAX_AGE_MS);
    this.spareTimer.unref();
  }

  stats(): ResourceCacheStats {
    return { entries: this.entries.size, encodes: this.encodes, hits: this.hits, failures: this.failures };
  }

  /** Fresh bytes of one resource, copied into `arena` (they are copied into the frame next). */
  private encode(r: IstioResource, arena: Arena): Buffer | undefined {
    try {
      const b = arena.copy(frameResource(encodeResourceAny(r, this.createTime(r.key))));
      this.encodes += 1;
      return b;
    } catch (e) {
      this.failures += 1;
      this.onEncodeError(r, e);
      return undefined;
    }
  }

  private createTime(key: string): number {
    let t = this.created.get(key);
    if (t === undefined) {
      t = this.now();
      this.created.set(key, t);
    }
    return t;
  }
}

let metadataType: protobuf.Type | undefined;

const ARENA_CHUNK = 1024 * 1024;

/**
 * Staging for the fresh encodings of one rebuild. protobufjs hands out slices of Node's shared
 * 8 KiB pool; holding 10,000 of them until the frame is built pinned every pool block they
 * touched (with the encoder's temporaries) and left RSS ~70 MB higher after a full sync. Copies
 * into 1 MiB chunks of our own are dropped together once the frame is built.
 */
class Arena {
  private chunk: Buffer | undefined;
  private used = 0;
  /** Chunks grow from 64 KiB to ARENA_CHUNK: a one-change rebuild stays small. */
  private nextSize = 64 * 1024;

  copy(b: Buffer): Buffer {
    if (b.length > 16 * 1024) {
      const own = Buffer.allocUnsafeSlow(b.length);
      b.copy(own);
      return own;
    }
    if (this.chunk === undefined || this.used + b.length > this.chunk.length) {
      this.chunk = Buffer.allocUnsafeSlow(this.nextSize);
      this.nextSize = Math.min(ARENA_CHUNK, this.nextSize * 2);
      this.used = 0;
    }
    b.copy(this.chunk, this.used);
    const out = this.chunk.subarray(this.used, this.used + b.length);
    this.used += b.length;
    return out;
  }
}

function inSnapshot(snapshot: Snapshot, key: string): boolean {
  for (const ks of snapshot.kinds.values()) if (ks.resources.has(key)) return true;
  return false;
}

const TAG_METADATA = (1 << 3) | 2;
const TAG_BODY = (2 << 3) | 2;

/**
 * google.protobuf.Any{type.googleapis.com/istio.mcp.v1alpha1.Resource} of one resource:
 * metadata {name "namespace/name", create_time, version, labels, annotations}, body Any of the
 * v1alpha3 message. Metadata is encoded by protobufjs from src/proto (camelCase names); the Resource
 * {1 metadata, 2 body} and both Anys are written by hand (see encodeAny).
 */
export function encodeResourceAny(r: IstioResource, createTimeMs: number): Uint8Array {
  const md = (metadataType ??= messageType(ProtoName.McpMetadata));
  const ms = Math.floor(createTimeMs);
  const metadata = md
    .encode({
      name: `${r.namespace}/${r.name}`,
      createTime: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 },
      version: r.version,
      labels: r.labels,
      annotations: r.annotations,
    })
    .finish();
  const body = encodeAny(bodyTypeUrl(r.kind), encodeBody(r));
  const resource = protobuf.Writer.create().uint32(TAG_METADATA).bytes(metadata).uint32(TAG_BODY).bytes(body).finish();
  return encodeAny(TypeUrl.McpResource, resource);
}
