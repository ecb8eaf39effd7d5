import { EndpointForm, defaultHostTemplate } from '../convert/options.js';
import { AddressMode } from '../convert/addresses.js';
import { ConflictPolicy } from '../core/aggregate.js';
import { Protocol } from '../model/index.js';
import { Defaults } from './defaults.js';
import { CleanupScope, LogFormat, LogLevel } from './types.js';
import { registryKinds } from '../registry/kinds.js';
import type { JsonSchema, SchemaBuilder } from '../registry/kind.js';

export type { JsonSchema } from '../registry/kind.js';

/**
 * Which schema to build. `runtime` validates after `${ENV:...}` substitution; `editor` (the
 * committed schema/meshbridge.schema.json) also accepts an `${ENV:...}` reference wherever a
 * constrained string is expected, because editors see the file before substitution.
 */
export type SchemaFlavour = 'runtime' | 'editor';

export const SCHEMA_DRAFT = 'http://json-schema.org/draft-07/schema#';

import { Patterns } from './patterns.js';
import { identitySchema, selectSchema } from './schema-selection.js';

export { Patterns, PatternText } from './patterns.js';

/** Builds the config schema. Pure; the single definition of the config's shape. */
export function buildSchema(flavour: SchemaFlavour): JsonSchema {
  const s = new Builder(flavour);
  const protocols = Object.values(Protocol);

  const kindBlocks = Object.fromEntries(Object.values(registryKinds).map((k) => [k.kind, k.schema(s)]));
  const registry: JsonSchema = {
    ...s.object(
      `One registry to watch. \`kind\` selects the settings block of the same name (${Object.keys(registryKinds).join(', ')}).`,
      {
        name: s.str('Unique name of this registry: a DNS label. Used as {registry} in host templates and as the ownership label value.', {
          pattern: Patterns.DNS_LABEL,
          maxLength: 63,
        }),
        kind: s.str(`Registry kind: ${Object.values(registryKinds).map((k) => `${k.kind} (${k.description})`).join('; ')}.`, {
          enum: Object.keys(registryKinds),
        }),
        ...kindBlocks,
        namespace: s.str('Kubernetes namespace the ServiceEntries/WorkloadEntries are written to (and named under in MCP).', {
          pattern: Patterns.DNS_LABEL,
          maxLength: 63,
        }),
        hostTemplate: s.str(
          `Istio host of each service. Placeholders: {name}, {namespace}, {registry}, {kind} and any service attribute ({group}, {version}, ...); {name} is required. A missing attribute removes its placeholder and one adjacent dot. Defaults by kind: ${Object.keys(registryKinds).map((k) => `${k}: ${defaultHostTemplate(k)}`).join('; ')}.`,
          { minLength: 1 },
        ),
        exportTo: {
          type: 'array',
          description: "ServiceEntry.exportTo: '.', '*' or namespace names. Empty or absent: left unset (visible to all namespaces).",
          items: s.str('A namespace, "." or "*".', { pattern: Patterns.EXPORT_TO, maxLength: 63 }),
          uniqueItems: true,
          default: [],
        },
        form: s.str('inline: one ServiceEntry with endpoints; workloadEntry: a ServiceEntry with workloadSelector plus one WorkloadEntry per endpoint.', {
          enum: Object.values(EndpointForm),
          default: Defaults.registry.form,
        }),
        addresses: s.str(
          'Listener addresses of the ServiceEntries (docs/mapping.md#listener-addresses). providers: the provider IPs no other service shares on the same port, shared ip:ports in shared ServiceEntries, a VIP for a TCP service left without one; vip: one VIP per service (only clients that dial the host are governed); none: no addresses (TCP services share the wildcard listener; conflicts reported).',
          { enum: Object.values(AddressMode), default: Defaults.registry.addresses },
        ),
        includeUnhealthy: { type: 'boolean', description: 'Publish endpoints the registry reports unhealthy.', default: Defaults.registry.includeUnhealthy },
        defaultProtocol: s.str('Protocol of ports whose protocol the registry does not state.', {
          enum: protocols,
          default: Defaults.registry.defaultProtocol,
        }),
        namespaceMap: {
          type: 'object',
          description:
            "The registry's own namespaces (a Nacos or Consul namespace, a file's namespace hint) mapped to Kubernetes namespaces; services of unmapped registry namespaces go to `namespace`. The Kubernetes sink writes and prunes in every namespace named here.",
          propertyNames: { minLength: 1 },
          additionalProperties: s.str('Kubernetes namespace.', { pattern: Patterns.DNS_LABEL, maxLength: 63 }),
          default: {},
        },
        portProtocols: {
          type: 'object',
          description: 'Protocol overrides by port name or port number (as a key); they win over registry metadata.',
          propertyNames: { minLength: 1, maxLength: 63 },
          additionalProperties: s.str('Protocol of this port.', { enum: protocols }),
          default: {},
        },
        network: s.str('Istio network of the endpoints when the registry does not say.', { minLength: 1 }),
        labels: {
          type: 'object',
          description: 'Extra labels put on every object of this registry (not under meshbridge.io/ or app.kubernetes.io/managed-by).',
          propertyNames: { pattern: Patterns.LABEL_KEY, maxLength: 317 },
          additionalProperties: s.str('Label value.', { pattern: Patterns.LABEL_VALUE, maxLength: 63 }),
          default: {},
        },
        protectPercent: {
          type: 'number',
          description:
            'Protect threshold: if one pass removes more than this share of the registry\'s services, the deletions are held back (MB_PROTECT_HELD). 100 disables the guard.',
          minimum: 0,
          maximum: 100,
          default: Defaults.registry.protectPercent,
        },
        protectEndpointPercent: {
          type: 'number',
          description:
            'Deletion guard for endpoints: if more than this share of the registry\'s endpoints is gone (net, over protectWindowSeconds), nothing is removed until the registry recovers (MB_PROTECT_HELD). 100 disables it.',
          minimum: 0,
          maximum: 100,
          default: Defaults.registry.protectEndpointPercent,
        },
        protectWindowSeconds: s.int('Losses of services and endpoints add up over this many seconds, so a slow drain trips the guard too; 0: each pass is judged alone.', {
          minimum: 0,
          default: Defaults.registry.protectWindowSeconds,
        }),
        select: selectSchema(s),
        identity: identitySchema(s),
        publish: s.object(
          'What this registry\'s services are published as (docs/configuration.md#publish, ADR 0020): Istio ServiceEntries (and WorkloadEntries), native Kubernetes Services with EndpointSlices (written by sinks.kubernetes only; istiod sees them as <name>.<namespace>.svc.cluster.local), or both.',
          {
            serviceEntries: { type: 'boolean', description: 'Publish ServiceEntries/WorkloadEntries (every sink).', default: Defaults.registry.publish.serviceEntries },
            kubernetesServices: {
              type: 'boolean',
              description: 'Also publish a selector-less Service plus EndpointSlices per service (sinks.kubernetes only; MCP cannot carry them). Endpoints with DNS names stay in the ServiceEntry only.',
              default: Defaults.registry.publish.kubernetesServices,
            },
          },
        ),
        protectHoldMaxSeconds: s.int('A hold of the deletion guard is released by time after this many seconds; 0: only when the registry recovers or an operator releases it (POST /debug/release?registry=NAME).', {
          minimum: 0,
          default: Defaults.registry.protectHoldMaxSeconds,
        }),
        protectSettleSeconds: s.int(
          'A hold of the deletion guard whose registry is back to its healthy numbers of services and endpoints, but with some of the healthy services or endpoints still missing, is released after the numbers held this many seconds without interruption (the missing ones are then removed); 0: at once. A registry back complete is released at once.',
          { minimum: 0, default: Defaults.registry.protectSettleSeconds },
        ),
        sidecars: s.object(
          'Opt-in: one Istio Sidecar per consumer application, limiting its proxies to the services it consumes (docs/mapping.md#sidecars). Only kinds that report consumers (zookeeper: /dubbo/<interface>/consumers) accept it; setting it makes the registry watch consumers.',
          {
            namespace: s.str("Namespace of an application's Sidecar (where its pods run) when `namespaces` names none. Absent: applications not in `namespaces` get no Sidecar (MB_SIDECAR_SKIPPED).", {
              pattern: Patterns.DNS_LABEL,
              maxLength: 63,
            }),
            namespaces: {
              type: 'object',
              description: 'Consumer application -> the namespace its pods (and its Sidecar) are in; wins over `namespace`.',
              propertyNames: { minLength: 1 },
              additionalProperties: s.str('Kubernetes namespace.', { pattern: Patterns.DNS_LABEL, maxLength: 63 }),
              default: {},
            },
            workloadLabels: {
              type: 'object',
              description: "spec.workloadSelector.labels: the labels of the application's pods, each value a template in which {application} is the consumer application's name.",
              propertyNames: { pattern: Patterns.LABEL_KEY, maxLength: 317 },
              additionalProperties: s.str('Label value template.', { minLength: 1 }),
              minProperties: 1,
              default: { app: '{application}' },
            },
            alwaysInclude: {
              type: 'array',
              description: 'Egress hosts every Sidecar lists besides the consumed services ("<namespace>/<host>", "./*", "istio-system/*").',
              items: s.str('An egress host "<namespace>/<host>".', { pattern: '^[^/\\s]+/[^/\\s]+$' }),
              uniqueItems: true,
              default: ['istio-system/*'],
            },
          },
        ),
      },
      ['name', 'kind', 'namespace'],
    ),
    allOf: Object.keys(registryKinds).map((k) => ({ if: { properties: { kind: { const: k } }, required: ['kind'] }, then: { required: [k] } })),
  };

  const keepalive = s.object('gRPC keepalive and connection management.', {
    timeMs: s.int('grpc.keepalive_time_ms: ping an idle client this often.', { minimum: 1, default: Defaults.xds.keepaliveTimeMs }),
    timeoutMs: s.int('grpc.keepalive_timeout_ms: drop the connection if a ping is not answered in time.', {
      minimum: 1,
      default: Defaults.xds.keepaliveTimeoutMs,
    }),
    maxConnectionIdleMs: s.int('grpc.max_connection_idle_ms. Default: none.', { minimum: 1 }),
    maxConnectionAgeMs: s.int('grpc.max_connection_age_ms: clients reconnect (and get the full state again). Default: none.', { minimum: 1 }),
    maxConnectionAgeGraceMs: s.int('grpc.max_connection_age_grace_ms. Default: none.', { minimum: 1 }),
  });

  const xds = s.object(
    'MCP-over-xDS server for istiod (meshConfig.configSources: [{address: "xds://host:port"}]).',
    {
      address: s.str('host:port to listen on; port 0 picks a free port.', { minLength: 1 }),
      keepalive,
      tls: s.object(
        'SIMPLE (server-only) TLS; istiod 1.26+ dials it with tlsSettings.mode: SIMPLE. Paths relative to this file.',
        {
          certFile: s.str('PEM certificate chain.', { minLength: 1 }),
          keyFile: s.str('PEM private key.', { minLength: 1 }),
        },
        ['certFile', 'keyFile'],
      ),
      maxConcurrentStreams: s.int('grpc.max_concurrent_streams per connection. Default: unlimited.', { minimum: 1 }),
      maxSendMessageBytes: s.int('grpc.max_send_message_length.', { minimum: 1024, default: Defaults.xds.maxSendMessageBytes }),
      maxReceiveMessageBytes: s.int('grpc.max_receive_message_length.', { minimum: 1024, default: Defaults.xds.maxReceiveMessageBytes }),
      shutdownGraceMs: s.int('On shutdown: how long streams get to end before the server is forced down.', {
        minimum: 0,
        default: Defaults.xds.shutdownGraceMs,
      }),
      shards: s.int('Sharded MCP (docs/operations.md#sharded-mcp): serve the config as this many config sources, shard i on port + i; istiod must list every one in meshConfig.configSources (xds://host:port ... xds://host:port+N-1). A change then re-sends and istiod re-reads 1/N of the state.', {
        minimum: 1,
        maximum: 64,
        default: Defaults.xds.shards,
      }),
    },
    ['address'],
  );

  const leaderElection: JsonSchema = {
    ...s.object(
      'Leader election on a coordination.k8s.io/v1 Lease: only the leader writes.',
      {
        enabled: { type: 'boolean', description: 'Elect a leader among replicas.', default: Defaults.leaderElection.enabled },
        namespace: s.str('Namespace of the Lease (required when enabled).', { pattern: Patterns.DNS_LABEL, maxLength: 63 }),
        name: s.str('Name of the Lease.', { pattern: Patterns.DNS_SUBDOMAIN, maxLength: 253, default: Defaults.leaderElection.name }),
        leaseDurationSeconds: s.int('How long a lease is valid; must exceed renewDeadlineSeconds.', {
          minimum: 1,
          default: Defaults.leaderElection.leaseDurationSeconds,
        }),
        renewDeadlineSeconds: s.int('The leader stops writing if it could not renew within this; must exceed retryPeriodSeconds.', {
          minimum: 1,
          default: Defaults.leaderElection.renewDeadlineSeconds,
        }),
        retryPeriodSeconds: s.int('Interval between acquire/renew attempts.', { minimum: 1, default: Defaults.leaderElection.retryPeriodSeconds }),
        identity: s.str('Unique identity of this replica. Default: $POD_NAME, else hostname and process id.', { minLength: 1 }),
      },
    ),
    allOf: [{ if: { properties: { enabled: { const: true } }, required: ['enabled'] }, then: { required: ['namespace'] } }],
  };

  const kubernetes = s.object('Write ServiceEntries/WorkloadEntries to Kubernetes with server-side apply; prune stale owned ones.', {
    kubeconfig: s.str('kubeconfig file (relative to this file). Default: in-cluster config, else $KUBECONFIG or ~/.kube/config.', {
      minLength: 1,
    }),
    context: s.str('kubeconfig context. Default: the current context.', { minLength: 1 }),
    qps: { type: 'number', description: 'API requests per second (token bucket).', exclusiveMinimum: 0, default: Defaults.kubernetes.qps },
    burst: s.int('Token bucket size.', { minimum: 1, default: Defaults.kubernetes.burst }),
    maxDeletePercent: {
      type: 'number',
      description: 'Prune guard: one reconcile deletes at most this share of the owned objects; more is held back. 100 disables the guard.',
      minimum: 0,
      maximum: 100,
      default: Defaults.kubernetes.maxDeletePercent,
    },
    concurrency: s.int('Parallel writes (each still passes the rate limit).', { minimum: 1, maximum: 256, default: Defaults.kubernetes.concurrency }),
    cleanupScope: s.str(
      'Where owned objects are looked for when pruning. cluster: also list this instance\'s objects (labels app.kubernetes.io/managed-by=meshbridge, meshbridge.io/instance) in every namespace, so ours in namespaces no longer targeted are deleted (needs cluster-wide list/watch; if refused, as namespaces); namespaces: only the targeted namespaces.',
      { enum: Object.values(CleanupScope), default: Defaults.kubernetes.cleanupScope },
    ),
    leaderElection,
  });

  const render = s.object('Write the Istio YAML of every snapshot to a folder (one file per resource) or to stdout.', {
    out: s.str('Output folder (relative to this file). Default: stdout.', { minLength: 1 }),
  });

  return {
    $schema: SCHEMA_DRAFT,
    title: 'Meshbridge configuration',
    description: 'Meshbridge config file (docs/configuration.md). `${ENV:NAME}` and `${ENV:NAME:-default}` in string values are replaced from the environment.',
    ...s.object(
      '',
      {
        $schema: { type: 'string', description: 'Ignored: lets editors find this schema.' },
        instance: s.str(
          "This deployment's identity (a label value, 1-63 characters). The Kubernetes sink labels every object it writes meshbridge.io/instance=<instance>, applies as field manager meshbridge-<instance>, and owns (updates, prunes) only objects with its own instance label. Give each deployment that writes to one cluster its own (the Helm chart uses the release name).",
          { pattern: Patterns.LABEL_VALUE, minLength: 1, maxLength: 63, default: Defaults.instance },
        ),
        registries: {
          type: 'array',
          description: 'Registries to watch, in precedence order (the first wins under conflictPolicy: precedence).',
          minItems: 1,
          items: registry,
        },
        conflictPolicy: s.str('The same host from several registries: merge their endpoints into one ServiceEntry, or let the first registry (file order) win.', {
          enum: Object.values(ConflictPolicy),
          default: Defaults.conflictPolicy,
        }),
        vipCidr: s.str('IPv4 range (prefix length 8-30) VIPs are allocated from, for services that need a listener address and have no provider IP of their own. Must not overlap real addresses or istiod\'s own 240.240.0.0/16.', {
          default: Defaults.vipCidr,
          pattern: '^[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}$',
        }),
        startup: s.object('Start-up bounds.', {
          syncTimeoutSeconds: s.int('A registry that has not synced this long after start is published without it (from the checkpoint when there is one) and marked stale (MB_REGISTRY_SYNC_TIMEOUT); 0: wait forever.', {
            minimum: 0,
            default: Defaults.startup.syncTimeoutSeconds,
          }),
        }),
        checkpoint: s.object('Where the last published state is kept across restarts (docs/safety.md#checkpoint): the guard\'s baseline after a restart, served at once while registries sync. Set path (a file) or configMap, not both.', {
          path: s.str('Checkpoint file; relative paths resolve against this file\'s folder. Its folder must exist and be writable.', { minLength: 1 }),
          configMap: s.object('Keep the checkpoint in ConfigMaps (gzipped; split into parts beyond 768 KiB), for pods whose disk does not survive rescheduling. Needs get, list, create, update and delete on configmaps in the namespace.', {
            name: s.str('Name of the head ConfigMap; parts are <name>-<generation>-<n>. A DNS label.', {
              pattern: Patterns.DNS_LABEL,
              maxLength: 50,
              default: Defaults.checkpoint.configMapName,
            }),
            namespace: s.str('Namespace of the ConfigMaps (the chart: the release namespace).', { pattern: Patterns.DNS_LABEL, maxLength: 63 }),
            kubeconfig: s.str('kubeconfig file (relative to this file). Default: the Kubernetes sink\'s, else in-cluster config, else $KUBECONFIG or ~/.kube/config.', { minLength: 1 }),
            context: s.str('kubeconfig context. Default: the Kubernetes sink\'s when it uses the same kubeconfig, else the current context.', { minLength: 1 }),
          }, ['namespace']),
          intervalSeconds: s.int('At most one write per this many seconds, only when the published state changed.', {
            minimum: 1,
            default: Defaults.checkpoint.intervalSeconds,
          }),
        }),
        debounce: s.object('Registry changes are batched: a snapshot is built after a quiet period, at the latest after maxDelayMs; an isolated change is published at once (leadingEdge).', {
          quietPeriodMs: s.int('Build once no change arrived for this long.', { minimum: 0, default: Defaults.debounce.quietPeriodMs }),
          maxDelayMs: s.int('Build at the latest this long after the first change of a burst; >= quietPeriodMs.', {
            minimum: 0,
            default: Defaults.debounce.maxDelayMs,
          }),
          leadingEdge: {
            type: 'boolean',
            description: 'Publish an isolated change (nothing was flushed for quietPeriodMs) on the next tick instead of after the quiet period; later changes of a burst are batched as usual. istiod debounces again on its side (PILOT_DEBOUNCE_AFTER), so without it a change waits for both.',
            default: Defaults.debounce.leadingEdge,
          },
        }),
        sinks: {
          ...s.object('Where the Istio config goes: at least one sink to `run`; `render` and `check` need none.', { xds, kubernetes, render }),
          minProperties: 1,
        },
        admin: {
          ...s.object('Admin HTTP server: /healthz /readyz /metrics /debug/*. null disables it.', {
            address: {
              type: ['string', 'null'],
              description: 'host:port to listen on; "" or null disables the admin server.',
              default: Defaults.admin.address,
            },
          }),
          type: ['object', 'null'],
        },
        log: s.object('Logging (JSON lines on stderr).', {
          level: s.str('Minimum level logged.', { enum: Object.values(LogLevel), default: Defaults.log.level }),
          format: s.str('Log format.', { enum: Object.values(LogFormat), default: Defaults.log.format }),
        }),
      },
      ['registries'],
    ),
  };
}

