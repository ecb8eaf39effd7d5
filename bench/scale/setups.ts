/**
 * The scale bench's setups (size, registries, strategy, route, real source), the run's fixed
 * settings, and the shape of what a run reports.
 */
import { percentile } from '../harness.js';
import { Mode } from './protocol.js';
import { SourceKind } from './sources.js';

export const SE_URL = 'networking.istio.io/v1/ServiceEntry';
export const QUIET_MS = 100;
export const MAX_DELAY_MS = 1000;
export const POLL_MS = 5000;
export const KUBE_QPS = 500;
export const IDLE_MS = 10_000;
export const DEFAULT_CHURN_S = 60;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Setup {
  readonly id: string;
  readonly services: number;
  readonly endpoints: number;
  readonly registries: number;
  readonly mode: Mode;
  readonly kube: boolean;
  readonly isolated: number;
  readonly burst: number;
  readonly churn: boolean;
  /** Churn duration for this setup when shorter than the run's (a baseline that cannot keep up). */
  readonly churnSeconds?: number;
  /** A real registry (through Meshbridge's adapter) instead of in-process FakeRegistries. */
  readonly source?: SourceKind;
}

export interface Latency {
  readonly n: number;
  readonly missed: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface ScenarioResult {
  readonly setup: string;
  readonly scenario: string;
  readonly changes: number;
  /** Distinct ServiceEntries the changes touched. */
  readonly changedEntries: number;
  readonly ads: Latency | undefined;
  readonly kube: Latency | undefined;
  readonly kubeWrites: number | undefined;
  readonly pushes: number;
  readonly pushMiB: number;
  readonly pushBuildP50: number | undefined;
  readonly pushBuildP99: number | undefined;
  readonly flushP50: number | undefined;
  /** Requests the bridge sent to a real registry during the scenario (idle only). */
  readonly registryRequests: number | undefined;
  readonly cpuSeconds: number;
  readonly rssMiB: number;
  readonly maxRssMiB: number;
  readonly wallMs: number;
  readonly notes: string;
  /** Per-change latencies (ms) to the ADS client, for plots. */
  readonly adsSamples: readonly number[];
  readonly kubeSamples: readonly number[];
}

export interface FloorResult {
  readonly name: string;
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly notes: string;
}

export interface ScaleReport {
  readonly churnSeconds: number;
  readonly quietPeriodMs: number;
  readonly maxDelayMs: number;
  readonly pollMs: number;
  readonly kubeAvailable: string;
  readonly results: readonly ScenarioResult[];
  readonly floors: readonly FloorResult[];
}

export function allSetups(): Setup[] {
  const small = { services: 1_000, endpoints: 10 };
  const large = { services: 10_000, endpoints: 10 };
  return [
    { id: 'S1-mb', ...small, registries: 1, mode: Mode.MESHBRIDGE, kube: true, isolated: 20, burst: 10_000, churn: true },
    { id: 'S1-tr', ...small, registries: 1, mode: Mode.TRAILING, kube: false, isolated: 20, burst: 10_000, churn: true },
    { id: 'S1-nd', ...small, registries: 1, mode: Mode.NO_DEBOUNCE, kube: true, isolated: 10, burst: 0, churn: true, churnSeconds: 20 },
    { id: 'S1-poll', ...small, registries: 1, mode: Mode.POLL, kube: true, isolated: 4, burst: 0, churn: false },
    { id: 'S3-mb', ...small, registries: 3, mode: Mode.MESHBRIDGE, kube: false, isolated: 20, burst: 10_000, churn: false },
    { id: 'L1-mb', ...large, registries: 1, mode: Mode.MESHBRIDGE, kube: false, isolated: 30, burst: 10_000, churn: true },
    { id: 'L3-mb', ...large, registries: 3, mode: Mode.MESHBRIDGE, kube: false, isolated: 30, burst: 10_000, churn: true },
    { id: 'L1-tr', ...large, registries: 1, mode: Mode.TRAILING, kube: false, isolated: 30, burst: 10_000, churn: true },
    { id: 'L1-nd', ...large, registries: 1, mode: Mode.NO_DEBOUNCE, kube: false, isolated: 20, burst: 0, churn: true, churnSeconds: 2 },
    { id: 'L1-poll', ...large, registries: 1, mode: Mode.POLL, kube: false, isolated: 4, burst: 0, churn: true },
    { id: 'L1-mb-kube', ...large, registries: 1, mode: Mode.MESHBRIDGE, kube: true, isolated: 10, burst: 0, churn: false },
    { id: 'Z1-mb', ...small, registries: 1, mode: Mode.MESHBRIDGE, kube: false, isolated: 20, burst: 10_000, churn: true, source: SourceKind.ZOOKEEPER },
    { id: 'E1-mb', ...small, registries: 1, mode: Mode.MESHBRIDGE, kube: false, isolated: 20, burst: 10_000, churn: true, source: SourceKind.ETCD },
  ];
}

export function setupLabel(s: Setup): string {
  const n = `${(s.services / 1000).toFixed(0)}k svc/${((s.services * s.endpoints) / 1000).toFixed(0)}k ep`;
  return `${s.id}: ${n}, ${s.registries} reg${s.source !== undefined ? ` (real ${s.source})` : ''}, ${s.mode}${s.kube ? ', +kube' : ''}`;
}

export function latency(samples: readonly number[], missed: number): Latency {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, missed, p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] ?? Number.NaN };
}

/** A row with nothing measured yet: the base the scenarios fill in. */
export function empty(setup: Setup, scenario: string): ScenarioResult {
  return {
    setup: setupLabel(setup),
    scenario,
    changes: 0,
    changedEntries: 0,
    ads: undefined,
    kube: undefined,
    kubeWrites: undefined,
    pushes: 0,
    pushMiB: 0,
    pushBuildP50: undefined,
    pushBuildP99: undefined,
    flushP50: undefined,
    registryRequests: undefined,
    cpuSeconds: 0,
    rssMiB: 0,
    maxRssMiB: 0,
    wallMs: 0,
    notes: '',
    adsSamples: [],
    kubeSamples: [],
  };
}
