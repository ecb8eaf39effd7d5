import type { EndpointForm } from '../convert/options.js';
import type { AddressMode } from '../convert/address-mode.js';
import type { ConflictPolicy } from '../core/aggregate.js';
import type { Protocol } from '../model/index.js';
import type { CleanupScope, LogFormat, LogLevel } from './types.js';
import type { RegistryKind } from '../registry/kinds.js';
import type { SelectionRules } from '../convert/selection.js';
import type { IdentityRules } from '../convert/identity.js';

/**
 * The config as written (after env substitution), once it passed the runtime schema: optional
 * keys may be absent. Only load.ts turns it into the resolved Config.
 */
export interface RawConfig {
  readonly $schema?: string;
  readonly instance?: string;
  readonly registries: readonly RawRegistry[];
  readonly conflictPolicy?: ConflictPolicy;
  readonly vipCidr?: string;
  readonly startup?: { readonly syncTimeoutSeconds?: number };
  readonly checkpoint?: {
    readonly path?: string;
    readonly configMap?: { readonly name?: string; readonly namespace: string; readonly kubeconfig?: string; readonly context?: string };
    readonly intervalSeconds?: number;
  };
  readonly debounce?: { readonly quietPeriodMs?: number; readonly maxDelayMs?: number; readonly leadingEdge?: boolean };
  /** Absent: no sink (enough for `render` and `check`; `run` refuses it). */
  readonly sinks?: RawSinks;
  /** null: no admin server. */
  readonly admin?: { readonly address?: string | null } | null;
  readonly log?: { readonly level?: LogLevel; readonly format?: LogFormat };
}

/** Common keys, plus the settings block named after the kind (resolved by src/registry/<kind>/spec.ts). */
export type RawRegistry = RawRegistryCommon & { readonly [K in RegistryKind]?: unknown };

export interface RawRegistryCommon {
  readonly name: string;
  readonly kind: RegistryKind;
  readonly namespace: string;
  readonly hostTemplate?: string;
  readonly exportTo?: readonly string[];
  readonly form?: EndpointForm;
  readonly addresses?: AddressMode;
  readonly includeUnhealthy?: boolean;
  readonly defaultProtocol?: Protocol;
  readonly portProtocols?: Readonly<Record<string, Protocol>>;
  readonly namespaceMap?: Readonly<Record<string, string>>;
  readonly network?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly protectPercent?: number;
  readonly protectEndpointPercent?: number;
  readonly protectWindowSeconds?: number;
  readonly protectHoldMaxSeconds?: number;
  readonly protectSettleSeconds?: number;
  readonly select?: SelectionRules;
  readonly identity?: IdentityRules;
  readonly sidecars?: {
    readonly namespace?: string;
    readonly namespaces?: Readonly<Record<string, string>>;
    readonly workloadLabels?: Readonly<Record<string, string>>;
    readonly alwaysInclude?: readonly string[];
  };
  readonly publish?: { readonly serviceEntries?: boolean; readonly kubernetesServices?: boolean };
}

export interface RawSinks {
  readonly xds?: RawXds;
  readonly kubernetes?: RawKubernetes;
  readonly render?: { readonly out?: string };
}

export interface RawXds {
  readonly address: string;
  readonly keepalive?: {
    readonly timeMs?: number;
    readonly timeoutMs?: number;
    readonly maxConnectionIdleMs?: number;
    readonly maxConnectionAgeMs?: number;
    readonly maxConnectionAgeGraceMs?: number;
  };
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  readonly maxConcurrentStreams?: number;
  readonly maxSendMessageBytes?: number;
  readonly maxReceiveMessageBytes?: number;
  readonly shutdownGraceMs?: number;
  readonly shards?: number;
}

export interface RawKubernetes {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly qps?: number;
  readonly burst?: number;
  readonly maxDeletePercent?: number;
  readonly concurrency?: number;
  readonly cleanupScope?: CleanupScope;
  readonly leaderElection?: {
    readonly enabled?: boolean;
    readonly namespace?: string;
    readonly name?: string;
    readonly leaseDurationSeconds?: number;
    readonly renewDeadlineSeconds?: number;
    readonly retryPeriodSeconds?: number;
    readonly identity?: string;
  };
}
