import { fileRegistrySettings, type RegistryConfig } from '../config/index.js';
import type { Logger } from '../observability/index.js';
import type { Registry, RegistryContext } from '../registry/types.js';
import { createFileRegistry } from '../registry/file/index.js';
import { createConsulRegistry } from '../registry/consul/index.js';
import { createNacosRegistry } from '../registry/nacos/index.js';
import { createEurekaRegistry } from '../registry/eureka/index.js';
import { createZookeeperRegistry } from '../registry/zookeeper/index.js';
import { createEtcdRegistry } from '../registry/etcd/index.js';

/**
 * Builds the adapter for one configured registry. Adding a registry kind adds one case here and
 * one member to RegistryConfig; nothing else in the app knows the kinds. No I/O.
 */
export function createRegistry(rc: RegistryConfig, context: RegistryContext, logger: Logger): Registry {
  switch (rc.kind) {
    case 'file':
      return createFileRegistry({ ...fileRegistrySettings(rc), context, logger });
    case 'consul':
      return createConsulRegistry({ name: rc.name, ...rc.consul, defaultProtocol: rc.defaultProtocol, context, logger });
    case 'eureka':
      return createEurekaRegistry({ name: rc.name, ...rc.eureka, context, logger });
    case 'zookeeper':
      return createZookeeperRegistry({
        name: rc.name,
        connectString: rc.zookeeper.connectString,
        sessionTimeoutMs: rc.zookeeper.sessionTimeoutMs,
        ...(rc.zookeeper.auth !== undefined ? { digest: { username: rc.zookeeper.auth.username, password: rc.zookeeper.auth.password } } : {}),
        dubbo: rc.zookeeper.dubbo,
        ...(rc.zookeeper.curator !== undefined ? { curator: rc.zookeeper.curator } : {}),
        maxConcurrentReads: rc.zookeeper.maxConcurrentReads,
        context,
        logger,
      });
    case 'nacos':
      return createNacosRegistry({
        name: rc.name,
        context,
        logger,
        servers: rc.nacos.servers,
        ...(rc.nacos.grpcPort !== undefined ? { grpcPort: rc.nacos.grpcPort } : {}),
        namespaces: rc.nacos.namespaces,
        groups: rc.nacos.groups,
        ...(rc.nacos.auth !== undefined ? { credentials: rc.nacos.auth } : {}),
        relistIntervalMs: rc.nacos.relistIntervalMs,
        fuzzyRelistIntervalMs: rc.nacos.fuzzyRelistIntervalMs,
        fuzzyWatch: rc.nacos.fuzzyWatch,
        clusterAsSubzone: rc.nacos.clusterAsSubzone,
        requestTimeoutMs: rc.nacos.requestTimeoutMs,
        defaultProtocol: rc.defaultProtocol,
      });
    case 'etcd':
      return createEtcdRegistry({
        name: rc.name,
        context,
        logger,
        endpoints: rc.etcd.endpoints,
        prefix: rc.etcd.prefix,
        ...(rc.etcd.keyRegex !== undefined ? { keyRegex: rc.etcd.keyRegex } : { layout: rc.etcd.layout }),
        ...(rc.etcd.tls !== undefined ? { tls: rc.etcd.tls } : {}),
        ...(rc.etcd.auth !== undefined ? { auth: rc.etcd.auth } : {}),
        dialTimeoutMs: rc.etcd.dialTimeoutMs,
        keepaliveMs: rc.etcd.keepaliveMs,
        defaultProtocol: rc.defaultProtocol,
      });
  }
}
