import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

export interface FileWatchOptions {
  /** Absolute path of the watched file. */
  readonly path: string;
  /** Events closer together than this are coalesced into one `onChange`. */
  readonly debounceMs: number;
  /**
   * Safety re-stat interval; 0 disables it. Every tick compares the file's inode, size, mtime and
   * ctime with the previous tick and calls `onChange` on a difference. It is a fallback for
   * filesystems where fs.watch misses events (NFS, some container bind mounts, overlay quirks);
   * it also re-opens the directory watch when the directory was replaced or could not be watched.
   */
  readonly pollIntervalMs: number;
  readonly signal: AbortSignal;
  /** Called after the file may have changed. Never called after `signal` aborted. */
  readonly onChange: () => void;
  /** The directory watch failed or could not be opened (reported once per distinct message). */
  readonly onWatchError: (error: unknown) => void;
}

/**
 * Kubernetes ConfigMap/Secret volumes replace files by swapping the `..data` symlink in the
 * directory: an event on that name is a change of every file in it.
 */
const ATOMIC_WRITER_LINK = '..data';

/**
 * Watches one file through its DIRECTORY, so editors and tools that replace the file by rename
 * (atomic write), delete and re-create it, or swap a symlink are all seen. Runs until `signal`
 * aborts; then the watch handle and every timer are released. The poll timer does not keep the
 * process alive on its own (unref); the fs.watch handle does, as long as it is open.
 */
export function watchFile(o: FileWatchOptions): void {
  if (o.signal.aborted) return;
  new FileWatcher(o).start();
}

class FileWatcher {
  private readonly dir: string;
  private readonly base: string;
  private watcher: FSWatcher | undefined;
  /** Inode of the directory the open watcher is attached to (to notice a replaced directory). */
  private watchedDirIno: number | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private firstPending = 0;
  private pollTimer: NodeJS.Timeout | undefined;
  private lastSignature: string | undefined;
  private lastWatchError: string | undefined;
  private polling = false;

  constructor(private readonly o: FileWatchOptions) {
    this.dir = dirname(o.path);
    this.base = basename(o.path);
  }

  start(): void {
    this.o.signal.addEventListener('abort', () => this.stop(), { once: true });
    this.open();
    if (this.o.pollIntervalMs > 0) {
      void this.signature().then((s) => {
        this.lastSignature ??= s;
      });
      this.pollTimer = setInterval(() => void this.poll(), this.o.pollIntervalMs);
      this.pollTimer.unref();
    }
  }

  private open(): void {
    this.close();
    try {
      const w = watch(this.dir, { persistent: true }, (_event, filename) => {
        const name = filename === null ? null : String(filename);
        if (name === null || name === this.base || name === ATOMIC_WRITER_LINK) this.schedule();
      });
      w.on('error', (err) => {
        // The directory went away or the watch broke: drop the handle; the poll re-opens it.
        if (this.watcher === w) this.close();
        this.watchError(err);
        this.schedule();
      });
      this.watcher = w;
      this.lastWatchError = undefined;
      void stat(this.dir).then(
        (st) => {
          if (this.watcher === w) this.watchedDirIno = st.ino;
        },
        () => undefined,
      );
    } catch (err) {
      this.watchError(err);
    }
  }

  private close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.watchedDirIno = undefined;
  }

  private stop(): void {
    this.close();
    if (this.debounceTimer !== undefined) clearTimeout(this.debounceTimer);
    if (this.pollTimer !== undefined) clearInterval(this.pollTimer);
    this.debounceTimer = undefined;
    this.pollTimer = undefined;
  }

  private watchError(err: unknown): void {
    const msg = err instanceof Error ? err.message : String(err);
    if (msg === this.lastWatchError) return;
    this.lastWatchError = msg;
    this.o.onWatchError(err);
  }

  /** Trailing-edge coalescing, bounded: a steady stream of events still fires every 20 periods. */
  private schedule(): void {
    if (this.o.signal.aborted) return;
    const now = Date.now();
    if (this.debounceTimer === undefined) this.firstPending = now;
    else clearTimeout(this.debounceTimer);
    const wait = now - this.firstPending >= this.o.debounceMs * 20 ? 0 : this.o.debounceMs;
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      if (!this.o.signal.aborted) this.o.onChange();
    }, wait);
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const dirIno = await stat(this.dir).then(
        (st) => st.ino,
        () => undefined,
      );
      if (this.o.signal.aborted) return;
      const replaced = this.watcher !== undefined && this.watchedDirIno !== undefined && dirIno !== this.watchedDirIno;
      if (dirIno !== undefined && (this.watcher === undefined || replaced)) this.open();
      const sig = await this.signature();
      if (this.o.signal.aborted) return;
      if (sig !== this.lastSignature) {
        this.lastSignature = sig;
        this.schedule();
      }
    } finally {
      this.polling = false;
    }
  }

  /** What identifies one version of the file on disk; stat follows symlinks. */
  private async signature(): Promise<string> {
    try {
      const st = await stat(this.o.path);
      return `${st.ino}/${st.size}/${st.mtimeMs}/${st.ctimeMs}`;
    } catch (e) {
      return `error:${(e as NodeJS.ErrnoException).code ?? 'unknown'}`;
    }
  }
}
