import { resolve } from 'node:path';
import { HealthFilter } from './entries.js';
import { TagsAsLabels } from './labels.js';
import type { AddProblem, JsonSchema, RegistryKindSpec, SchemaBuilder } from '../kind.js';
import { resolveClientTls } from '../shared/pem-files.js';

/** Defaults of the `consul:` block (the only place they are stated). */
export const ConsulDefaults = {
  healthFilter: HealthFilter.PASSING,
  tagsAsLabels: TagsAsLabels.PREFIX,
  tagPrefix: 'tag-',
  nodeMetaPrefix: 'node-',
  waitSeconds: 300,
  maxConcurrentWatches: 128,
  oversubscribedWaitSeconds: 10,
  skipServices: ['consul'] as readonly string[],
} as const;

/** Settings of a `consul` registry (docs/configuration.md, "consul"). */
export interface ConsulSourceConfig {
  /** `http://host:port` or `https://host:port`. */
  readonly address: string;
  /** Empty: the agent's own datacenter. */
  readonly datacenters: readonly string[];
  readonly token: string | undefined;
  /** Absolute path. */
  readonly tokenFile: string | undefined;
  /** Absolute paths; undefined: plaintext, or the system CAs for https://. */
  readonly tls:
    | {
        readonly caFile?: string;
        readonly certFile?: string;
        readonly keyFile?: string;
        readonly serverName?: string;
        readonly insecureSkipVerify?: boolean;
      }
    | undefined;
  readonly namespace: string | undefined;
  readonly partition: string | undefined;
  readonly healthFilter: HealthFilter;
  readonly tagsAsLabels: TagsAsLabels;
  readonly tagPrefix: string;
  readonly nodeMetaPrefix: string;
  readonly waitSeconds: number;
  readonly maxConcurrentWatches: number;
  readonly oversubscribedWaitSeconds: number;
  readonly skipServices: readonly string[];
}

interface RawConsulBlock {
  readonly address: string;
  readonly datacenters?: readonly string[];
  readonly token?: string;
  readonly tokenFile?: string;
  readonly tls?: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string; readonly serverName?: string; readonly insecureSkipVerify?: boolean };
  readonly namespace?: string;
  readonly partition?: string;
  readonly healthFilter?: HealthFilter;
  readonly tagsAsLabels?: TagsAsLabels;
  readonly tagPrefix?: string;
  readonly nodeMetaPrefix?: string;
  readonly waitSeconds?: number;
  readonly maxConcurrentWatches?: number;
  readonly oversubscribedWaitSeconds?: number;
  readonly skipServices?: readonly string[];
}

