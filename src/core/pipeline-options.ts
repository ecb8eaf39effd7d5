/**
 * What a Pipeline is built from: its options (registries, conversion, guard, debounce, store,
 * observability, the injected pure conversion functions) and their defaults. Types and
 * constants only; core/pipeline.ts re-exports them.
 */
import type { Service } from '../model/index.js';
import type { ConversionOptions, ConvertInput, ConvertOutput } from '../convert/options.js';
import type { SnapshotStore } from '../snapshot/index.js';
import type { Registry } from '../registry/types.js';
import type { Logger, Metrics } from '../observability/index.js';
import type { ProtectSettings } from './protect.js';
import type { ConflictPolicy } from './aggregate.js';

export type { ConvertOutput } from '../convert/options.js';

export interface PipelineOptions {
  /** In precedence order (config order). Names are unique. */
  readonly registries: readonly Registry[];
  readonly conversion: ReadonlyMap<string, ConversionOptions>;
  /** Per registry: hold when more than this share of its services is gone (default 50). */
  readonly protectPercent: ReadonlyMap<string, number>;
  /** Per registry: the other guard settings (docs/safety.md); defaults in DEFAULT_PROTECT. */
  readonly protect?: ReadonlyMap<string, Partial<ProtectSettings>> | undefined;
  /**
   * A registry that has not synced this long after start() no longer blocks publishing: it is
   * published from its checkpoint (seedFromCheckpoint) or with what it has, and reported
   * (MB_REGISTRY_SYNC_TIMEOUT). 0 or undefined: wait forever.
   */
  readonly syncTimeoutMs?: number | undefined;
  /**
   * A first publish over at least this many services is prepared in slices that yield (default
   * 2,000; Infinity: always at once, as the micro-benchmarks want).
   */
  readonly prewarmMinServices?: number | undefined;
  /** Clock (ms), for tests; default Date.now. */
  readonly now?: (() => number) | undefined;
  readonly conflictPolicy: ConflictPolicy;
  /** leadingEdge: an isolated change is flushed at once (Debouncer `leading`); default false. */
  readonly debounce: { readonly quietPeriodMs: number; readonly maxDelayMs: number; readonly leadingEdge?: boolean };
  readonly store: SnapshotStore;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Pure conversion functions, injected by the composition root. */
  readonly hostFor: (service: Service, options: ConversionOptions) => string;
  readonly convert: (input: ConvertInput, options: ConversionOptions) => ConvertOutput;
  /**
   * False: every flush merges every host (the reference the incremental flush is tested
   * against). Default true.
   */
  readonly incremental?: boolean | undefined;
  /** Range VIPs are taken from (docs/mapping.md#listener-addresses); default DEFAULT_VIP_CIDR. */
  readonly vipCidr?: string | undefined;
}

/**
 * What a reload changes (Pipeline.reconfigure): the registries in config order (an unchanged one
 * is the same object as before; a restarted or added one a new, unstarted object) and their
 * per-registry settings, plus the conflict policy.
 */
export type PipelineReconfig = Pick<PipelineOptions, 'registries' | 'conversion' | 'protectPercent' | 'protect' | 'conflictPolicy'>;

/** A registry's guard settings: DEFAULT_PROTECT, then its protectPercent, then its `protect`. */
export function protectSettingsOf(o: Pick<PipelineOptions, 'protectPercent' | 'protect'>, registry: string): ProtectSettings {
  return { ...DEFAULT_PROTECT, servicePercent: o.protectPercent.get(registry) ?? DEFAULT_PROTECT.servicePercent, ...o.protect?.get(registry) };
}

/** Guard settings a registry gets when the config says nothing (docs/safety.md). */
export const DEFAULT_PROTECT: ProtectSettings = { servicePercent: 50, endpointPercent: 50, windowMs: 300_000, holdMaxMs: 0, settleMs: 30_000 };

/** Default VIP range: class E next to the 240.240.0.0/16 istiod allocates from itself. */
export const DEFAULT_VIP_CIDR = '240.241.0.0/16';
