/**
 * `meshbridge/registry-kit` (package.json "exports"): what a registry plug-in is written against
 * (docs/plugins.md). At run time a plug-in uses the `kit` handed to its `create` (the same object
 * as `registryKit` here, from the Meshbridge that loads it); this module gives its types, and
 * the kit itself for a plug-in's own tests (with `meshbridge/registry-kit/testing`).
 */
export { registryKit, PLUGIN_API_VERSION, type RegistryKit } from './runtime.js';
export type { RegistryPlugin } from '../plugin/contract.js';
export type { AdapterCommon, AddProblem, JsonSchema } from '../kind.js';
export type { Registry, RegistryContext, RegistryEvent, RegistryStatus, ListingProgress } from '../types.js';
export type { Service, Endpoint, Port, Locality, Health, Protocol } from '../../model/index.js';
export type { MeshbridgeError, ErrorCode } from '../../errors/index.js';
export type { Parsed } from '../shared/parsed.js';
