import type { EndpointForm, SidecarOptions } from '../convert/options.js';
import type { AddressMode } from '../convert/address-mode.js';
import type { ConflictPolicy } from '../core/aggregate.js';
import type { Protocol } from '../model/index.js';
import type { KindSettings, RegistryKind } from '../registry/kinds.js';
import type { SelectionRules } from '../convert/selection.js';
import type { IdentityRules } from '../convert/identity.js';

/**
 * The fully resolved, validated configuration (docs/configuration.md).
 *
 * Contract: every default is applied, every file path is absolute (relative paths in the file
 * resolve against the config file's folder), `${ENV:...}` references are substituted, and the
 * object (deeply) is never mutated after `parseConfig`/`loadConfig` returns it.
 */
export interface Config {
  /** Absolute path of the config file; undefined when parsed from text without a source path. */
  readonly source: string | undefined;
  /**
   * This deployment's identity: a non-empty label value. The Kubernetes sink puts it on every
   * object (label meshbridge.io/instance) and in its field manager; it owns exactly the objects
   * that carry it (docs/operations.md#ownership).
   */
  readonly instance: string;
  /** In precedence order (file order); names are unique. */
  readonly registries: readonly RegistryConfig[];
  readonly conflictPolicy: ConflictPolicy;
  /** IPv4 range VIPs come from (docs/mapping.md#listener-addresses). */
  readonly vipCidr: string;
  readonly startup: StartupConfig;
  /** Undefined: no checkpoint is kept. */
  readonly checkpoint: CheckpointConfig | undefined;
  readonly debounce: DebounceConfig;
  /** At least one of the three is defined. */
  readonly sinks: SinksConfig;
  /** Undefined: the admin HTTP server is disabled (`admin.address: ""` or `null`). */
  readonly admin: AdminConfig | undefined;
  readonly log: LogConfig;
}

export interface StartupConfig {
  /**
   * A registry that has not synced this long after start is published without it (from the
   * checkpoint when there is one), marked stale (MB_REGISTRY_SYNC_TIMEOUT); 0: wait forever.
   */
  readonly syncTimeoutSeconds: number;
}

/** Exactly one of `path` and `configMap` is defined (docs/safety.md#checkpoint). */
export interface CheckpointConfig {
  /** Absolute path of the checkpoint file. */
  readonly path: string | undefined;
  /** ConfigMaps in a namespace; kubeconfig/context resolved (default: the Kubernetes sink's). */
  readonly configMap: CheckpointConfigMapConfig | undefined;
  /** At most one write per this many seconds (only when the published state changed). */
  readonly intervalSeconds: number;
}

export interface CheckpointConfigMapConfig {
  readonly name: string;
  readonly namespace: string;
  /** Absolute path; undefined: in-cluster config, else $KUBECONFIG / ~/.kube/config. */
  readonly kubeconfig: string | undefined;
  readonly context: string | undefined;
}

/** Settings every registry kind shares: how its services become Istio resources. */
export interface RegistryCommonConfig {
  /** DNS label, unique in the config: Service.registry, the ownership label value. */
  readonly name: string;
  readonly namespace: string;
  readonly hostTemplate: string;
  /** Empty: ServiceEntry.exportTo left unset. */
  readonly exportTo: readonly string[];
  readonly form: EndpointForm;
  /** Listener addresses of this registry's ServiceEntries. */
  readonly addresses: AddressMode;
  readonly includeUnhealthy: boolean;
  readonly defaultProtocol: Protocol;
  /** Port name or number (as a string) -> protocol; wins over registry metadata. */
  readonly portProtocols: Readonly<Record<string, Protocol>>;
  /** Registry namespace (Service.namespace) -> Kubernetes namespace; unmapped go to `namespace`. */
  readonly namespaceMap: Readonly<Record<string, string>>;
  readonly network: string | undefined;
  /** Extra labels on every object of this registry. */
  readonly labels: Readonly<Record<string, string>>;
  /** 0-100: the share of services that may go (over the window) before deletions are held back. */
  readonly protectPercent: number;
  /** 0-100: the same for endpoints (docs/safety.md). */
  readonly protectEndpointPercent: number;
  /** Losses add up over this many seconds; 0: each pass alone. */
  readonly protectWindowSeconds: number;
  /** A hold is released by time after this many seconds; 0: never by time. */
  readonly protectHoldMaxSeconds: number;
  /** A hold whose registry is back to its healthy numbers but not complete is released after this many seconds. */
  readonly protectSettleSeconds: number;
  /** Which services and endpoints are published (docs/mapping.md#selection); undefined: all. */
  readonly select?: SelectionRules | undefined;
  /** Service accounts of the endpoints (docs/identity.md); undefined: none set. */
  readonly identity?: IdentityRules | undefined;
  /** Opt-in Sidecars per consumer application (docs/mapping.md#sidecars); undefined: off. */
  readonly sidecars: SidecarOptions | undefined;
  /** ServiceEntries, Kubernetes Services (sinks.kubernetes only, ADR 0020), or both. */
  readonly publish: { readonly serviceEntries: boolean; readonly kubernetesServices: boolean };
}