/** The committed editor schema file's exact text. */
export function schemaFileText(): string {
  return `${JSON.stringify(buildSchema('editor'), null, 2)}\n`;
}

/** Repository-relative path of the committed schema file. */
export const SCHEMA_FILE = 'schema/meshbridge.schema.json';

class Builder implements SchemaBuilder {
  constructor(private readonly flavour: SchemaFlavour) {}

  object(description: string, properties: Readonly<Record<string, JsonSchema>>, required: readonly string[] = []): JsonSchema {
    return {
      type: 'object',
      ...(description !== '' ? { description } : {}),
      properties,
      ...(required.length > 0 ? { required } : {}),
      additionalProperties: false,
    };
  }

  /** A string; constrained ones also accept an `${ENV:...}` reference in the editor flavour. */
  str(description: string, constraints: Readonly<Record<string, unknown>> = {}): JsonSchema {
    const { default: dflt, ...rest } = constraints;
    const constrained = 'pattern' in rest || 'enum' in rest;
    const base: JsonSchema = { type: 'string', description, ...rest, ...(dflt !== undefined ? { default: dflt } : {}) };
    if (this.flavour === 'runtime' || !constrained) return base;
    return {
      description,
      ...(dflt !== undefined ? { default: dflt } : {}),
      anyOf: [
        { type: 'string', ...rest },
        { type: 'string', pattern: Patterns.ENV_REF, description: 'An ${ENV:NAME} reference, checked after substitution.' },
      ],
    };
  }

  int(description: string, constraints: Readonly<Record<string, unknown>> = {}): JsonSchema {
    return { type: 'integer', description, ...constraints };
  }
}
