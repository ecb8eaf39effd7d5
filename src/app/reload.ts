/**
 * Config hot reload for `meshbridge run` (docs/operations.md#reloading-the-config, ADR 0018).
 *
 * Contract:
 * - A reload is triggered by a change of the config file (its folder is watched, so a file
 *   replaced by rename and a Kubernetes ConfigMap volume's `..data` symlink swap are seen;
 *   changes are debounced, and the file is re-read every `pollMs` in case a watch misses one)
 *   or by reload() (SIGHUP). Reloads run one at a time, in the order asked for.
 * - A file trigger whose text equals the last one read does nothing (not counted).
 * - The new config is parsed and validated like at start. Invalid: reported with its code
 *   (MB_CONFIG_*), counted as `invalid`, nothing changes. Changing a field only a restart
 *   applies (config/diff.ts): reported (MB_CONFIG_RESTART_REQUIRED) with the fields, counted as
 *   `restart_required`, nothing of it is applied. Otherwise it is applied (applyConfig) and
 *   becomes the running config (`applied`); equal to the running one: `unchanged`.
 * - meshbridge_config_info{hash} and meshbridge_config_last_reload_success_timestamp_seconds
 *   describe the running config from start() on.
 */
import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { completeConfig, parseConfig, pipelineSettings, type Config, type Env } from '../config/index.js';
import { describeDiff, diffConfig, isEmptyDiff, type ConfigDiff } from '../config/diff.js';
import { ErrorCode, MeshbridgeError, describeError } from '../errors/index.js';
import { registerConfigSecrets, setLogLevel, type Logger } from '../observability/index.js';
import { hashOf } from '../util/hash.js';
import type { App } from './app.js';
import { loadRegistryFactory } from './registries.js';

export type ReloadResult = 'applied' | 'unchanged' | 'invalid' | 'restart_required';
export type ReloadTrigger = 'file' | 'signal';

export interface ConfigReloaderOptions {
  /** The config file, as `run --config` named it. */
  readonly path: string;
  readonly env: Env;
  readonly app: App;
  /** The config the app was built from. */
  readonly config: Config;
  /** The root logger (the one the app was built with: a reload sets its level). */
  readonly logger: Logger;
  /** Quiet period after a file event (default 300 ms). */
  readonly debounceMs?: number;
  /** Safety re-read of the file (default 10 s); 0 disables. */
  readonly pollMs?: number;
}

export class ConfigReloader {
  private current: Config;
  private lastText: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The reloads run one after the other on this chain. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly file: string;

  constructor(private readonly o: ConfigReloaderOptions) {
    this.current = o.config;
    this.file = resolve(o.path);
  }

  /** Sets the config gauges and watches the file until `signal` aborts. */
  async start(signal: AbortSignal): Promise<void> {
    this.published(this.current);
    this.lastText = await readFile(this.file, 'utf8').catch(() => undefined);
    const name = basename(this.file);
    try {
      const w = watch(dirname(this.file), { persistent: false, signal }, (_event, f) => {
        if (f === null || f === name || f === '..data') this.schedule();
      });
      w.on('error', (e) => this.o.logger.warn({ err: describeError(e), path: this.file }, 'config watch failed; reloads come from the periodic re-read and SIGHUP'));
    } catch (e) {
      this.o.logger.warn({ err: describeError(e), path: this.file }, 'cannot watch the config folder; reloads come from the periodic re-read and SIGHUP');
    }
    const pollMs = this.o.pollMs ?? 10_000;
    if (pollMs > 0) {
      const poll = setInterval(() => this.schedule(), pollMs);
      poll.unref();
      signal.addEventListener('abort', () => clearInterval(poll), { once: true });
    }
    signal.addEventListener('abort', () => clearTimeout(this.timer), { once: true });
  }

  /** The config running now. */
  config(): Config {
    return this.current;
  }

