/**
 * Bench runner: `node dist/bench/run.js [name...] [--write]` (npm run bench -- ...).
 *
 * Contract:
 * - Without names every bench runs, in the order below; unknown names are an error (exit code 2).
 * - Each bench runs in a child process forked with --expose-gc, one at a time; the child sends
 *   its BenchResult over IPC. `--child <name>` is that child mode (prints the result as JSON
 *   when there is no IPC channel, e.g. `node --expose-gc dist/bench/run.js --child memory`).
 * - `--write` rewrites docs/benchmarks.md (see report.ts for what is carried over).
 * - Never calls process.exit: it sets process.exitCode and lets the process end.
 */
import { execFileSync, fork, spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { convertBench } from './convert.js';
import { hasGc, type Bench, type BenchResult } from './harness.js';
import { memoryBench } from './memory.js';
import { pipelineFlush } from './pipeline-flush.js';
import { consoleTable, machineInfo, machineLine, renderDoc } from './report.js';
import { xdsPush } from './xds-push.js';
import { summarize } from './summarize.js';
import { scaleBench } from './scale/scale.js';
import { istiodPath } from './istiod-path.js';
import { footprint } from './footprint.js';
import { selectionBench } from './selection.js';
import { restMemory } from './rest-memory.js';

const BENCHES: readonly Bench[] = [xdsPush, convertBench, pipelineFlush, memoryBench, selectionBench, scaleBench, istiodPath, footprint, restMemory];
const DOC = new URL('../../docs/benchmarks.md', import.meta.url);
const SELF = fileURLToPath(import.meta.url);
const DATA_DIR = new URL('../../docs/bench/', import.meta.url);
const PLOT = fileURLToPath(new URL('../../bench/plot/plot.py', import.meta.url));

/** The commit the figures were measured on (`git rev-parse HEAD`, "+dirty" with local changes). */
function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'bench'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

/** Renders docs/bench/*.png from docs/bench/*.json with bench/plot/plot.py (python3 + matplotlib); optional. */
function plot(): void {
  const r = spawnSync('python3', [PLOT, fileURLToPath(DATA_DIR)], { stdio: 'inherit' });
  if (r.status !== 0) process.stdout.write('plots not rendered (python3 with matplotlib needed: pip install matplotlib)\n');
}
/** A child that sent its result but does not exit within this is killed (a leaked handle). */
const EXIT_GRACE_MS = 10_000;

const USAGE = `usage: node dist/bench/run.js [${BENCHES.map((b) => b.name).join('|')} ...] [--write]
  --write         rewrite docs/benchmarks.md with the figures of this run
  --child <name>  run one bench in this process (needs --expose-gc for GC between iterations)`;

async function runChild(name: string): Promise<void> {
  const bench = BENCHES.find((b) => b.name === name);
  if (bench === undefined) throw new Error(`unknown bench ${name}`);
  const t0 = process.hrtime.bigint();
  const cases = await bench.run();
  const table = bench.table?.();
  const result: BenchResult = {
    name: bench.name,
    title: bench.title,
    compare: bench.compare,
    cases,
    wallMs: Number(process.hrtime.bigint() - t0) / 1e6,
    ...(table !== undefined ? { table } : {}),
  };
  if (process.send !== undefined) {
    await new Promise<void>((resolve, reject) => process.send?.(result, undefined, {}, (e) => (e === null ? resolve() : reject(e))));
    process.disconnect();
  } else {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  }
}

function isBenchResult(v: unknown): v is BenchResult {
  return typeof v === 'object' && v !== null && typeof (v as { name?: unknown }).name === 'string' && Array.isArray((v as { cases?: unknown }).cases);
}

/** Runs one bench in a forked child with --expose-gc; resolves with its result. */
function runForked(bench: Bench): Promise<BenchResult> {
  return new Promise((resolve, reject) => {
    const child = fork(SELF, ['--child', bench.name], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: BenchResult | undefined;
    let killer: NodeJS.Timeout | undefined;
    child.on('message', (m: unknown) => {
      if (!isBenchResult(m)) return;
      result = m;
      killer = setTimeout(() => child.kill(), EXIT_GRACE_MS);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (killer !== undefined) clearTimeout(killer);
      if (result !== undefined) resolve(result);
      else reject(new Error(`bench ${bench.name} failed (exit code ${String(code)}, signal ${String(signal)})`));
    });
  });
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const childAt = argv.indexOf('--child');
  if (childAt >= 0) {
    const name = argv[childAt + 1];
    if (name === undefined) throw new Error('--child needs a bench name');
    await runChild(name);
    return 0;
  }
  const write = argv.includes('--write');
  const names = argv.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown bench: ${unknown.join(', ')}\n${USAGE}\n`);
    return 2;
  }
  const selected = names.length === 0 ? BENCHES : BENCHES.filter((b) => names.includes(b.name));
  // Read before the run: the code measured is what was built at the start, whatever happens to
  // the tree while the benches run.
  const commit = gitCommit();
  const machine = machineInfo(true); // children always run with --expose-gc
  process.stdout.write(`${machineLine(machine)}\n(parent has global.gc: ${String(hasGc())}; each bench is forked with --expose-gc)\n\n`);
  const results: BenchResult[] = [];
  for (const b of selected) {
    process.stdout.write(`running ${b.name} ...\n`);
    const r = await runForked(b);
    results.push(r);
    process.stdout.write(`${consoleTable(r)}\n\n`);
  }
  if (write) {
    const previous = await readFile(DOC, 'utf8').catch(() => undefined);
    await writeFile(DOC, renderDoc(BENCHES, results, { ...machine, commit }, previous));
    process.stdout.write(`wrote ${fileURLToPath(DOC)}\n`);
    for (const r of results) {
      if (r.table === undefined) continue;
      await mkdir(DATA_DIR, { recursive: true });
      const file = new URL(`${r.name}.json`, DATA_DIR);
      await writeFile(file, `${JSON.stringify(summarize({ machine: { ...machine, commit }, wallMs: r.wallMs, ...(r.table.data as object) }))}\n`);
      process.stdout.write(`wrote ${fileURLToPath(file)}\n`);
    }
    plot();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
