import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CheckpointStore, WriteResult } from './store.js';

/** A checkpoint in a file, written atomically (a temporary file beside it, then rename). */
export class FileCheckpointStore implements CheckpointStore {
  readonly description: string;
  private readonly path: string;

  constructor(path: string) {
    this.path = path;
    this.description = `file ${path}`;
  }

  async read(signal: AbortSignal): Promise<string | undefined> {
    try {
      return await readFile(this.path, { encoding: 'utf8', signal });
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async write(text: string, signal: AbortSignal): Promise<WriteResult> {
    const tmp = `${this.path}.tmp`;
    await mkdir(dirname(this.path), { recursive: true });
    await writeFile(tmp, text, { signal });
    await rename(tmp, this.path);
    return { bytes: Buffer.byteLength(text) };
  }
}
