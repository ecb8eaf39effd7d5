export { completeConfig, loadConfig, parseConfig } from './load.js';
export type { ParseConfigOptions } from './load.js';
export type { Env } from './env.js';
export {
  conversionOptionsFor,
  pipelineSettings,
  xdsServerSettings,
  kubeClientSettings,
  kubernetesSinkSettings,
} from './options.js';
export { buildSchema, schemaFileText, SCHEMA_FILE } from './schema.js';
export type { JsonSchema, SchemaFlavour } from './schema.js';
export { Defaults } from './defaults.js';
export { LogLevel, LogFormat, CleanupScope } from './types.js';
export { registryKinds, isRegistryKind } from '../registry/kinds.js';
export type { RegistryKind, RegistryKindSpec, FileSourceConfig } from '../registry/kinds.js';
export type {
  CheckpointConfig,
  Config,
  RegistryConfig,
  RegistryCommonConfig,
  FileRegistryConfig,
  DebounceConfig,
  SinksConfig,
  XdsSinkConfig,
  XdsKeepaliveConfig,
  XdsTlsConfig,
  KubernetesSinkConfig,
  LeaderElectionConfig,
  RenderSinkConfig,
  AdminConfig,
  LogConfig,
} from './types.js';