  /** Reloads after the reloads already asked for; resolves with the result (never rejects). */
  reload(trigger: ReloadTrigger = 'signal'): Promise<ReloadResult> {
    const run = this.queue.then(() => this.attempt(trigger)).catch((e: unknown) => this.invalid(trigger, e));
    this.queue = run;
    return run;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload('file'), this.o.debounceMs ?? 300);
    this.timer.unref();
  }

  private async attempt(trigger: ReloadTrigger): Promise<ReloadResult> {
    const { logger, app } = this.o;
    let text: string;
    let next: Config;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      return this.invalid(trigger, new MeshbridgeError(ErrorCode.CONFIG_READ, `cannot read config file: ${describeError(e)}`, { path: this.file, cause: e }));
    }
    if (trigger === 'file' && text === this.lastText) return 'unchanged';
    this.lastText = text;
    try {
      next = await completeConfig(parseConfig(text, { sourcePath: this.o.path, env: this.o.env }));
    } catch (e) {
      return this.invalid(trigger, e);
    }
    const diff = diffConfig(this.current, next);
    if (isEmptyDiff(diff)) {
      app.metrics.configReloads.inc({ result: 'unchanged' });
      logger.info({ trigger, hash: configHash(next) }, 'config reload: no change');
      return 'unchanged';
    }
    if (diff.needsRestart.length > 0) {
      app.metrics.configReloads.inc({ result: 'restart_required' });
      logger.error(
        { code: ErrorCode.CONFIG_RESTART_REQUIRED, trigger, needsRestart: diff.needsRestart, path: this.file },
        `config reload: ${diff.needsRestart.join(', ')} needs a restart; nothing of the new config was applied, the running config is kept (restart to apply it)`,
      );
      return 'restart_required';
    }
    try {
      await applyConfig(app, next, diff, logger);
    } catch (e) {
      return this.invalid(trigger, e);
    }
    this.current = next;
    this.published(next);
    app.metrics.configReloads.inc({ result: 'applied' });
    logger.info(
      { trigger, hash: configHash(next), added: diff.added, removed: diff.removed, changed: diff.changed, reordered: diff.reordered, live: diff.live },
      `config reloaded: ${describeDiff(diff)}`,
    );
    return 'applied';
  }

  private invalid(trigger: ReloadTrigger, e: unknown): ReloadResult {
    this.o.app.metrics.configReloads.inc({ result: 'invalid' });
    const code = e instanceof MeshbridgeError ? e.code : ErrorCode.CONFIG_INVALID;
    const path = e instanceof MeshbridgeError ? e.path : this.file;
    this.o.logger.error({ code, trigger, path }, `config reload failed: ${describeError(e)}; the running config is kept`);
    return 'invalid';
  }

  private published(c: Config): void {
    const m = this.o.app.metrics;
    m.configInfo.reset();
    m.configInfo.set({ hash: configHash(c) }, 1);
    m.configLastReloadSuccess.set(Date.now() / 1000);
  }
}

/** The content hash of a resolved config (meshbridge_config_info{hash}). */
export function configHash(c: Config): string {
  return hashOf({ ...c, source: undefined });
}

/**
 * Applies `next` (with `diff` from the running config, nothing in it needing a restart) to the
 * app: builds the adapters of the added and restarted registries first (a failure there changes
 * nothing), then reconfigures the pipeline, the Kubernetes sink's registry names and the log
 * level. Unchanged registries keep running, untouched.
 */
export async function applyConfig(app: App, next: Config, diff: ConfigDiff, logger: Logger): Promise<void> {
  const fresh = new Set([...diff.added, ...diff.changed.filter((c) => c.restart).map((c) => c.name)]);
  const create = await loadRegistryFactory(next.registries.filter((rc) => fresh.has(rc.name)));
  registerConfigSecrets(next);
  const running = new Map(app.registries.map((r) => [r.name, r]));
  const registries = next.registries.map((rc) => {
    const r = running.get(rc.name);
    return r !== undefined && !fresh.has(rc.name) ? r : create(rc, app.problems.contextFor(rc.name), logger);
  });
  const s = pipelineSettings(next);
  await app.pipeline.reconfigure({ registries, conversion: s.conversion, protectPercent: s.protectPercent, protect: s.protect, conflictPolicy: s.conflictPolicy });
  app.kubernetes?.setRegistries(next.registries.map((r) => r.name));
  const m = app.metrics;
  for (const registry of diff.removed) {
    for (const g of [m.registryServices, m.registryEndpoints, m.registrySynced, m.registryStale, m.registryLastSync]) g.remove({ registry });
  }
  if (diff.live.includes('log.level')) setLogLevel(logger, next.log.level);
}
