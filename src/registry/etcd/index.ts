export { EtcdRegistry, createEtcdRegistry } from './etcd-registry.js';
export type { EtcdRegistryOptions } from './etcd-registry.js';
export { ETCD_REGISTRY_KIND, serviceFromInstances } from './services.js';
export { DEFAULT_LAYOUT, LayoutError, buildLayout, regexLayout, templateLayout } from './layout.js';
export type { KeyLayout, KeyMatch } from './layout.js';
export { parseInstance } from './instance.js';
export type { InstanceRecord } from './instance.js';
