// What one xDS type URL holds in the current snapshot: a version and a shared frame.
import type { SnapshotStore } from '../../snapshot/index.js';
import type { TypeContent } from './connection.js';
import type { ResourceCache } from './resource-cache.js';
import { EMPTY_FRAME } from './kind-frame.js';
import { kindOfTypeUrl } from './type-url.js';

/**
 * version_info of every type Meshbridge does not publish (MeshConfig, DestinationRule, ...):
 * constant, so such a type is sent once per stream, always empty. Never equal to a kind version
 * (those are 16 hex digits).
 */
export const EMPTY_TYPE_VERSION = 'meshbridge-empty';

const EMPTY: TypeContent = { version: EMPTY_TYPE_VERSION, frame: EMPTY_FRAME };

/**
 * What a type URL holds in the current snapshot. ServiceEntry, WorkloadEntry and Sidecar (any
 * version of networking.istio.io) carry the snapshot kind's resources and version; everything else is empty.
 * Contract: called only once a snapshot exists; the returned frames are shared by every stream
 * (their resources bytes never change; see ResponseFrame for the room around them).
 */
export function typeContent(store: SnapshotStore, cache: ResourceCache, typeUrl: string): TypeContent {
  const kind = kindOfTypeUrl(typeUrl);
  const ks = kind === undefined ? undefined : store.current()?.kinds.get(kind);
  if (ks === undefined) return EMPTY;
  const enc = cache.encodeKind(ks);
  return { version: ks.version, frame: enc.frame };
}
