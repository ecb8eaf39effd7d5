import { etcdKind } from './etcd.js';
import { eurekaKind } from './eureka.js';
import { consulKind } from './consul.js';
import { fileKind } from './file.js';
import { nacosKind } from './nacos.js';
import { zookeeperKind } from './zookeeper.js';
import type { RegistryKindSpec } from './spec.js';

/**
 * Every implemented registry kind. Adding a kind: write kinds/<kind>.ts (a RegistryKindSpec),
 * add it here, and add its adapter's case in src/app/registries.ts (the switch there is
 * exhaustive, so the compiler points at it). Nothing else in config changes.
 */
export const registryKinds = {
  file: fileKind,
  consul: consulKind,
  nacos: nacosKind,
  eureka: eurekaKind,
  zookeeper: zookeeperKind,
  etcd: etcdKind,
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

export type { RegistryKindSpec, SchemaBuilder, JsonSchema, AddProblem } from './spec.js';
export type { FileSourceConfig } from './file.js';
export type { NacosSourceConfig } from './nacos.js';
export type { ZookeeperSourceConfig } from './zookeeper.js';
export type { EurekaSourceConfig } from './eureka.js';
export type { ConsulSourceConfig } from './consul.js';
export type { EtcdSourceConfig } from './etcd.js';