/**
 * One registry: the common settings, `kind`, and the settings block named after the kind
 * (`file: {...}`). Discriminated on `kind`; the members come from src/registry/kinds.ts.
 */
export type RegistryConfig = {
  [K in RegistryKind]: RegistryCommonConfig & { readonly kind: K } & { readonly [P in K]: KindSettings<K> };
}[RegistryKind];

export type FileRegistryConfig = Extract<RegistryConfig, { readonly kind: 'file' }>;

export interface DebounceConfig {
  readonly quietPeriodMs: number;
  /** >= quietPeriodMs. */
  readonly maxDelayMs: number;
  /** An isolated change (nothing flushed for quietPeriodMs) is published at once. */
  readonly leadingEdge: boolean;
}

export interface SinksConfig {
  readonly xds: XdsSinkConfig | undefined;
  readonly kubernetes: KubernetesSinkConfig | undefined;
  readonly render: RenderSinkConfig | undefined;
}

export interface XdsSinkConfig {
  /** `host:port`; port 0 picks a free port. */
  readonly address: string;
  readonly keepalive: XdsKeepaliveConfig;
  readonly tls: XdsTlsConfig | undefined;
  /** Undefined: grpc-js default (unlimited). */
  readonly maxConcurrentStreams: number | undefined;
  readonly maxSendMessageBytes: number;
  readonly maxReceiveMessageBytes: number;
  readonly shutdownGraceMs: number;
  /** Config sources served (sharded MCP, ADR 0016): shard i listens on port + i. 1: unsharded. */
  readonly shards: number;
}

export interface XdsKeepaliveConfig {
  readonly timeMs: number;
  readonly timeoutMs: number;
  readonly maxConnectionIdleMs: number | undefined;
  readonly maxConnectionAgeMs: number | undefined;
  readonly maxConnectionAgeGraceMs: number | undefined;
}

export interface XdsTlsConfig {
  /** Absolute paths. */
  readonly certFile: string;
  readonly keyFile: string;
}

export interface KubernetesSinkConfig {
  /** Absolute path; undefined: in-cluster config, else $KUBECONFIG / ~/.kube/config. */
  readonly kubeconfig: string | undefined;
  readonly context: string | undefined;
  readonly qps: number;
  readonly burst: number;
  readonly maxDeletePercent: number;
  readonly concurrency: number;
  /** Where owned objects are looked for to prune (docs/operations.md#what-gets-cleaned-up). */
  readonly cleanupScope: CleanupScope;
  /** Undefined: election disabled, this replica always writes. */
  readonly leaderElection: LeaderElectionConfig | undefined;
}

export const CleanupScope = {
  /** Also list our objects cluster-wide (label selector), so untargeted namespaces are cleaned. */
  CLUSTER: 'cluster',
  /** Only the targeted namespaces are looked at (namespaced RBAC). */
  NAMESPACES: 'namespaces',
} as const;
export type CleanupScope = (typeof CleanupScope)[keyof typeof CleanupScope];

export interface LeaderElectionConfig {
  readonly namespace: string;
  readonly name: string;
  readonly leaseDurationSeconds: number;
  readonly renewDeadlineSeconds: number;
  readonly retryPeriodSeconds: number;
  /** Undefined: the composition root supplies one (pod name, or hostname + pid). */
  readonly identity: string | undefined;
}

export interface RenderSinkConfig {
  /** Absolute folder; undefined: stdout. */
  readonly out: string | undefined;
}

export interface AdminConfig {
  /** `host:port`. */
  readonly address: string;
}

export const LogLevel = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
  /** Nothing is logged. */
  SILENT: 'silent',
} as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

export const LogFormat = {
  /** JSON lines on stderr (the only format so far). */
  JSON: 'json',
} as const;
export type LogFormat = (typeof LogFormat)[keyof typeof LogFormat];

export interface LogConfig {
  readonly level: LogLevel;
  readonly format: LogFormat;
}
