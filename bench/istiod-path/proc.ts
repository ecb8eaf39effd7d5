/** Linux /proc readings of another process (istiod) for the istiod-path bench. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** VmRSS of a process, MiB. */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

/** utime + stime of a process, ms. */
export function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

/** The newest process whose command line matches `pattern`. */
export function pidOf(pattern: string): number {
  return Number(execFileSync('pgrep', ['-n', '-f', pattern]).toString().trim());
}

/** Waits until the process uses < `budgetMs` CPU per second for `seconds` seconds in a row (or `timeoutMs`). */
export async function waitQuiet(pid: number, budgetMs: number, seconds: number, timeoutMs: number): Promise<void> {
  let quiet = 0;
  const end = Date.now() + timeoutMs;
  while (quiet < seconds && Date.now() < end) {
    const c0 = cpuMs(pid);
    await new Promise((r) => setTimeout(r, 1000));
    quiet = cpuMs(pid) - c0 < budgetMs ? quiet + 1 : 0;
  }
}
