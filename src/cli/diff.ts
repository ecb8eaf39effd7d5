/**
 * `meshbridge diff --config FILE [--output json]`: what a `run` would change in the cluster.
 *
 * Contract:
 * - Syncs every registry once and converts, as `render` and `check` do (the same App, in check
 *   mode: no sink is built, nothing is served), then reads the cluster through the Kubernetes
 *   sink's own ClusterView with a client that sends GETs only, and plans with the sink's own
 *   `plan()`: the same namespaces, instance, registries and maxDeletePercent as `run`.
 * - The plan is that of a freshly started `run` (no earlier writes remembered, no checkpoint
 *   read): docs/operations.md "meshbridge diff" says what that means for the deletion guards.
 * - Never writes to the cluster (ReadOnlyKubeClient refuses anything but GET).
 * - Exit status (DiffExitCode): 0 no changes, 2 a run would create, update or delete something,
 *   1 on any error (bad usage, bad config, no sinks.kubernetes, a registry or the cluster not
 *   readable). Held deletions and clashes alone are listed but exit 0: a run would not write them.
 */
import type { Config, KubernetesSinkConfig } from '../config/index.js';
import { kubeClientSettings, kubernetesSinkSettings } from '../config/index.js';
import { App } from '../app/app.js';
import { ErrorCode, MeshbridgeError } from '../errors/index.js';
import { redactSecrets, type Logger } from '../observability/index.js';
import { ISTIO_KINDS, type IstioResource } from '../snapshot/index.js';
import { ReadOnlyKubeClient, readClusterView, readLive } from '../sinks/kubernetes/cluster-read.js';
import { plan } from '../sinks/kubernetes/plan.js';
import { planDiff, type DiffReport } from '../sinks/kubernetes/plan-diff.js';
import type { DiffOutput } from './args.js';
import { load, loggerFor, printError, syncTimeoutMs } from './commands.js';
import { formatDiffJson, formatDiffText } from './diff-format.js';
import type { ExitCode } from './exit-codes.js';
import { waitForFirstSync } from './first-sync.js';
import type { CliIO } from './io.js';

/** Exit status of `meshbridge diff` (kubectl diff's convention; USAGE, docs/operations.md). */
export const DiffExitCode = {
  NO_CHANGES: 0,
  ERROR: 1,
  CHANGES: 2,
} as const satisfies Record<string, ExitCode>;

export async function diffCommand(configPath: string, output: DiffOutput, io: CliIO, signal: AbortSignal): Promise<ExitCode> {
  const config = await load(configPath, io);
  if (config === undefined) return DiffExitCode.ERROR;
  const k = config.sinks.kubernetes;
  if (k === undefined) {
    const message = `${configPath}: diff needs sinks.kubernetes (the cluster to compare with); to see the objects a config produces, use meshbridge render`;
    printError(io, new MeshbridgeError(ErrorCode.DIFF_NO_KUBERNETES, message));
    return DiffExitCode.ERROR;
  }
  const logger = loggerFor(config, config.log.level === 'info' ? 'warn' : config.log.level);
  const inner = new AbortController();
  const stop = (): void => inner.abort();
  signal.addEventListener('abort', stop, { once: true });
  try {
    const desired = await desiredResources(config, logger, io, inner.signal);
    const report = await clusterDiff(config, k, desired, logger, io, inner.signal);
    io.stdout.write(redactSecrets(output === 'json' ? formatDiffJson(report) : formatDiffText(report)));
    return report.changes ? DiffExitCode.CHANGES : DiffExitCode.NO_CHANGES;
  } catch (e) {
    printError(io, e);
    return DiffExitCode.ERROR;
  } finally {
    inner.abort();
    signal.removeEventListener('abort', stop);
    logger.flush();
  }
}

/** Every registry synced once and converted: the snapshot `run` would publish first. */
async function desiredResources(config: Config, logger: Logger, io: CliIO, signal: AbortSignal): Promise<IstioResource[]> {
  const app = await App.create({ config, logger, mode: { type: 'check' } });
  const appStop = new AbortController();
  const stop = (): void => appStop.abort();
  signal.addEventListener('abort', stop, { once: true });
  try {
    await app.start(appStop.signal);
    await waitForFirstSync(app, appStop.signal, syncTimeoutMs(io), (line) => io.stderr.write(redactSecrets(`meshbridge: ${line}\n`)));
    const snap = app.store.current();
    if (snap === undefined) throw new MeshbridgeError(ErrorCode.INTERNAL, 'ready without a snapshot');
    const out: IstioResource[] = [];
    // The diff covers the Istio kinds; Kubernetes Services (ADR 0020) are not compared yet.
    for (const ks of snap.kinds.values()) if (ISTIO_KINDS.has(ks.kind)) for (const r of ks.resources.values()) out.push(r);
    return out;
  } finally {
    appStop.abort();
    signal.removeEventListener('abort', stop);
    await app.stopped();
  }
}

async function clusterDiff(config: Config, k: KubernetesSinkConfig, desired: readonly IstioResource[], logger: Logger, io: CliIO, signal: AbortSignal): Promise<DiffReport> {
  const s = kubernetesSinkSettings(config, k, 'meshbridge-diff');
  const client = new ReadOnlyKubeClient({ ...kubeClientSettings(k), userAgent: 'meshbridge-diff' });
  try {
    await client.init();
  } catch (e) {
    if (e instanceof MeshbridgeError) throw e;
    throw new MeshbridgeError(ErrorCode.DIFF_CLUSTER_READ, `kubeconfig: ${e instanceof Error ? e.message : String(e)}`);
  }
  const observed = await readClusterView({
    client,
    logger: logger.child({ sink: 'kubernetes' }),
    instance: s.instance,
    namespaces: s.namespaces,
    cleanupClusterWide: s.cleanupClusterWide,
    timeoutMs: syncTimeoutMs(io),
    signal,
  });
  const registries = new Set(s.registries);
  // A fresh run remembers no earlier writes: `written` is empty (drift is judged by the content hash alone).
  const p = plan({ desired, observed, instance: s.instance, registries, written: new Map(), maxDeletePercent: s.maxDeletePercent });
  const updated = p.apply.flatMap((r) => {
    const o = observed.get(r.key);
    return o === undefined ? [] : [o];
  });
  const live = await readLive(client, updated, signal);
  return planDiff({ plan: p, desired, observed, live, instance: s.instance, registries, maxDeletePercent: s.maxDeletePercent });
}
