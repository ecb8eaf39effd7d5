export { CHECKPOINT_FORMAT, decodeCheckpoint, encodeCheckpoint, type CheckpointData } from './codec.js';
export type { CheckpointStore, WriteResult } from './store.js';
export { FileCheckpointStore } from './file-store.js';
export { ConfigMapCheckpointStore, CONFIGMAP_FORMAT, DEFAULT_PART_BYTES } from './configmap-store.js';
export { CheckpointWriter, readCheckpoint } from './writer.js';
