export { XdsServer } from './server.js';
export type { XdsDebugState } from './server.js';
export { XdsDefaults } from './options.js';
export type { XdsServerOptions, XdsKeepaliveOptions, XdsTlsOptions } from './options.js';
export type { XdsClientDebug, XdsTypeDebug } from './connection.js';
export { ReplyState } from './subscription.js';
export { EMPTY_TYPE_VERSION } from './type-content.js';
export { ShardedXdsServer, ShardedStores, shardGaps, shardOf } from './shards.js';
export type { ShardedXdsDebugState } from './shards.js';
