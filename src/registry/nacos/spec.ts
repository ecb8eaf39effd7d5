import type { JsonSchema, RegistryKindSpec, SchemaBuilder, AddProblem } from '../kind.js';

/** Defaults of the `nacos` block (the schema's `default`s and the resolution read these). */
export const NacosDefaults = {
  namespaces: ['public'],
  groups: ['DEFAULT_GROUP'],
  relistIntervalMs: 30_000,
  fuzzyRelistIntervalMs: 60_000,
  fuzzyWatch: true,
  clusterAsSubzone: true,
  requestTimeoutMs: 3_000,
} as const;

/** Settings of a `nacos` registry (docs/configuration.md#nacos-registry). */
export interface NacosSourceConfig {
  /** `host:port` of each server's HTTP port (gRPC is that port + 1000 unless grpcPort). */
  readonly servers: readonly string[];
  readonly grpcPort: number | undefined;
  readonly namespaces: readonly string[];
  readonly groups: readonly string[];
  readonly auth: { readonly username: string; readonly password: string } | undefined;
  readonly relistIntervalMs: number;
  readonly fuzzyRelistIntervalMs: number;
  readonly fuzzyWatch: boolean;
  readonly clusterAsSubzone: boolean;
  readonly requestTimeoutMs: number;
}

interface RawNacosBlock {
  readonly serverAddr: string;
  readonly grpcPort?: number;
  readonly namespaces?: readonly string[];
  readonly groups?: readonly string[];
  readonly auth?: { readonly username: string; readonly password: string };
  readonly relistIntervalMs?: number;
  readonly fuzzyRelistIntervalMs?: number;
  readonly fuzzyWatch?: boolean;
  readonly clusterAsSubzone?: boolean;
  readonly requestTimeoutMs?: number;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/;

function splitServers(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

const strList = (description: string, def: readonly string[]): JsonSchema => ({
  type: 'array',
  description,
  items: { type: 'string', minLength: 1 },
  minItems: 1,
  uniqueItems: true,
  default: [...def],
});
const bool = (description: string, def: boolean): JsonSchema => ({ type: 'boolean', description, default: def });

export const nacosKind: RegistryKindSpec<NacosSourceConfig> = {
  kind: 'nacos',
  description: 'Nacos 2.x/3.x naming over its gRPC protocol, docs/configuration.md#nacos-registry',
  schema(s: SchemaBuilder): JsonSchema {
    return s.object(
      'Settings of a `nacos` registry: Nacos 2.x/3.x naming, watched over Nacos gRPC (subscriptions and pushes).',
      {
        serverAddr: s.str('`host:port` of the Nacos HTTP port (8848); several servers comma-separated. gRPC is that port + 1000 unless `grpcPort` is set.', {
          minLength: 1,
        }),
        grpcPort: s.int('gRPC port of every server, when it is not the HTTP port + 1000.', { minimum: 1, maximum: 65535 }),
        namespaces: strList('Namespace ids to watch ("public" is the default namespace).', NacosDefaults.namespaces),
        groups: strList('Groups to watch in every namespace (exact names).', NacosDefaults.groups),
        auth: s.object(
          'Nacos login (auth enabled on the server). Use ${ENV:...} for the password.',
          { username: s.str('User name.', { minLength: 1 }), password: s.str('Password.') },
          ['username', 'password'],
        ),
        relistIntervalMs: s.int('Re-list interval of the service set when the server has no fuzzy watch (Nacos 2.x).', {
          minimum: 1000,
          default: NacosDefaults.relistIntervalMs,
        }),
        fuzzyRelistIntervalMs: s.int('Re-list interval beside fuzzy watch (Nacos 3.x; the server caps fuzzy watch at 500 services per pattern).', {
          minimum: 1000,
          default: NacosDefaults.fuzzyRelistIntervalMs,
        }),
        fuzzyWatch: bool('Watch the service set with fuzzy watch where the server offers it (3.x).', NacosDefaults.fuzzyWatch),
        clusterAsSubzone: bool('Publish the instance cluster name as the endpoint locality subzone (DEFAULT means none).', NacosDefaults.clusterAsSubzone),
        requestTimeoutMs: s.int('Deadline of one Nacos request.', { minimum: 100, default: NacosDefaults.requestTimeoutMs }),
      },
      ['serverAddr'],
    );
  },
  check(block: unknown, add: AddProblem): void {
    const b = block as RawNacosBlock;
    const servers = splitServers(b.serverAddr);
    if (servers.length === 0) add(['serverAddr'], 'no server address');
    for (const s of servers) {
      const m = HOST_PORT.exec(s);
      const port = m !== null ? Number(m[2]) : 0;
      if (m === null || port < 1 || port > 65535) add(['serverAddr'], `"${s}" is not host:port`);
      else if (b.grpcPort === undefined && port + 1000 > 65535) add(['serverAddr'], `gRPC port ${port + 1000} (HTTP port + 1000) is out of range; set grpcPort`);
    }
  },
  resolve(block: unknown): NacosSourceConfig {
    const b = block as RawNacosBlock; // schema-validated
    return {
      servers: splitServers(b.serverAddr),
      grpcPort: b.grpcPort,
      namespaces: b.namespaces ?? NacosDefaults.namespaces,
      groups: b.groups ?? NacosDefaults.groups,
      auth: b.auth,
      relistIntervalMs: b.relistIntervalMs ?? NacosDefaults.relistIntervalMs,
      fuzzyRelistIntervalMs: b.fuzzyRelistIntervalMs ?? NacosDefaults.fuzzyRelistIntervalMs,
      fuzzyWatch: b.fuzzyWatch ?? NacosDefaults.fuzzyWatch,
      clusterAsSubzone: b.clusterAsSubzone ?? NacosDefaults.clusterAsSubzone,
      requestTimeoutMs: b.requestTimeoutMs ?? NacosDefaults.requestTimeoutMs,
    };
  },
  async load() {
    const { NacosRegistry } = await import('./nacos-registry.js');
    return { create: (settings, common) => new NacosRegistry({ ...settings, ...common }) };
  },
};
