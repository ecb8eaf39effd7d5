import type protobuf from 'protobufjs';
import { messageType, ProtoName, TypeUrl } from '../../proto/index.js';
import type { IstioResource, KindSnapshot, ResourceKind, Snapshot } from '../../snapshot/index.js';
import { bodyTypeUrl, encodeBody } from './body.js';
import { frameResource } from './response.js';

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
 */
export class ResourceCache {
  private readonly entries = new Map<string, Entry>();
  private readonly created = new Map<string, number>();
  private readonly blocks = new Map<ResourceKind, KindEncoding>();
  private readonly now: () => number;
  private encodes = 0;
  private hits = 0;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  encodeKind(ks: KindSnapshot): KindEncoding {
    const memo = this.blocks.get(ks.kind);
    if (memo !== undefined && memo.kindVersion === ks.version) return memo;
    const fields: Buffer[] = [];
    let total = 0;
    for (const r of ks.resources.values()) {
      const f = this.field(r);
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
    return { entries: this.entries.size, encodes: this.encodes, hits: this.hits };
  }

  private field(r: IstioResource): Buffer {
    const hit = this.entries.get(r.key);
    if (hit !== undefined && hit.version === r.version) {
      this.hits += 1;
      return hit.field;
    }
    const field = frameResource(encodeResourceAny(r, this.createTime(r.key)));
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

let mcpTypes: { readonly resource: protobuf.Type; readonly any: protobuf.Type } | undefined;

function inSnapshot(snapshot: Snapshot, key: string): boolean {
  for (const ks of snapshot.kinds.values()) if (ks.resources.has(key)) return true;
  return false;
}

/**
 * google.protobuf.Any{type.googleapis.com/istio.mcp.v1alpha1.Resource} of one resource:
 * metadata {name "namespace/name", create_time, version, labels, annotations}, body Any of the
 * v1alpha3 message.
 */
export function encodeResourceAny(r: IstioResource, createTimeMs: number): Uint8Array {
  const { resource, any } = (mcpTypes ??= {
    resource: messageType(ProtoName.McpResource),
    any: messageType(ProtoName.Any),
  });
  const value = resource
    .encode({
      metadata: {
        name: `${r.namespace}/${r.name}`,
        createTime: { seconds: Math.floor(createTimeMs / 1000), nanos: (createTimeMs % 1000) * 1_000_000 },
        version: r.version,
        labels: r.labels,
        annotations: r.annotations,
      },
      body: { typeUrl: bodyTypeUrl(r.kind), value: encodeBody(r) },
    })
    .finish();
  return any.encode({ typeUrl: TypeUrl.McpResource, value }).finish();
}
