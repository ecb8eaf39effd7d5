export { ZookeeperRegistry, createZookeeperRegistry } from './zookeeper-registry.js';
export type { ZookeeperRegistryOptions, ZookeeperRegistryTuning } from './zookeeper-registry.js';
export { DubboLevels, ZOOKEEPER_REGISTRY_KIND } from './spec.js';
