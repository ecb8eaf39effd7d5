export { ZookeeperRegistry, createZookeeperRegistry } from './zookeeper-registry.js';
export { DubboLevels, ZOOKEEPER_REGISTRY_KIND } from './options.js';
export type { ZookeeperRegistryOptions } from './options.js';
