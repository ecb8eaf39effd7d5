import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, MeshbridgeError, describeError } from '../../errors/index.js';
import type { IstioResource } from '../../snapshot/index.js';
import { FILE_PATTERN, TEMP_PATTERN, fileNameOf, isManagedYaml, tempNameOf } from './files.js';
import { renderDocument } from './yaml.js';

export interface FolderSyncResult {
  readonly written: readonly string[];
  readonly deleted: readonly string[];
  readonly unchanged: number;
  /** Per-file failures (RENDER_WRITE); the other files were still synced. */
  readonly errors: readonly FolderFailure[];
}

export interface FolderFailure {
  readonly op: 'write' | 'delete';
  readonly error: MeshbridgeError;
}

function writeError(message: string, path: string, cause?: unknown): MeshbridgeError {
  return new MeshbridgeError(ErrorCode.RENDER_WRITE, message, cause === undefined ? { path } : { path, cause });
}

function isNotFound(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'ENOENT';
}

/**
 * Keeps a folder equal to a set of resources, one file each (`<kind>-<namespace>-<name>.yaml`).
 *
 * Contract:
 * - Writes are atomic (temp file in the same folder, then rename): a reader never sees a
 *   half-written file. A file is rewritten only when its content changed (compared with what
 *   this writer last wrote, or with the file on disk the first time it sees it).
 * - Deletes only files that match the naming pattern, whose resource is gone, AND whose every
 *   YAML document carries the managed-by label; other files are never touched.
 * - Two resources whose names map to one file name share that file (one document each).
 * - `sync` calls must not overlap (the sink serialises them).
 */
export class FolderWriter {
  private readonly dir: string;
  /** file -> content known to be on disk (written or verified by this writer). */
  private readonly known = new Map<string, string>();

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Rejects with RENDER_WRITE only when the folder itself cannot be created or listed. */
  async sync(resources: readonly IstioResource[]): Promise<FolderSyncResult> {
    const errors: FolderFailure[] = [];
    const desired = new Map<string, string>();
    for (const r of resources) {
      const file = fileNameOf(r);
      if (file === undefined) {
        errors.push({ op: 'write', error: writeError(`${r.key} has a namespace or name that is not a safe file name; not written`, join(this.dir, r.key)) });
        continue;
      }
      desired.set(file, (desired.get(file) ?? '') + renderDocument(r));
    }
    /** Regular files only: folders and links are never written through nor deleted. */
    let listing: Set<string>;
    try {
      await mkdir(this.dir, { recursive: true });
      listing = new Set((await readdir(this.dir, { withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name));
    } catch (e) {
      throw writeError(`cannot create or list the output folder: ${describeError(e)}`, this.dir, e);
    }
    const written: string[] = [];
    let unchanged = 0;
    for (const [file, content] of desired) {
      try {
        if (await this.isCurrent(file, content, listing)) {
          unchanged += 1;
          continue;
        }
        await this.writeAtomic(file, content);
        written.push(file);
      } catch (e) {
        this.known.delete(file);
        errors.push({ op: 'write', error: writeError(`cannot write: ${describeError(e)}`, join(this.dir, file), e) });
      }
    }
    const deleted = await this.prune(listing, desired, errors);
    return { written, deleted, unchanged, errors };
  }

  private async isCurrent(file: string, content: string, listing: ReadonlySet<string>): Promise<boolean> {
    if (!listing.has(file)) return false;
    if (this.known.has(file)) return this.known.get(file) === content;
    const onDisk = await readFile(join(this.dir, file), 'utf8').catch(() => undefined);
    if (onDisk !== content) return false;
    this.known.set(file, content);
    return true;
  }

  private async writeAtomic(file: string, content: string): Promise<void> {
    const tmp = join(this.dir, tempNameOf(file, randomBytes(4).toString('hex')));
    try {
      await writeFile(tmp, content, { flag: 'wx', mode: 0o644 });
      await rename(tmp, join(this.dir, file));
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    this.known.set(file, content);
  }

  private async prune(listing: ReadonlySet<string>, desired: ReadonlyMap<string, string>, errors: FolderFailure[]): Promise<string[]> {
    const deleted: string[] = [];
    for (const file of listing) {
      const path = join(this.dir, file);
      try {
        if (TEMP_PATTERN.test(file)) {
          await unlink(path); // a leftover of an interrupted write
          continue;
        }
        if (!FILE_PATTERN.test(file) || desired.has(file)) continue;
        this.known.delete(file);
        const text = await readFile(path, 'utf8');
        if (!isManagedYaml(text)) continue;
        await unlink(path);
        deleted.push(file);
      } catch (e) {
        if (isNotFound(e)) continue;
        errors.push({ op: 'delete', error: writeError(`cannot delete: ${describeError(e)}`, path, e) });
      }
    }
    return deleted;
  }
}
