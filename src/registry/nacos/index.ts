export { NacosRegistry, createNacosRegistry } from './nacos-registry.js';
export type { NacosRegistryOptions } from './nacos-registry.js';
export { NACOS_REGISTRY_KIND, mapServiceInfo } from './map.js';
export type { ServiceRef, MapOptions } from './map.js';
export type { Credentials } from './auth.js';
