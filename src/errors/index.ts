export { ErrorCode, errorSummaries } from './codes.js';
export { MeshbridgeError, isMeshbridgeError, describeError } from './errors.js';
export type { MeshbridgeErrorOptions } from './errors.js';
