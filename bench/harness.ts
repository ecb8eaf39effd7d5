/**
 * Timing and memory helpers shared by the benches. Benches print and record figures; nothing
 * here asserts on time (tests never do either).
 *
 * Contract:
 * - A case runs `warmup` untimed iterations, then `iterations` timed ones; each iteration's
 *   `step` returns the nanoseconds it measured itself (so a step can leave setup and client-side
 *   waiting out of the figure).
 * - When the process runs with --expose-gc (run.ts forks every bench that way), a full GC runs
 *   before every iteration, outside the timed part, and before each memory reading.
 * - Heap/RSS deltas of a timing case are what stayed retained after its last iteration (after GC)
 *   compared with before its warm-up: growth, not peak.
 */
import { memoryUsage } from 'node:process';

export const Role = { SUBJECT: 'subject', BASELINE: 'baseline' } as const;
export type Role = (typeof Role)[keyof typeof Role];

/** What a bench compares its subject cases with the baseline on. */
export const Compare = { TIME: 'time', MEMORY: 'memory' } as const;
export type Compare = (typeof Compare)[keyof typeof Compare];

/** What describes a timing case, in its options and in its result. */
export interface CaseSpec {
  readonly label: string;
  readonly role: Role;
  /** For a subject: the label of the baseline case it is compared with (same bench). */
  readonly baseline?: string;
  /** Items one iteration handles (services, resources, endpoints), with their unit. */
  readonly n: number;
  readonly unit: string;
  readonly warmup: number;
  readonly iterations: number;
}

export interface CaseResult extends CaseSpec {
  readonly medianMs: number;
  readonly p95Ms: number;
  readonly minMs: number;
  readonly heapDeltaBytes: number;
  readonly externalDeltaBytes: number;
  readonly rssDeltaBytes: number;
  readonly notes: readonly string[];
}

/** Free-form tables a bench reports instead of (or besides) timing cases, plus its raw data. */
export interface TableResult {
  readonly tables: ReadonlyArray<{ readonly title: string; readonly header: readonly string[]; readonly rows: ReadonlyArray<readonly string[]> }>;
  /** Prose lines printed above the tables (parameters, peers, caveats). */
  readonly preamble: readonly string[];
  /** Raw figures (JSON-serialisable), written to docs/bench/<name>.json by --write for plots. */
  readonly data: unknown;
}

export interface BenchResult {
  readonly name: string;
  readonly title: string;
  readonly compare: Compare;
  readonly cases: readonly CaseResult[];
  readonly wallMs: number;
  readonly table?: TableResult;
}

/** One bench: a name for the command line and a function that runs all its cases. */
export interface Bench {
  readonly name: string;
  readonly title: string;
  /** What is measured and why (goes into docs/benchmarks.md). */
  readonly description: string;
  readonly compare: Compare;
  run(): Promise<readonly CaseResult[]>;
  /** After run(): tables of a bench whose figures are not timing cases. */
  table?(): TableResult | undefined;
}

type Gc = () => void;

function gcFunction(): Gc | undefined {
  const g: unknown = (globalThis as { gc?: unknown }).gc;
  return typeof g === 'function' ? (g as Gc) : undefined;
}

/** True when global.gc is available (node --expose-gc). */
export function hasGc(): boolean {
  return gcFunction() !== undefined;
}

/** Full GC when available; a no-op otherwise. */
export function collect(): void {
  const gc = gcFunction();
  if (gc !== undefined) {
    gc();
    gc(); // a second pass frees what the first one's finalisers released
  }
}

export interface MemoryReading {
  readonly heapUsed: number;
  readonly external: number;
  readonly rss: number;
}

/** Memory after a full GC (when available). */
export function readMemory(): MemoryReading {
  collect();
  const m = memoryUsage();
  return { heapUsed: m.heapUsed, external: m.external, rss: m.rss };
}

/** Nanoseconds a synchronous function takes. */
export function timeSync(fn: () => void): bigint {
  const t0 = process.hrtime.bigint();
  fn();
  return process.hrtime.bigint() - t0;
}

/** Nanoseconds an async function takes, until its promise settles. */
export async function timeAsync(fn: () => Promise<void>): Promise<bigint> {
  const t0 = process.hrtime.bigint();
  await fn();
  return process.hrtime.bigint() - t0;
}

/** Nearest-rank percentile of sorted values (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

export interface CaseOptions extends CaseSpec {
  /** One iteration; returns the nanoseconds it measured. `i` counts warm-up iterations too. */
  readonly step: (i: number) => Promise<bigint> | bigint;
  /** Extra notes computed after the timed iterations (bytes per push, ...). */
  readonly notes?: () => readonly string[] | Promise<readonly string[]>;
}

/** Runs one case: warm-up, timed iterations, statistics, retained memory. */
export async function runCase(o: CaseOptions): Promise<CaseResult> {
  const before = readMemory();
  const samples: number[] = [];
  for (let i = 0; i < o.warmup + o.iterations; i++) {
    collect();
    const ns = await o.step(i);
    if (i >= o.warmup) samples.push(Number(ns) / 1e6);
  }
  const after = readMemory();
  return summarise(o, samples, before, after, o.notes === undefined ? [] : await o.notes());
}

/** Builds a CaseResult from samples (ms) and two memory readings. */
export function summarise(
  o: Pick<CaseOptions, 'label' | 'role' | 'baseline' | 'n' | 'unit' | 'warmup' | 'iterations'>,
  samplesMs: readonly number[],
  before: MemoryReading,
  after: MemoryReading,
  notes: readonly string[],
): CaseResult {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  return {
    label: o.label,
    role: o.role,
    ...(o.baseline !== undefined ? { baseline: o.baseline } : {}),
    n: o.n,
    unit: o.unit,
    warmup: o.warmup,
    iterations: sorted.length,
    medianMs: median(sorted),
    p95Ms: percentile(sorted, 95),
    minMs: sorted[0] ?? Number.NaN,
    heapDeltaBytes: after.heapUsed - before.heapUsed,
    externalDeltaBytes: after.external - before.external,
    rssDeltaBytes: after.rss - before.rss,
    notes,
  };
}

export function formatBytes(b: number): string {
  const sign = b < 0 ? '-' : '';
  const a = Math.abs(b);
  if (a >= 1024 * 1024) return `${sign}${(a / 1024 / 1024).toFixed(1)} MiB`;
  if (a >= 1024) return `${sign}${(a / 1024).toFixed(1)} KiB`;
  return `${sign}${a} B`;
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}
