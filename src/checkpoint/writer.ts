import { ErrorCode, MeshbridgeError, describeError } from '../errors/index.js';
import type { Logger, Metrics } from '../observability/index.js';
import { decodeCheckpoint, encodeCheckpointSliced, type CheckpointData } from './codec.js';
import type { CheckpointStore } from './store.js';

/** How long start-up waits for a checkpoint before going on without it. */
export const DEFAULT_READ_TIMEOUT_MS = 20_000;

/**
 * Reads the checkpoint. Nothing stored is an empty checkpoint (first start). A store that cannot
 * be read within `timeoutMs`, or holds something that is not a checkpoint, is reported
 * (MB_CHECKPOINT_READ) and ignored: start-up goes on without it. Entries without the service
 * model's shape are skipped and reported. Never rejects.
 */
export async function readCheckpoint(store: CheckpointStore, logger: Logger, metrics: Metrics, timeoutMs = DEFAULT_READ_TIMEOUT_MS): Promise<CheckpointData> {
  let text: string | undefined;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  try {
    text = await store.read(ac.signal);
  } catch (e) {
    report(logger, metrics, `cannot read checkpoint ${store.description}: ${describeError(ac.signal.aborted ? ac.signal.reason : e)}`);
    return new Map();
  } finally {
    clearTimeout(timer);
  }
  if (text === undefined) return new Map();
  const doc = decodeCheckpoint(text);
  if (!doc.ok) {
    report(logger, metrics, `checkpoint ${store.description} is ${doc.error}`);
    return new Map();
  }
  if (doc.skipped > 0) report(logger, metrics, `checkpoint ${store.description}: ${doc.skipped} entries without the service model's shape were skipped`);
  logger.info(
    { store: store.description, writtenAt: doc.writtenAt, registries: Object.fromEntries([...doc.data].map(([n, m]) => [n, m.size])) },
    'checkpoint loaded: the guard judges each registry against it; registries publish from it until they sync',
  );
  return doc.data;
}

function report(logger: Logger, metrics: Metrics, message: string): void {
  const err = new MeshbridgeError(ErrorCode.CHECKPOINT_READ, message);
  metrics.checkpointErrors.inc({ op: 'read' });
  logger.error({ code: err.code }, `${err.message}; starting without it`);
}

export interface CheckpointWriterOptions {
  readonly store: CheckpointStore;
  readonly intervalMs: number;
  /** What to write now, and a number that changes whenever it does (the snapshot sequence). */
  readonly source: () => { readonly sequence: number | undefined; readonly data: CheckpointData };
  /** False: this replica does not write now (a standby of the Kubernetes sink). Default: always. */
  readonly shouldWrite?: () => boolean;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * Writes the checkpoint at most every `intervalMs`, only when the source's sequence moved, and
 * once more on shutdown. A failed write is reported (MB_CHECKPOINT_WRITE) and retried at the next
 * interval; it never stops publishing. One write at a time. The constructor does no I/O.
 */
export class CheckpointWriter {
  private readonly o: CheckpointWriterOptions;
  private written: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(options: CheckpointWriterOptions) {
    this.o = options;
  }

  start(signal: AbortSignal): void {
    this.timer = setInterval(() => void this.write(), this.o.intervalMs);
    this.timer.unref();
    signal.addEventListener('abort', () => clearInterval(this.timer), { once: true });
  }

  /** Writes now if the source moved since the last write; resolves when done (never rejects). */
  write(): Promise<void> {
    this.writing = this.writing.then(() => this.writeOnce());
    return this.writing;
  }

  private async writeOnce(): Promise<void> {
    if (this.o.shouldWrite !== undefined && !this.o.shouldWrite()) return;
    const { sequence, data } = this.o.source();
    if (sequence === undefined || sequence === this.written) return;
    const start = performance.now();
    const store = this.o.store;
    try {
      const r = await store.write(await encodeCheckpointSliced(data, new Date()), AbortSignal.timeout(Math.max(this.o.intervalMs, 30_000)));
      const ms = Math.round(performance.now() - start);
      if (r.skipped === true) {
        this.o.logger.debug({ store: store.description, ms }, 'checkpoint written by another replica at the same time; ours is dropped');
        return;
      }
      this.written = sequence;
      this.o.metrics.checkpointWrites.inc();
      this.o.metrics.checkpointBytes.set(r.bytes);
      if (r.warning !== undefined) this.o.logger.warn({ code: ErrorCode.CHECKPOINT_WRITE, store: store.description }, r.warning);
      this.o.logger.debug({ store: store.description, bytes: r.bytes, ms }, 'checkpoint written');
    } catch (e) {
      const err = new MeshbridgeError(ErrorCode.CHECKPOINT_WRITE, `cannot write checkpoint ${store.description}: ${describeError(e)}`, { cause: e });
      this.o.metrics.checkpointErrors.inc({ op: 'write' });
      this.o.logger.error({ code: err.code }, `${err.message}; retrying at the next interval`);
    }
  }
}
