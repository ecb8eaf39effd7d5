export {
  ResourceKind,
  ISTIO_GROUP,
  ISTIO_API_VERSION,
  OwnershipLabel,
  ContentHashAnnotation,
  resourceKey,
} from './resource.js';
export type { IstioResource } from './resource.js';
export { SnapshotStore } from './store.js';
export type { Snapshot, KindSnapshot, KindDelta, SnapshotListener } from './store.js';
export { toManifest } from './manifest.js';
export type { IstioManifest } from './manifest.js';
