export { ConsulRegistry, createConsulRegistry, CONSUL_DEFAULTS } from './consul-registry.js';
export type { ConsulRegistryOptions, ConsulTlsFiles } from './consul-registry.js';
export { CONSUL_REGISTRY_KIND, HealthFilter, buildService, parseCatalogServices } from './entries.js';
export type { BuildOptions, BuiltService } from './entries.js';
export { TagsAsLabels } from './labels.js';
