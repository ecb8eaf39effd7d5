import type { Writable } from 'node:stream';
import { ErrorCode, MeshbridgeError, describeError } from '../../errors/index.js';
import type { Logger, Metrics } from '../../observability/index.js';
import type { Snapshot, SnapshotStore } from '../../snapshot/index.js';
import type { Sink } from '../types.js';
import { FolderWriter } from './folder.js';
import { orderedResources, renderYaml } from './yaml.js';

export interface RenderSinkOptions {
  readonly store: SnapshotStore;
  /** Folder to keep in step with the snapshot (one file per object). Absent: write to `stream`. */
  readonly out?: string | undefined;
  /** Stream mode only; default process.stdout. */
  readonly stream?: Writable | undefined;
  /** Write the first snapshot, resolve `done`, and stop (for `meshbridge render`). */
  readonly once?: boolean | undefined;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface RenderSinkDebug {
  readonly mode: 'folder' | 'stream';
  readonly out: string | undefined;
  readonly once: boolean;
  readonly lastVersion: string | undefined;
  readonly lastSequence: number | undefined;
  readonly lastWriteTime: string | undefined;
  readonly files: number | undefined;
  readonly failures: number;
  readonly lastError: Record<string, unknown> | undefined;
}

/**
 * Renders snapshots as YAML: to a stream (stdout) or into a folder, one file per object.
 *
 * Contract:
 * - Nothing is written before the first snapshot exists. Then the current snapshot is written,
 *   and (unless `once`) every new one; writes never overlap, and snapshots published while a
 *   write runs coalesce into one write of the newest.
 * - Stream mode writes each snapshot as a whole multi-document YAML text, preceded by a comment
 *   line naming its version. Folder mode: see FolderWriter (atomic, changed files only, deletes
 *   only its own files).
 * - Failures are MeshbridgeError RENDER_WRITE: logged, counted in meshbridge_render_writes_total
 *   {result="error"}, retried with the next snapshot; they never throw out of the sink.
 * - `done` resolves after the first snapshot was written (with `once`), or after abort once the
 *   write in flight finished. With `once` it rejects with RENDER_WRITE if that write failed.
 */
export class RenderSink implements Sink {
  readonly name = 'render';
  readonly done: Promise<void>;
  private readonly options: RenderSinkOptions;
  private readonly folder: FolderWriter | undefined;
  private readonly writes: Metrics['renderWrites'];
  private resolveDone: () => void = () => undefined;
  private rejectDone: (e: unknown) => void = () => undefined;
  private pending: Snapshot | undefined;
  private running = false;
  private stopped = false;
  private unsubscribe: () => void = () => undefined;
  private reportedStreamError: Error | undefined;
  private state: { lastVersion?: string; lastSequence?: number; lastWriteTime?: string; files?: number; failures: number; lastError?: MeshbridgeError } = { failures: 0 };

  constructor(options: RenderSinkOptions) {
    this.options = options;
    this.folder = options.out !== undefined ? new FolderWriter(options.out) : undefined;
    this.writes = options.metrics.renderWrites;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined); // a rejection nobody awaits must not crash the process
  }

  start(signal: AbortSignal): Promise<void> {
    if (signal.aborted) {
      this.finish();
      return Promise.resolve();
    }
    const stream = this.folder === undefined ? this.stream() : undefined;
    // A failed write also emits 'error': the write's callback reports that one; count the rest.
    const onStreamError = (e: Error): void => {
      if (e !== this.reportedStreamError) this.fail(new MeshbridgeError(ErrorCode.RENDER_WRITE, `output stream failed: ${describeError(e)}`, { cause: e }), 'stream');
    };
    stream?.on('error', onStreamError);
    const unsubscribe = this.options.store.subscribe((snap) => this.schedule(snap));
    this.unsubscribe = () => {
      unsubscribe();
      stream?.off('error', onStreamError);
    };
    signal.addEventListener('abort', () => this.finish(), { once: true });
    const first = this.options.store.current();
    if (first !== undefined) this.schedule(first);
    return Promise.resolve();
  }