/** `http(s)://host:port` with an optional path prefix; IPv6 in brackets. */
const ADDRESS = /^(https?):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})(\/[^?#]*)?$/;

export const consulKind: RegistryKindSpec<ConsulSourceConfig> = {
  kind: 'consul',
  description: 'Consul catalog and health, watched with blocking queries',
  schema(s: SchemaBuilder): JsonSchema {
    return s.object(
      'Settings of a `consul` registry: services of the Consul catalog with their health, watched with blocking queries (docs/configuration.md, "consul").',
      {
        address: s.str('HTTP API of a Consul agent or server: http://host:port or https://host:port.', { minLength: 1 }),
        datacenters: {
          type: 'array',
          description: 'Datacenters to watch (each adds one catalog watch and one watch per service). Empty: the agent\'s own datacenter.',
          uniqueItems: true,
          items: s.str('A datacenter name.', { minLength: 1 }),
        },
        token: s.str('ACL token sent as X-Consul-Token. Keep it in the environment: token: ${ENV:CONSUL_HTTP_TOKEN}.', { minLength: 1 }),
        tokenFile: s.str('File holding the ACL token (instead of token); read at start and again after an HTTP 403. Relative to this config file.', { minLength: 1 }),
        tls: s.object(
          'TLS to Consul (https:// address): the CA of its serving certificate and, when Consul verifies clients, a client certificate. Paths are relative to this config file.',
          {
            caFile: s.str('PEM CA bundle; default: the system CAs.', { minLength: 1 }),
            certFile: s.str('PEM client certificate (with keyFile).', { minLength: 1 }),
            keyFile: s.str('PEM client private key (with certFile).', { minLength: 1 }),
            serverName: s.str('Server name for SNI and the certificate check; default: the address\'s host.', { minLength: 1 }),
            insecureSkipVerify: { type: 'boolean', description: 'Do not verify the server certificate (testing only).', default: false },
          },
        ),
        namespace: s.str('Consul Enterprise namespace (ns= on every call); default: the token\'s.', { minLength: 1 }),
        partition: s.str('Consul Enterprise admin partition (partition= on every call); default: the token\'s.', { minLength: 1 }),
        healthFilter: s.str(
          'Which instances are healthy: passing (every check passing), warning (passing or warning), any (all registered instances). Unhealthy ones are left out unless includeUnhealthy.',
          { enum: Object.values(HealthFilter), default: ConsulDefaults.healthFilter },
        ),
        tagsAsLabels: s.str(
          'Tags as endpoint labels: prefix (tag t -> <tagPrefix>t: "true"), keyValue (tag k=v -> k: v, other tags as prefix), none.',
          { enum: Object.values(TagsAsLabels), default: ConsulDefaults.tagsAsLabels },
        ),
        tagPrefix: s.str('Label key prefix of tags.', { default: ConsulDefaults.tagPrefix }),
        nodeMetaPrefix: s.str('Label key prefix of node meta (empty: node meta keys as they are).', { default: ConsulDefaults.nodeMetaPrefix }),
        waitSeconds: s.int('Blocking wait: an idle watch makes one request per wait. Consul caps it at 600.', {
          minimum: 1,
          maximum: 600,
          default: ConsulDefaults.waitSeconds,
        }),
        maxConcurrentWatches: s.int(
          'Blocking calls in flight at most = HTTP connections held to Consul (one per service per datacenter, plus one catalog watch per datacenter). Keep it under the agent\'s limits.http_max_conns_per_client (200 by default).',
          { minimum: 1, maximum: 10000, default: ConsulDefaults.maxConcurrentWatches },
        ),
        oversubscribedWaitSeconds: s.int('Blocking wait used while there are more watches than maxConcurrentWatches, so every watch gets a turn.', {
          minimum: 1,
          maximum: 600,
          default: ConsulDefaults.oversubscribedWaitSeconds,
        }),
        skipServices: {
          type: 'array',
          description: 'Consul service names never published.',
          uniqueItems: true,
          items: s.str('A service name.', { minLength: 1 }),
          default: [...ConsulDefaults.skipServices],
        },
      },
      ['address'],
    );
  },
  check(block: unknown, add: AddProblem): void {
    const b = block as RawConsulBlock; // schema-validated
    const m = ADDRESS.exec(b.address);
    const port = Number(m?.[3] ?? 0);
    if (m === null || port < 1 || port > 65535) add(['address'], `"${b.address}" is not http://host:port or https://host:port`);
    if (b.token !== undefined && b.tokenFile !== undefined) add(['tokenFile'], 'set either token or tokenFile, not both');
    if (b.tls !== undefined && m?.[1] === 'http') add(['tls'], 'tls is set but the address uses http://: write https://');
    if (b.tls !== undefined && (b.tls.certFile === undefined) !== (b.tls.keyFile === undefined)) add(['tls'], 'certFile and keyFile go together');
  },
  resolve(block: unknown, base: string): ConsulSourceConfig {
    const b = block as RawConsulBlock; // schema-validated and checked
    return {
      address: b.address,
      datacenters: [...(b.datacenters ?? [])],
      token: b.token,
      tokenFile: b.tokenFile !== undefined ? resolve(base, b.tokenFile) : undefined,
      tls: resolveClientTls(b.tls, base),
      namespace: b.namespace,
      partition: b.partition,
      healthFilter: b.healthFilter ?? ConsulDefaults.healthFilter,
      tagsAsLabels: b.tagsAsLabels ?? ConsulDefaults.tagsAsLabels,
      tagPrefix: b.tagPrefix ?? ConsulDefaults.tagPrefix,
      nodeMetaPrefix: b.nodeMetaPrefix ?? ConsulDefaults.nodeMetaPrefix,
      waitSeconds: b.waitSeconds ?? ConsulDefaults.waitSeconds,
      maxConcurrentWatches: b.maxConcurrentWatches ?? ConsulDefaults.maxConcurrentWatches,
      oversubscribedWaitSeconds: b.oversubscribedWaitSeconds ?? ConsulDefaults.oversubscribedWaitSeconds,
      skipServices: [...(b.skipServices ?? ConsulDefaults.skipServices)],
    };
  },
  async load() {
    const { ConsulRegistry } = await import('./consul-registry.js');
    return { create: (settings, common) => new ConsulRegistry({ ...settings, ...common }) };
  },
};
