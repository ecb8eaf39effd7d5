import protobuf from 'protobufjs';
import { messageType, ProtoName, TypeUrl } from '../../proto/index.js';
import type { IstioResource, KindSnapshot, ResourceKind, Snapshot } from '../../snapshot/index.js';
import { bodyTypeUrl, encodeBody } from './body.js';
import { encodeAny, frameResource } from './response.js';

interface Entry {
  readonly kind: ResourceKind;
  readonly version: string;
  /** frameResource(Any{istio.mcp.v1alpha1.Resource}). */
  readonly field: Buffer;
}

/** The resources field of one kind at one kind version, ready to be written. */
export interface KindEncoding {
  readonly kind: ResourceKind;
  readonly kindVersion: string;
  readonly count: number;
  /** Concatenated framed resources (DiscoveryResponse field 2, repeated). */
  readonly block: Buffer;
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

/**
 * Encoded MCP resources keyed by (resource key, resource version).
 *
 * Contract:
 * - A resource is encoded once per version; a kind's block is rebuilt only when the kind version
 *   changes, and then from cached entries (one copy), re-encoding only changed resources.
 * - metadata.create_time is the first time this process saw the key (kept while the key stays
 *   in the snapshot); it never affects metadata.version, which is the resource's content hash.
 * - `retain(snapshot)` evicts every entry, create time and block not in that snapshot.
 * - A resource whose spec cannot be encoded (a conversion bug) is left out of the block and
 *   reported through onEncodeError; encodeKind never throws for it, so one bad resource cannot
 *   stop the others from being served.
 */
export class ResourceCache {
  private readonly entries = new Map<string, Entry>();
  private readonly created = new Map<string, number>();
  private readonly blocks = new Map<ResourceKind, KindEncoding>();
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
    const fields: Buffer[] = [];
    let total = 0;
    for (const r of ks.resources.values()) {
      const f = this.field(r);
      if (f === undefined) continue;
      fields.push(f);
      total += f.length;
    }
    const enc: KindEncoding = {
      kind: ks.kind,
      kindVersion: ks.version,
      count: fields.length,
      block: Buffer.concat(fields, total),
    };
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
  }

  stats(): ResourceCacheStats {
    return { entries: this.entries.size, encodes: this.encodes, hits: this.hits, failures: this.failures };
  }

  private field(r: IstioResource): Buffer | undefined {
    const hit = this.entries.get(r.key);
    if (hit !== undefined && hit.version === r.version) {
      this.hits += 1;
      return hit.field;
    }
    let field: Buffer;
    try {
      field = ownBuffer(frameResource(encodeResourceAny(r, this.createTime(r.key))));
    } catch (e) {
      this.failures += 1;
      this.onEncodeError(r, e);
      return undefined;
    }
    this.entries.set(r.key, { kind: r.kind, version: r.version, field });
    this.encodes += 1;
    return field;
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

/**
 * A copy of `b` in memory of its own. Encoders hand out slices of Node's shared 8 KiB pool; a
 * long-lived cached slice would pin its whole pool block (with the encoder's temporaries):
 * measured 48 MiB off-heap for 8.6 MiB of encodings at 10k resources (docs/benchmarks.md).
 */
function ownBuffer(b: Buffer): Buffer {
  const own = Buffer.allocUnsafeSlow(b.length);
  b.copy(own);
  return own;
}
