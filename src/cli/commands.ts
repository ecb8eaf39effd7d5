import { setMaxListeners } from 'node:events';
import type { Config } from '../config/index.js';
import { loadConfig } from '../config/index.js';
import { App } from '../app/app.js';
import { ConfigReloader } from '../app/reload.js';
import { ErrorCode, MeshbridgeError, describeError } from '../errors/index.js';
import { createLogger, redactSecrets, registerConfigSecrets, type Logger } from '../observability/index.js';
import { ExitCode } from './exit-codes.js';
import { waitForFirstSync } from './first-sync.js';
import type { CliIO } from './io.js';

/** How long `render` and `check` wait for every registry's first sync. */
export const DEFAULT_SYNC_TIMEOUT_MS = 60_000;

/**
 * The sync timeout of `render` and `check`: MESHBRIDGE_SYNC_TIMEOUT_MS when it is a positive
 * integer, else DEFAULT_SYNC_TIMEOUT_MS.
 */
export function syncTimeoutMs(io: CliIO): number {
  const v = Number(io.env['MESHBRIDGE_SYNC_TIMEOUT_MS']);
  return Number.isInteger(v) && v > 0 ? v : DEFAULT_SYNC_TIMEOUT_MS;
}

/** Prints an error as `meshbridge: error CODE: message` (secrets redacted). */
export function printError(io: CliIO, e: unknown): void {
  if (e instanceof MeshbridgeError) io.stderr.write(redactSecrets(`meshbridge: error ${e.code}: ${e.message}\n`));
  else io.stderr.write(redactSecrets(`meshbridge: error: ${describeError(e)}\n`));
}

/** Loads the config; prints the coded error and returns undefined when it is bad. */
export async function load(path: string, io: CliIO): Promise<Config | undefined> {
  try {
    const config = await loadConfig(path, io.env);
    registerConfigSecrets(config); // every output redacts them from here on
    return config;
  } catch (e) {
    printError(io, e);
    return undefined;
  }
}

export function loggerFor(config: Config, level?: Config['log']['level']): Logger {
  return createLogger({ level: level ?? config.log.level });
}

/**
 * `meshbridge run`: serve until `signal` aborts (SIGINT/SIGTERM), then shut down gracefully; reload
 * the config on a change of the file or on `io.onReload` (SIGHUP), src/app/reload.ts.
 * Exit 2 for a bad config, 1 when a listener cannot start, 0 after a clean shutdown.
 */
