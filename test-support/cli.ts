import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { eventually } from './kube.js';
import type { RunConfig } from './meshbridge.js';
import { MAIN, REPO } from './paths.js';

export { MAIN, REPO };

/** A free TCP port on 127.0.0.1 (bound, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function tempDir(prefix = 'meshbridge-e2e-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export interface Proc {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (signal exits map to 128+n). */
  readonly exit: Promise<number>;
}

/** Runs the compiled CLI; stdout and stderr are collected. */
export function cli(args: readonly string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal !== null ? 128 : 1)));
  });
  return { child, stdout: () => out, stderr: () => err, exit };
}

export async function writeConfig(dir: string, text: string): Promise<string> {
  const p = join(dir, 'meshbridge.yaml');
  await writeFile(p, text);
  return p;
}

/**
 * `meshbridge run` as the CLI tests run it (for writeRunConfig): `registries` served over MCP on
 * 127.0.0.1:`xds`, the admin server on `admin`, a short debounce (50 ms quiet, 500 ms max), warn logs.
 */
export function mcpRunConfig(registries: string, xds: number, admin: number): RunConfig {
  return { registries, sinks: `  xds: {address: 127.0.0.1:${xds}}`, admin, debounce: { quietPeriodMs: 50, maxDelayMs: 500 }, logLevel: 'warn' };
}

/** Polls `fn` every 50 ms until it returns a value other than undefined, or throws after `timeoutMs`. */
export function until<T>(fn: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  return eventually(fn, timeoutMs, what, 50);
}

export async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
}

/** A ServiceEntry as `meshbridge render` prints it (the fields the tests read). */
export interface RenderedServiceEntry {
  kind: string;
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    hosts: string[];
    ports: Array<{ number: number; name: string; protocol: string }>;
    endpoints?: Array<{ address: string; ports?: Record<string, number>; labels?: Record<string, string>; weight?: number; locality?: string }>;
    resolution: string;
  };
}

/** The objects of `render`'s multi-document YAML output, in order (comments and empty documents dropped). */
export function renderedObjects(yamlText: string): RenderedServiceEntry[] {
  return parseAllDocuments(yamlText)
    .map((d) => d.toJS() as RenderedServiceEntry | null)
    .filter((o): o is RenderedServiceEntry => o !== null);
}
