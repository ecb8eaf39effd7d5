/**
 * IPC between the scale bench (observer, parent) and the bridge process it forks (Meshbridge's
 * pipeline and sinks, or a baseline strategy), plus the shared data shape.
 */
import { benchService, options, type ServiceShape } from '../data.js';
import type { ConversionOptions } from '../../src/convert/index.js';
import type { Service } from '../../src/model/index.js';

export const Mode = {
  /** Meshbridge: watch events, debounce (quiet period, max delay), incremental everything. */
  MESHBRIDGE: 'meshbridge',
  /** Meshbridge with a trailing-edge debounce only (debounce.leadingEdge false): the old default. */
  TRAILING: 'trailing',
  /** Baseline: no debounce: one full flush (snapshot build, push, writes) per registry event. */
  NO_DEBOUNCE: 'no-debounce',
  /** Baseline: poll every N s, re-list and convert everything, rewrite every object. */
  POLL: 'poll',
} as const;
export type Mode = (typeof Mode)[keyof typeof Mode];

/**
 * Where the bridge's registry data comes from: in-process FakeRegistries (the bench applies
 * changes inside the bridge), or one real registry watched through Meshbridge's own adapter (the
 * bench writes to the registry from outside, as a provider would).
 */
export type BridgeSource =
  | { readonly kind: 'fake' }
  | { readonly kind: 'zookeeper'; readonly connectString: string }
  | { readonly kind: 'etcd'; readonly endpoint: string; readonly prefix: string; readonly layout: string };

export interface BridgeConfig {
  readonly source: BridgeSource;
  readonly services: number;
  readonly endpoints: number;
  readonly registries: number;
  readonly mode: Mode;
  readonly quietPeriodMs: number;
  readonly maxDelayMs: number;
  readonly pollMs: number;
  /** Kubernetes sink on (kubeconfig of the real kube-apiserver), else MCP only. */
  readonly kubeconfig: string | undefined;
  readonly kubeQps: number;
}

/** One registry change: service `svc` of registry `reg` moves its first endpoint (variant). */
export interface Change {
  readonly id: number;
  readonly reg: number;
  readonly svc: number;
  readonly variant: number;
}

export type ToBridge =
  | { readonly type: 'apply'; readonly changes: readonly Change[] }
  | { readonly type: 'churn'; readonly changes: readonly Change[]; readonly perSecond: number }
  | { readonly type: 'resync' }
  | { readonly type: 'stats' }
  | { readonly type: 'stop' };

export interface BridgeStats {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly maxRss: number;
  /** user + system CPU seconds since the bridge started. */
  readonly cpuSeconds: number;
  readonly kubeWrites: number;
  readonly kubeFailed: number;
  readonly pushes: number;
  readonly pushBytes: number;
  readonly publishes: number;
  /** Duration of each publish's synchronous xDS work (retain, encode, assemble, write), ms. */
  readonly pushBuildMs: readonly number[];
  /** Duration of each pipeline flush, ms. */
  readonly flushMs: readonly number[];
  /** Problems the registry adapters reported (skipped entries, connection trouble), and the first. */
  readonly registryProblems: number;
  readonly firstRegistryProblem: string | undefined;
}

export type FromBridge =
  | { readonly type: 'ready'; readonly port: number; readonly fullSyncMs: number }
  | { readonly type: 'applied'; readonly stamps: ReadonlyArray<readonly [number, number]> }
  | { readonly type: 'resynced'; readonly ms: number; readonly published: boolean }
  | ({ readonly type: 'stats' } & BridgeStats)
  | { readonly type: 'error'; readonly message: string };

export function registryName(reg: number): string {
  return `bench${reg}`;
}

export function conversionOptions(): ConversionOptions {
  return options;
}

/** Service `svc` of registry `reg` at `variant`; services are spread over registries by index. */
export function scaleService(cfg: Pick<BridgeConfig, 'endpoints'>, reg: number, svc: number, variant = 0): Service {
  const shape: ServiceShape = { endpoints: cfg.endpoints, registry: registryName(reg) };
  return benchService(svc, variant, shape);
}

/** Registry index of service `svc` when `registries` registries share the services. */
export function registryOf(svc: number, registries: number): number {
  return svc % registries;
}
