import { etcdKind } from './etcd/spec.js';
import { eurekaKind } from './eureka/spec.js';
import { consulKind } from './consul/spec.js';
import { fileKind } from './file/spec.js';
import { httpKind } from './http/spec.js';
import { nacosKind } from './nacos/spec.js';
import { pluginKind } from './plugin/spec.js';
import { zookeeperKind } from './zookeeper/spec.js';
import type { RegistryKindSpec } from './kind.js';

/**
 * Every implemented registry kind: the one registration of each. Adding a kind: a folder
 * src/registry/<kind>/ with its adapter and its spec.ts (a RegistryKindSpec, src/registry/kind.ts),
 * and one line here. Config (schema, validation, resolution) and the app's factory read this
 * table; nothing else knows the kinds.
 */
export const registryKinds = {
  file: fileKind,
  consul: consulKind,
  nacos: nacosKind,
  eureka: eurekaKind,
  zookeeper: zookeeperKind,
  etcd: etcdKind,
  http: httpKind,
  plugin: pluginKind,
} as const satisfies Record<string, RegistryKindSpec<unknown>>;

export type RegistryKind = keyof typeof registryKinds;

/** The resolved settings block of kind K. */
export type KindSettings<K extends RegistryKind> = ReturnType<(typeof registryKinds)[K]['resolve']>;

export function isRegistryKind(k: string): k is RegistryKind {
  return Object.prototype.hasOwnProperty.call(registryKinds, k);
}

export function registryKindSpec(k: RegistryKind): RegistryKindSpec<KindSettings<RegistryKind>> {
  return registryKinds[k];
}

export type { RegistryKindSpec, SchemaBuilder, JsonSchema, AddProblem } from './kind.js';
export type { FileSourceConfig } from './file/spec.js';
export type { NacosSourceConfig } from './nacos/spec.js';
export type { ZookeeperSourceConfig } from './zookeeper/spec.js';
export type { EurekaSourceConfig } from './eureka/spec.js';
export type { ConsulSourceConfig } from './consul/spec.js';
export type { EtcdSourceConfig } from './etcd/spec.js';
export type { HttpSourceConfig } from './http/spec.js';
export type { PluginSourceConfig } from './plugin/spec.js';