  debug(): RenderSinkDebug {
    const s = this.state;
    return {
      mode: this.folder === undefined ? 'stream' : 'folder',
      out: this.options.out,
      once: this.options.once === true,
      lastVersion: s.lastVersion,
      lastSequence: s.lastSequence,
      lastWriteTime: s.lastWriteTime,
      files: s.files,
      failures: s.failures,
      lastError: s.lastError?.toJSON(),
    };
  }

  private stream(): Writable {
    return this.options.stream ?? process.stdout;
  }

  private schedule(snap: Snapshot): void {
    if (this.stopped) return;
    this.pending = snap;
    if (!this.running) void this.drain();
  }

  /** Writes pending snapshots one at a time until none is left. Never rejects. */
  private async drain(): Promise<void> {
    this.running = true;
    while (this.pending !== undefined && !this.stopped) {
      const snap = this.pending;
      this.pending = undefined;
      const ok = await this.write(snap);
      if (this.options.once === true) {
        if (ok) this.finish();
        else this.finish(this.state.lastError);
      }
    }
    this.running = false;
    if (this.stopped) this.resolveDone();
  }

  private finish(error?: MeshbridgeError): void {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe();
    if (error !== undefined) this.rejectDone(error);
    else if (!this.running) this.resolveDone();
  }

  /** True when everything was written. */
  private async write(snap: Snapshot): Promise<boolean> {
    try {
      return this.folder === undefined ? await this.writeStream(snap) : await this.writeFolder(this.folder, snap);
    } catch (e) {
      const err = e instanceof MeshbridgeError ? e : new MeshbridgeError(ErrorCode.RENDER_WRITE, describeError(e), { cause: e });
      this.fail(err, this.folder === undefined ? 'stream' : 'write');
      return false;
    }
  }

  private async writeStream(snap: Snapshot): Promise<boolean> {
    const resources = orderedResources(snap).length;
    const text = `# meshbridge snapshot ${snap.version} (sequence ${snap.sequence}, ${resources} resources)\n${renderYaml(snap)}`;
    const stream = this.stream();
    await new Promise<void>((resolve, reject) => {
      stream.write(text, (e) => {
        if (e === null || e === undefined) return resolve();
        this.reportedStreamError = e;
        reject(new MeshbridgeError(ErrorCode.RENDER_WRITE, `cannot write to the output stream: ${describeError(e)}`, { cause: e }));
      });
    });
    this.writes.inc({ op: 'stream', result: 'ok' });
    this.noteWritten(snap, undefined);
    return true;
  }

  private async writeFolder(folder: FolderWriter, snap: Snapshot): Promise<boolean> {
    const resources = orderedResources(snap);
    const res = await folder.sync(resources);
    if (res.written.length > 0) this.writes.inc({ op: 'write', result: 'ok' }, res.written.length);
    if (res.deleted.length > 0) this.writes.inc({ op: 'delete', result: 'ok' }, res.deleted.length);
    for (const f of res.errors) this.fail(f.error, f.op);
    this.options.logger.info(
      { out: this.options.out, version: snap.version, written: res.written.length, deleted: res.deleted.length, unchanged: res.unchanged, failed: res.errors.length },
      'rendered snapshot to folder',
    );
    this.noteWritten(snap, resources.length - res.errors.length);
    return res.errors.length === 0;
  }

  private noteWritten(snap: Snapshot, files: number | undefined): void {
    this.state.lastVersion = snap.version;
    this.state.lastSequence = snap.sequence;
    this.state.lastWriteTime = new Date().toISOString();
    if (files !== undefined) this.state.files = files;
  }

  private fail(err: MeshbridgeError, op: 'write' | 'delete' | 'stream'): void {
    this.state.failures += 1;
    this.state.lastError = err;
    this.writes.inc({ op, result: 'error' });
    // The message names the cause already; no stack trace for an operator's typo.
    this.options.logger.error({ code: err.code, path: err.path }, err.message);
  }
}
