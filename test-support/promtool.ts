/**
 * Prometheus's real `promtool` for the alert-rule tests (test/deploy/alerts.test.ts): built by
 * test-support/peers/peers.d/promtool.sh into
 * ${MESHBRIDGE_PEERS_CACHE:-~/.cache/meshbridge-peers}/promtool-<version>/promtool, the version
 * being the PROMTOOL_VERSION default in that script (the one place it is pinned).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { PEERS_DIR, REPO } from './paths.js';

export const PROMTOOL_SCRIPT = join(PEERS_DIR, 'peers.d', 'promtool.sh');
/** The rule file the chart's PrometheusRule carries (deploy/helm/meshbridge/files/alerts.yaml). */
export const ALERTS_FILE = join(REPO, 'deploy', 'helm', 'meshbridge', 'files', 'alerts.yaml');
/** The Grafana dashboard (deploy/grafana/meshbridge.json) and the chart's copy of it. */
export const DASHBOARD_FILE = join(REPO, 'deploy', 'grafana', 'meshbridge.json');
export const CHART_DASHBOARD_FILE = join(REPO, 'deploy', 'helm', 'meshbridge', 'files', 'dashboards', 'meshbridge.json');

/** The promtool version pinned in peers.d/promtool.sh (`PROMTOOL_VERSION=${PROMTOOL_VERSION:-vX}`). */
export function promtoolVersion(): string {
  const m = /^PROMTOOL_VERSION=\$\{PROMTOOL_VERSION:-(v[0-9][^}\s]*)\}/m.exec(readFileSync(PROMTOOL_SCRIPT, 'utf8'));
  if (m?.[1] === undefined) throw new Error(`no PROMTOOL_VERSION default in ${PROMTOOL_SCRIPT}`);
  return m[1];
}

export function promtoolPath(): string {
  const cache = process.env['MESHBRIDGE_PEERS_CACHE'] || join(homedir(), '.cache', 'meshbridge-peers');
  return join(cache, `promtool-${promtoolVersion()}`, 'promtool');
}

/**
 * undefined when promtool is built; else the reason to skip. In CI (CI=true) a missing promtool
 * is a failure: this throws instead (as requirePeers does).
 */
export function requirePromtool(): string | undefined {
  const bin = promtoolPath();
  if (existsSync(bin)) return undefined;
  const msg = `promtool is not built: ${bin} is missing; run bash test-support/peers/peers.d/promtool.sh`;
  if (process.env['CI'] === 'true') throw new Error(msg);
  return msg;
}

export interface PromtoolResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs promtool with `args` in `cwd` (default the repository); resolves with its exit code and output. */
export function promtool(args: readonly string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<PromtoolResult> {
  return new Promise((resolve, reject) => {
    execFile(promtoolPath(), [...args], { cwd: options.cwd ?? REPO, timeout: options.timeoutMs ?? 60000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') {
        reject(new Error(`promtool ${args.join(' ')}: ${err.message}\n${stderr}`));
        return;
      }
      resolve({ code: err === null ? 0 : (err.code as number), stdout, stderr });
    });
  });
}
