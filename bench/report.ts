/**
 * Console table and docs/benchmarks.md rendering.
 *
 * Contract for docs/benchmarks.md: the file is regenerated as a whole on `--write`, except
 * (1) the hand-written reading between READING markers, which is carried over verbatim, and
 * (2) the figures of benches not run this time, carried over from their own markers, so
 * `npm run bench -- xds-push --write` refreshes one section and leaves the others as recorded.
 */
import { cpus, loadavg, totalmem, platform, arch } from 'node:os';
import { Compare, Role, formatBytes, formatMs, hasGc, type Bench, type BenchResult, type CaseResult } from './harness.js';

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memory: string;
  readonly node: string;
  readonly os: string;
  readonly date: string;
  readonly load: string;
  readonly gc: boolean;
  /** git rev-parse HEAD of the measured tree (set by run.ts on --write). */
  readonly commit?: string;
}

export function machineInfo(gc: boolean = hasGc()): MachineInfo {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memory: formatBytes(totalmem()),
    node: process.version,
    os: `${platform()} ${arch()}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    load: loadavg()
      .map((l) => l.toFixed(2))
      .join(' / '),
    gc,
  };
}

export function machineLine(m: MachineInfo): string {
  const commit = m.commit !== undefined ? `, commit ${m.commit}` : '';
  return `${m.cpu}, ${m.cores} cores, ${m.memory} RAM, ${m.os}, Node ${m.node}, ${m.date}, load avg (1/5/15 min) at start ${m.load}, global.gc ${m.gc ? 'on' : 'OFF'}${commit}`;
}

/** "12.3x faster" / "2.10x slower" (time), "1.85x baseline" (memory), or "baseline". */
export function versus(bench: BenchResult, c: CaseResult): string {
  if (c.role === Role.BASELINE) return 'baseline';
  const b = bench.cases.find((x) => x.label === c.baseline);
  if (b === undefined) return '-';
  if (bench.compare === Compare.MEMORY) {
    const base = b.heapDeltaBytes + b.externalDeltaBytes;
    return base > 0 ? `${((c.heapDeltaBytes + c.externalDeltaBytes) / base).toFixed(2)}x baseline` : '-';
  }
  const r = b.medianMs / c.medianMs;
  if (!Number.isFinite(r) || r <= 0) return '-';
  return r >= 1 ? `${r.toFixed(r >= 10 ? 0 : 1)}x faster` : `${(1 / r).toFixed(r > 0.1 ? 2 : 1)}x slower`;
}

interface Row {
  readonly cells: readonly string[];
}

const HEADER = ['case', 'N', 'iters', 'median ms', 'p95 ms', 'ops/s', 'heap Δ', 'ext Δ', 'RSS Δ', 'vs baseline', 'notes'] as const;

function rows(bench: BenchResult): Row[] {
  return bench.cases.map((c) => ({
    cells: [
      c.role === Role.BASELINE ? `${c.label} [baseline]` : c.label,
      `${c.n.toLocaleString('en-US')} ${c.unit}`,
      `${c.warmup}+${c.iterations}`,
      formatMs(c.medianMs),
      formatMs(c.p95Ms),
      Number.isFinite(c.medianMs) && c.medianMs > 0 ? (1000 / c.medianMs).toFixed(1000 / c.medianMs >= 100 ? 0 : 1) : '-',
      formatBytes(c.heapDeltaBytes),
      formatBytes(c.externalDeltaBytes),
      formatBytes(c.rssDeltaBytes),
      versus(bench, c),
      c.notes.join('; '),
    ],
  }));
}

function textTable(header: readonly string[], body: ReadonlyArray<readonly string[]>): string[] {
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}

export function consoleTable(bench: BenchResult): string {
  if (bench.table !== undefined && bench.cases.length === 0) {
    const out = [`${bench.name}: ${bench.title}  (${(bench.wallMs / 1000).toFixed(1)} s)`, ...bench.table.preamble];
    for (const t of bench.table.tables) out.push('', t.title, ...textTable(t.header, t.rows));
    return out.join('\n');
  }
  const all = [[...HEADER], ...rows(bench).map((r) => [...r.cells])];
  const widths = HEADER.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r
      .map((cell, i) => (i === 0 || i === r.length - 1 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const out = [`${bench.name}: ${bench.title}  (${(bench.wallMs / 1000).toFixed(1)} s)`, line(all[0] ?? []), ...all.slice(1).map(line)];
  return out.join('\n');
}

function mdTable(header: readonly string[], body: ReadonlyArray<readonly string[]>): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  return [`| ${header.map(esc).join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`, ...body.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

function markdownTable(bench: BenchResult): string {
  if (bench.table !== undefined && bench.cases.length === 0) {
    const out: string[] = [...bench.table.preamble];
    for (const t of bench.table.tables) out.push('', `**${t.title}**`, '', mdTable(t.header, t.rows));
    return out.join('\n');
  }
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const head = `| ${HEADER.join(' | ')} |`;
  const sep = `|${HEADER.map((_, i) => (i === 0 || i === HEADER.length - 1 ? ' --- ' : ' ---: ')).join('|')}|`;
  return [head, sep, ...rows(bench).map((r) => `| ${r.cells.map(esc).join(' | ')} |`)].join('\n');
}

const READING_START = '<!-- reading:start -->';
const READING_END = '<!-- reading:end -->';
const sectionStart = (name: string): string => `<!-- figures:${name}:start -->`;
const sectionEnd = (name: string): string => `<!-- figures:${name}:end -->`;

function between(text: string, start: string, end: string): string | undefined {
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) return undefined;
  return text.slice(a + start.length, b).replace(/^\n/, '').replace(/\n$/, '');
}

export function figuresSection(bench: BenchResult, machine: MachineInfo): string {
  return [`Recorded on ${machineLine(machine)}; whole bench ${(bench.wallMs / 1000).toFixed(1)} s.`, '', markdownTable(bench)].join('\n');
}

const DEFAULT_READING = '_Not written yet: read the figures above against the descriptions._';

/** The whole docs/benchmarks.md; `previous` is the file as it was (or undefined). */
export function renderDoc(benches: readonly Bench[], results: readonly BenchResult[], machine: MachineInfo, previous: string | undefined): string {
  const reading = (previous !== undefined ? between(previous, READING_START, READING_END) : undefined) ?? DEFAULT_READING;
  const parts: string[] = [
    '# Benchmarks',
    '',
    '<!-- Generated by `npm run bench -- --write` (bench/run.ts). Edit only the text between the reading markers;',
    '     everything else is rewritten on the next --write. -->',
    '',
    'Meshbridge\'s benchmarks live in `bench/` and measure; they never assert on time (tests do not either).',
    'Every bench compares its subject with a baseline **in the same run**, on the same data, in the same process,',
    'so the ratio is meaningful even on a noisy machine where the absolute figures are not.',
    '',
    '## How to run',
    '',
    '```sh',
    'npm run bench                     # build, run every bench, print a table',
    `npm run bench -- xds-push         # one bench by name (${benches.map((b) => b.name).join(', ')})`,
    'npm run bench -- --write          # also rewrite the figures in docs/benchmarks.md, docs/bench/*.json and the PNG plots',
    'BENCH_SCALE_SETUPS=L1-mb,L1-nd BENCH_SCALE_CHURN_S=5 BENCH_SCALE_KUBE=0 npm run bench -- scale   # a subset, no kube',
    'pip install matplotlib; python3 bench/plot/plot.py docs/bench/   # re-render the plots from docs/bench/scale.json',
    'node dist/bench/run.js --help     # after a build',
    '```',
    '',
    '- `run.js` runs each bench in its own child process (`fork` with `--expose-gc`), one after the other, so',
    '  benches do not share JIT state or garbage, and `global.gc` is always available: a full GC runs before every',
    '  iteration (outside the timed part) and before every memory reading. Run `node --expose-gc dist/bench/run.js',
    '  --child <name>` to run a bench in the current process (prints JSON); without `--expose-gc` it still works,',
    '  but readings then include garbage.',
    '- Each case runs warm-up iterations (not recorded), then timed ones; `median` and `p95` (nearest rank) are over',
    '  the timed iterations, `ops/s` is `1000 / median ms` (iterations per second: pushes, flushes, conversions of',
    '  the whole N), `iters` is `warm-up+timed`.',
    '- `heap Δ`, `ext Δ` (off-heap: Buffers) and `RSS Δ` are retained growth over the case, read after a full GC',
    '  before the warm-up and after the last iteration (for `memory`: the size of each layer, see below). RSS',
    '  rarely shrinks and moves in large steps: read it as an order of magnitude.',
    '- `vs baseline` divides the baseline\'s median by the subject\'s (time), or the subject\'s heap + external by',
    '  the baseline\'s (memory).',
    '- The timing benches take about a minute and a half on a 2-core machine; `scale` about 18 minutes (it starts a',
    '  kube-apiserver + etcd from test-support/peers/peers.mjs when they are built, else it skips the Kubernetes columns and says so).',
    '  The timers are `process.hrtime.bigint()`; `scale` latencies are wall-clock (performance.timeOrigin + now()) across processes.',
    '- Every run records the machine, the load average at its start and the commit (`git rev-parse HEAD`, `+dirty` when src/ or bench/',
    '  had local changes). Plots: `docs/bench/*.png`, rendered by bench/plot/plot.py (python3 + matplotlib, bench-only, optional).',
    '',
    '## What each bench measures, and why',
    '',
  ];
  for (const b of benches) parts.push(`### ${b.name}: ${b.title}`, '', b.description, '');
  parts.push('## Recorded figures', '', `Last written on: ${machineLine(machine)}.`, '');
  for (const b of benches) {
    const r = results.find((x) => x.name === b.name);
    const old = previous !== undefined ? between(previous, sectionStart(b.name), sectionEnd(b.name)) : undefined;
    const body = r !== undefined ? figuresSection(r, machine) : (old ?? '_Not recorded yet._');
    parts.push(`### ${b.name}`, '', sectionStart(b.name), body, sectionEnd(b.name), '');
  }
  parts.push('## Reading the results', '', READING_START, reading, READING_END, '');
  return parts.join('\n');
}
