/** The scale bench's tables (docs/benchmarks.md and the console): scenarios and floors. */
import type { TableResult } from '../harness.js';
import { DEFAULT_CHURN_S, type Latency, type ScaleReport } from './setups.js';

function ms(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function lat(l: Latency | undefined): string {
  if (l === undefined) return '-';
  return `${ms(l.p50)} / ${ms(l.p99)}${l.missed > 0 ? ` (${l.missed} missed)` : ''}`;
}

export const SCALE_HEADER = [
  'setup',
  'scenario',
  'changes (entries)',
  'ADS p50 / p99 ms',
  'kube watch p50 / p99 ms',
  'API writes (per changed SE)',
  'SE pushes',
  'push MiB',
  'push build p50 / p99 ms',
  'flush p50 ms',
  'CPU s',
  'RSS / peak MiB',
  'notes',
] as const;

export function scaleRows(r: ScaleReport): string[][] {
  return r.results.map((x) => [
    x.setup,
    x.scenario,
    x.changes === 0 ? '-' : `${x.changes.toLocaleString('en-US')} (${x.changedEntries.toLocaleString('en-US')})`,
    lat(x.ads),
    lat(x.kube),
    x.kubeWrites === undefined ? '-' : x.changedEntries > 0 ? `${x.kubeWrites} (${(x.kubeWrites / x.changedEntries).toFixed(2)})` : String(x.kubeWrites),
    String(x.pushes),
    x.pushMiB.toFixed(1),
    `${ms(x.pushBuildP50)} / ${ms(x.pushBuildP99)}`,
    ms(x.flushP50),
    x.cpuSeconds.toFixed(2),
    `${x.rssMiB.toFixed(0)} / ${x.maxRssMiB.toFixed(0)}`,
    x.notes,
  ]);
}

export function floorRows(r: ScaleReport): string[][] {
  return r.floors.map((f) => [f.name, String(f.n), ms(f.p50), ms(f.p99), f.notes]);
}

export function scaleTable(r: ScaleReport): TableResult {
  return {
    preamble: [
      `Churn ${r.churnSeconds} s at 1,000 changes/s` +
        (r.churnSeconds < DEFAULT_CHURN_S ? ` (shortened from the default ${DEFAULT_CHURN_S} s with BENCH_SCALE_CHURN_S)` : '') +
        `; the no-debounce baselines, which cannot keep up, run shorter (the duration is in each churn row). ` +
        `Debounce: quiet period ${r.quietPeriodMs} ms, max delay ${r.maxDelayMs} ms; poll baseline every ${r.pollMs / 1000} s. Kubernetes route: ${r.kubeAvailable}.`,
    ],
    tables: [
      { title: 'Scenarios', header: SCALE_HEADER, rows: scaleRows(r) },
      { title: 'Floors (measured directly)', header: ['floor', 'n', 'p50 ms', 'p99 ms', 'notes'], rows: floorRows(r) },
    ],
    data: r,
  };
}
