/**
 * The real Meshbridge CLI as a child process (dist/src/main.js run --config FILE), for end-to-end
 * tests against real peers: a file registry the test edits atomically, the admin server for
 * /readyz, /metrics and /debug/<page>.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN, REPO } from './paths.js';

export { MAIN, REPO };

/** One service of the file registry (docs/file-registry.md); the tests keep to this subset. */
export interface FileService {
  readonly name: string;
  readonly namespace: string;
  readonly ports: ReadonlyArray<{ readonly number: number; readonly name: string; readonly protocol: string }>;
  readonly instances: ReadonlyArray<{ readonly address: string; readonly weight: number; readonly labels: Readonly<Record<string, string>> }>;
}

export async function tempDir(prefix = 'meshbridge-istiod-e2e-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Writes the registry file atomically (temp file + rename), as docs/file-registry.md advises. */
export async function writeServices(path: string, services: readonly FileService[]): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  // JSON is valid YAML: the file registry parses it as the .yaml it is named.
  await writeFile(tmp, `${JSON.stringify({ services }, null, 2)}\n`);
  await rename(tmp, path);
}

export interface RunConfig {
  /** YAML list items under `registries:` (indented two spaces). */
  readonly registries: string;
  /** YAML under `sinks:` (indented two spaces). */
  readonly sinks: string;
  /** The admin server: a port on 127.0.0.1, or the address as YAML (e.g. `"127.0.0.1:${ENV:PORT}"`). */
  readonly admin: number | string;
  /** Default quiet period 100 ms, max delay 1000 ms (the product defaults). */
  readonly debounce?: { readonly quietPeriodMs: number; readonly maxDelayMs: number };
  /** Default info. */
  readonly logLevel?: string;
  /** Further top-level YAML, appended as is. */
  readonly extra?: string;
}

/** The text of a `meshbridge.yaml` for `c`. */
export function runConfigText(c: RunConfig): string {
  const d = c.debounce ?? { quietPeriodMs: 100, maxDelayMs: 1000 };
  const admin = typeof c.admin === 'number' ? `127.0.0.1:${c.admin}` : c.admin;
  return `registries:
${c.registries}
debounce: {quietPeriodMs: ${d.quietPeriodMs}, maxDelayMs: ${d.maxDelayMs}}
sinks:
${c.sinks}
admin: {address: ${admin}}
log: {level: ${c.logLevel ?? 'info'}}
${c.extra ?? ''}`;
}

/** Writes `<dir>/meshbridge.yaml` for `meshbridge run` (or `render`, `check`); resolves with its path. */
export async function writeRunConfig(dir: string, c: RunConfig): Promise<string> {
  const config = join(dir, 'meshbridge.yaml');
  await writeFile(config, runConfigText(c));
  return config;
}

/**
 * Replaces `path` with `text` atomically (a temp file beside it, then rename), as editors and
 * config management do: what a running Meshbridge's config reload sees.
 */
export async function replaceFile(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses the Prometheus text exposition format (what prom-client writes). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] ?? ''] = l[2] ?? '';
    out.push({ name: m[1] ?? '', labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of a metric's samples whose labels include `match`. */
export function metricSum(samples: readonly Sample[], name: string, match: Readonly<Record<string, string>> = {}): number {
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

export interface MeshbridgeProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** http://127.0.0.1:P */
  readonly adminUrl: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (a signal exit maps to 128 + n). */
  readonly exit: Promise<number>;
  running(): boolean;
  metrics(): Promise<Sample[]>;
  /** GET /debug/<page>, parsed JSON. */
  debug(page: string): Promise<unknown>;
  /** SIGTERM, then waits for the exit (SIGKILL after `timeoutMs`); resolves with the exit code. */
  stop(timeoutMs?: number): Promise<number>;
  /** SIGKILL (kill -9): no shutdown, no lease release. */
  kill(): Promise<number>;
}

const SIGNALS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

export async function httpGet(url: string, timeoutMs = 5000): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, text: await res.text() };
}

/**
 * Starts `meshbridge run --config <config>` and resolves once its admin server answers /readyz
 * with 200 (every registry synced, first snapshot published). `adminPort` must be the port the
 * config's `admin.address` names (directly or through `env`).
 */
export async function startMeshbridge(options: {
  readonly config: string;
  readonly adminPort: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly readyTimeoutMs?: number;
}): Promise<MeshbridgeProcess> {
  const child = spawn(process.execPath, ['--enable-source-maps', MAIN, 'run', '--config', options.config], {
    cwd: REPO,
    env: { ...process.env, ...(options.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let alive = true;
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => {
      alive = false;
      resolve(code ?? (signal !== null ? 128 + (SIGNALS[signal] ?? 0) : 1));
    });
  });
  const adminUrl = `http://127.0.0.1:${options.adminPort}`;
  const proc: MeshbridgeProcess = {
    child,
    pid: child.pid ?? 0,
    adminUrl,
    stdout: () => out,
    stderr: () => err,
    exit,
    running: () => alive,
    metrics: async () => parseMetrics((await httpGet(`${adminUrl}/metrics`)).text),
    debug: async (page) => {
      const r = await httpGet(`${adminUrl}/debug/${page}`);
      if (r.status !== 200) throw new Error(`meshbridge /debug/${page}: HTTP ${r.status}`);
      return JSON.parse(r.text) as unknown;
    },
    stop: async (timeoutMs = 15000) => {
      if (!alive) return exit;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exit;
      } finally {
        clearTimeout(t);
      }
    },
    kill: async () => {
      if (alive) child.kill('SIGKILL');
      return exit;
    },
  };
  const end = Date.now() + (options.readyTimeoutMs ?? 30000);
  for (;;) {
    if (!alive) throw new Error(`meshbridge exited before ready (${await exit}):\n${err.slice(-4000)}`);
    try {
      if ((await httpGet(`${adminUrl}/readyz`, 2000)).status === 200) return proc;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > end) {
      await proc.kill();
      throw new Error(`meshbridge not ready after ${options.readyTimeoutMs ?? 30000} ms:\n${err.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
