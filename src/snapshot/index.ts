export {
  ResourceKind,
  ISTIO_GROUP,
  ISTIO_API_VERSION,
  ISTIO_KINDS,
  SPECLESS_KINDS,
  apiVersionOf,
  OwnershipLabel,
  ContentHashAnnotation,
  SERVICE_NAME_LABEL,
  SLICE_MANAGED_BY_LABEL,
  MANAGED_BY_CONTROLLER,
  resourceKey,
} from './resource.js';
export type { IstioResource } from './resource.js';
export { SnapshotStore } from './store.js';
export type { Snapshot, KindSnapshot, KindDelta, SnapshotListener } from './store.js';
export { toManifest, toObject } from './manifest.js';
export type { IstioManifest, KubeObject } from './manifest.js';
