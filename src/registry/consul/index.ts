export { ConsulRegistry, createConsulRegistry } from './consul-registry.js';
export { ConsulDefaults } from './spec.js';
export type { ConsulRegistryOptions, ConsulRegistryTuning } from './consul-registry.js';
export { CONSUL_REGISTRY_KIND, HealthFilter, serviceFromHealth, parseCatalogServices } from './entries.js';
export type { BuildOptions } from './entries.js';
export { TagsAsLabels } from './labels.js';
