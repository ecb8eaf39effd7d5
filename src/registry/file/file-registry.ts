import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ErrorCode, MeshbridgeError, describeError } from '../../errors/index.js';
import type { Logger } from '../../observability/index.js';
import { contentHash } from '../../util/hash.js';
import { ServiceSetRegistry } from '../service-set.js';
import type { AdapterCommon } from '../kind.js';
import type { FileSourceConfig } from './spec.js';
import { detectFormat, parseSource } from './parse.js';
import { FILE_REGISTRY_KIND, validateDocument } from './validate.js';
import { watchFile } from './watch.js';

/** Knobs that are not configuration (tests tune them). */
export interface FileRegistryTuning {
  /** File-system events closer together than this are read once (default 50 ms). */
  readonly debounceMs?: number;
}

/**
 * The resolved `file:` settings (spec.ts) plus the common adapter wiring. `path` may be relative
 * (to the working directory) when a test builds the adapter; problem paths show it as given.
 */
export type FileRegistryOptions = AdapterCommon & FileSourceConfig & FileRegistryTuning;

const DEFAULT_DEBOUNCE_MS = 50;

/**
 * A registry whose services are listed in one YAML/JSON file (docs/file-registry.md).
 *
 * Contract:
 * - The constructor does no I/O. `start(signal)` watches the file's directory, reads the file
 *   once and resolves; it keeps watching until `signal` aborts, then releases the watch and
 *   every timer.
 * - Every successful read replaces the whole set (`replaceAll`): only differences are emitted,
 *   so rewriting the same content emits nothing. Reads are serialised; events that arrive during
 *   a read cause exactly one more read.
 * - A file that cannot be read (missing, deleted) or parsed (half-written, garbage) never
 *   changes the services: the last good state is kept, MB_SOURCE_READ / MB_SOURCE_PARSE is
 *   reported once per distinct failure, the registry is marked disconnected (stale once synced),
 *   and the next change event retries. Before the first good read the registry stays unsynced.
 * - Bad entries are reported (stable codes, `path` = `<file>: <entry path>`) once per content
 *   change and skipped; the rest syncs. `services: []` is a valid, empty registry.
 */
export class FileRegistry extends ServiceSetRegistry {
  private readonly options: FileRegistryOptions;
  private readonly absPath: string;
  private readonly log: Logger;
  private signal: AbortSignal | undefined;
  /** Text of the last successfully applied read; equal text skips parsing and reporting. */
  private lastDigest: string | undefined;
  /** Key of the last reported source failure, so a persisting failure is reported once. */
  private dirty = false;
  private loop: Promise<void> | undefined;

  constructor(options: FileRegistryOptions) {
    super(options.name, FILE_REGISTRY_KIND);
    this.options = options;
    this.absPath = resolve(options.path);
    this.log = options.logger.child({ registry: options.name, kind: FILE_REGISTRY_KIND, file: options.path });
  }

  async start(signal: AbortSignal): Promise<void> {
    if (!this.claimStart(signal)) return;
    this.signal = signal;
    // Watch first, then read: a change between the read and the watch would otherwise be lost.
    watchFile({
      path: this.absPath,
      debounceMs: this.options.debounceMs ?? DEFAULT_DEBOUNCE_MS,
      pollIntervalMs: this.options.pollIntervalMs,
      signal,
      onChange: () => void this.requestReload(),
      onWatchError: (err) => this.log.warn({ err: describeError(err) }, 'cannot watch the directory; relying on the periodic re-stat'),
    });
    await this.requestReload();
  }

  /** Asks for a read; resolves once a read that started after this call has finished. */
  private requestReload(): Promise<void> {
    this.dirty = true;
    this.loop ??= this.runLoop();
    return this.loop;
  }

  private async runLoop(): Promise<void> {
    await Promise.resolve(); // let `this.loop` be assigned before the body runs
    try {
      while (this.dirty && this.signal?.aborted === false) {
        this.dirty = false;
        try {
          await this.reloadOnce();
        } catch (e) {
          this.options.context.report(new MeshbridgeError(ErrorCode.INTERNAL, `file registry reload failed: ${describeError(e)}`, { cause: e }));
        }
      }
    } finally {
      this.loop = undefined;
    }
  }

  private async reloadOnce(): Promise<void> {
    let text: string;
    try {
      text = await this.read();
    } catch (e) {
      if (this.signal?.aborted !== false) return;
      this.failed(e instanceof MeshbridgeError ? e : this.readError(e));
      return;
    }
    if (this.signal?.aborted !== false) return;
    // A digest, not the text: a 25 MB file would otherwise stay on the heap between reloads.
    const digest = contentHash(text);
    if (digest === this.lastDigest) {
      this.succeeded();
      return;
    }
    let doc: unknown;
    try {
      doc = parseSource(text, this.options.path, detectFormat(this.absPath, text));
    } catch (e) {
      this.failed(e instanceof MeshbridgeError ? e : new MeshbridgeError(ErrorCode.SOURCE_PARSE, describeError(e), { path: this.options.path, cause: e }));
      return;
    }
    const result = validateDocument(doc, {
      registry: this.name,
      file: this.options.path,
      defaultProtocol: this.options.defaultProtocol,
    });
    if (result.type === 'invalid') {
      this.failed(result.error);
      return;
    }
    for (const problem of result.problems) this.options.context.report(problem);
    this.lastDigest = digest;
    this.sourceRecovered();
    this.replaceAll(result.services);
    const st = this.status();
    this.log.info({ services: st.services, endpoints: st.endpoints, skipped: result.problems.length }, 'file registry loaded');
  }

  /** Reads the whole file through one handle (size checked on the same inode that is read). */
  private async read(): Promise<string> {
    const fh = await open(this.absPath, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new MeshbridgeError(ErrorCode.SOURCE_READ, 'not a regular file', { path: this.options.path });
      const max = this.options.maxBytes;
      if (st.size > max) {
        throw new MeshbridgeError(ErrorCode.SOURCE_READ, `file is ${st.size} bytes, more than the limit of ${max}`, { path: this.options.path });
      }
      const text = await fh.readFile({ encoding: 'utf8' });
      return text.startsWith('\uFEFF') ? text.slice(1) : text;
    } finally {
      await fh.close();
    }
  }

  private readError(e: unknown): MeshbridgeError {
    const code = (e as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? 'file does not exist' : `cannot read the file: ${describeError(e)}`;
    return new MeshbridgeError(ErrorCode.SOURCE_READ, message, { path: this.options.path, cause: e, details: { registry: this.name } });
  }

  /** The same content as the last good read (for example re-created after a delete). */
  private succeeded(): void {
    this.sourceRecovered();
    this.markSyncedNow();
  }

  /** Keeps every service; reports a failure once until it changes or a read succeeds. */
  private failed(error: MeshbridgeError): void {
    this.sourceFailed(error, (x) => this.options.context.report(x));
  }
}

/** Factory for the composition root: builds (no I/O) a file registry. */
export function createFileRegistry(options: FileRegistryOptions): FileRegistry {
  return new FileRegistry(options);
}