export async function runCommand(configPath: string, io: CliIO, signal: AbortSignal): Promise<ExitCode> {
  const config = await load(configPath, io);
  if (config === undefined) return ExitCode.USAGE;
  const { xds, kubernetes, render } = config.sinks;
  if (xds === undefined && kubernetes === undefined && render === undefined) {
    printError(io, new MeshbridgeError(ErrorCode.CONFIG_INVALID, `${configPath}: invalid config: sinks: is required to run (xds, kubernetes or render); render and check need only registries`));
    return ExitCode.USAGE;
  }
  const logger = loggerFor(config);
  const inner = new AbortController();
  // Every part (admin, sinks, each registry, the reloader) listens on this one signal; with many
  // registries that is more than Node's default of 10, which is no leak (each stops listening
  // when it stops), so no warning is printed (it would be the only non-JSON stderr line).
  setMaxListeners(0, inner.signal);
  signal.addEventListener('abort', () => inner.abort(), { once: true });
  const app = await App.create({ config, logger, mode: { type: 'run' } });
  try {
    await app.start(inner.signal);
  } catch (e) {
    printError(io, e);
    inner.abort();
    await app.stopped();
    return ExitCode.FAILURE;
  }
  // Config hot reload: file changes and SIGHUP (src/app/reload.ts).
  const reloader = new ConfigReloader({ path: configPath, env: io.env, app, config, logger });
  await reloader.start(inner.signal);
  const offReload = io.onReload?.(() => void reloader.reload('signal'));
  inner.signal.addEventListener('abort', () => offReload?.(), { once: true });
  app.whenReady(inner.signal, syncTimeoutMs(io)).catch((e: unknown) => {
    // Not fatal: /readyz stays 503 with the reasons, and the first sync may still complete.
    if (e instanceof MeshbridgeError) logger.error({ code: e.code }, e.message);
  });
  await new Promise<void>((resolve) => {
    if (inner.signal.aborted) resolve();
    else inner.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  logger.info('shutting down');
  await app.stopped();
  logger.flush();
  return ExitCode.OK;
}

/**
 * `meshbridge render`: sync every registry once, write the Istio YAML (stdout, or one file per
 * object under `out`), exit. Exit 1 when a registry does not sync within the timeout.
 */
export async function renderCommand(
  configPath: string,
  out: string | undefined,
  io: CliIO,
  signal: AbortSignal,
): Promise<ExitCode> {
  const config = await load(configPath, io);
  if (config === undefined) return ExitCode.USAGE;
  const logger = loggerFor(config, config.log.level === 'info' ? 'warn' : config.log.level);
  const inner = new AbortController();
  signal.addEventListener('abort', () => inner.abort(), { once: true });
  // --out wins; else the config's sinks.render.out; else stdout.
  const app = await App.create({ config, logger, mode: { type: 'render', out: out ?? config.sinks.render?.out, stream: io.stdout } });
  try {
    await app.start(inner.signal);
    await waitForFirstSync(app, inner.signal, syncTimeoutMs(io), (line) => io.stderr.write(redactSecrets(`meshbridge: ${line}\n`)));
    await app.render?.done;
    return ExitCode.OK;
  } catch (e) {
    printError(io, e);
    return ExitCode.FAILURE;
  } finally {
    inner.abort();
    await app.stopped();
    logger.flush();
  }
}

/**
 * `meshbridge check`: validate the config, start every registry, wait for its first sync,
 * convert, and print a report. Exit 0 when every registry synced, 1 otherwise, 2 for a bad
 * config. Problems with single entries are listed but do not fail the check.
 */
export async function checkCommand(
  configPath: string,
  io: CliIO,
  signal: AbortSignal,
): Promise<ExitCode> {
  const config = await load(configPath, io);
  if (config === undefined) return ExitCode.USAGE;
  const say = (text: string): boolean => io.stdout.write(redactSecrets(text));
  say(`config ${config.source ?? configPath}: ok (${config.registries.length} registries)\n`);
  const logger = loggerFor(config, 'silent');
  const inner = new AbortController();
  signal.addEventListener('abort', () => inner.abort(), { once: true });
  const app = await App.create({ config, logger, mode: { type: 'check' } });
  let synced = true;
  try {
    await app.start(inner.signal);
    await waitForFirstSync(app, inner.signal, syncTimeoutMs(io), (line) => io.stderr.write(redactSecrets(`meshbridge: ${line}\n`)));
  } catch (e) {
    synced = false;
    say(`not ready: ${describeError(e)}\n`);
  }
  for (const r of app.registries) {
    const st = r.status();
    const state = st.synced ? (st.stale ? 'STALE' : 'ok') : 'NOT SYNCED';
    say(`registry ${r.name} (${r.kind}): ${state}, ${st.services} services, ${st.endpoints} endpoints\n`);
    if (st.lastError !== undefined) say(`  last error ${st.lastError.code}: ${st.lastError.message}\n`);
    for (const p of app.problems.list(r.name)) say(`  problem ${p.code}: ${p.message}\n`);
  }
  const snap = app.store.current();
  if (snap !== undefined) {
    const counts = [...snap.kinds].map(([k, ks]) => `${ks.resources.size} ${k}`).join(', ');
    say(`resources: ${counts} (snapshot ${snap.version})\n`);
  }
  inner.abort();
  await app.stopped();
  const ok = synced && app.registries.every((r) => r.hasSynced());
  say(ok ? 'check passed\n' : 'check FAILED\n');
  return ok ? ExitCode.OK : ExitCode.FAILURE;
}
