export { EurekaRegistry, createEurekaRegistry } from './eureka-registry.js';
export { EurekaDefaults } from './spec.js';
export type { EurekaRegistryOptions, EurekaStats } from './eureka-registry.js';
export type { EurekaAuth } from './client.js';
export { HostFrom, EurekaPortName } from './instance.js';
export { InstanceStatus } from './wire.js';
export { EUREKA_REGISTRY_KIND } from './services.js';
export { reconcileHashCode } from './hash.js';
