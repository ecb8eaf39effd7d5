import { fileRegistrySettings, type RegistryConfig } from '../config/index.js';
import type { Logger } from '../observability/index.js';
import type { Registry, RegistryContext } from '../registry/types.js';

type Kind = RegistryConfig['kind'];
type ConfigOf<K extends Kind> = Extract<RegistryConfig, { kind: K }>;
type Build<K extends Kind> = (rc: ConfigOf<K>, context: RegistryContext, logger: Logger) => Registry;

/**
 * How each kind's adapter is loaded and built. Adapters are imported on first use: a process
 * pays for the client libraries of the kinds it is configured with only (etcd3 alone is ~27 MB
 * RSS and ~0.3 s to load, measured in bench/footprint). Adding a registry kind adds one entry
 * here and one member to RegistryConfig; nothing else in the app knows the kinds.
 */
const LOADERS: { readonly [K in Kind]: () => Promise<Build<K>> } = {
  file: async () => {
    const { createFileRegistry } = await import('../registry/file/index.js');
    return (rc, context, logger) => createFileRegistry({ ...fileRegistrySettings(rc), context, logger });
  },
  consul: async () => {
    const { createConsulRegistry } = await import('../registry/consul/index.js');
    return (rc, context, logger) => createConsulRegistry({ name: rc.name, ...rc.consul, defaultProtocol: rc.defaultProtocol, context, logger });
  },
  eureka: async () => {
    const { createEurekaRegistry } = await import('../registry/eureka/index.js');
    return (rc, context, logger) => createEurekaRegistry({ name: rc.name, ...rc.eureka, context, logger });
  },
  zookeeper: async () => {
    const { createZookeeperRegistry } = await import('../registry/zookeeper/index.js');
    return (rc, context, logger) =>
      createZookeeperRegistry({
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
  },
  nacos: async () => {
    const { createNacosRegistry } = await import('../registry/nacos/index.js');
    return (rc, context, logger) =>
      createNacosRegistry({
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
  },
  etcd: async () => {
    const { createEtcdRegistry } = await import('../registry/etcd/index.js');
    return (rc, context, logger) =>
      createEtcdRegistry({
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
  },
};

/** Builds one configured registry's adapter (no I/O) once its kind is loaded. */
export type RegistryFactory = (rc: RegistryConfig, context: RegistryContext, logger: Logger) => Registry;

/** Loads the adapters of the kinds in `configs` (only those) and returns the factory for them. */
export async function loadRegistryFactory(configs: readonly RegistryConfig[]): Promise<RegistryFactory> {
  const kinds = [...new Set(configs.map((c) => c.kind))];
  const builders = new Map<Kind, Build<Kind>>();
  await Promise.all(kinds.map(async (k) => builders.set(k, (await LOADERS[k]()) as Build<Kind>)));
  return (rc, context, logger) => {
    const build = builders.get(rc.kind);
    if (build === undefined) throw new Error(`registry kind ${rc.kind} was not loaded`);
    return build(rc, context, logger);
  };
}
