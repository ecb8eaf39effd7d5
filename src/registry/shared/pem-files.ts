import { readFile } from 'node:fs/promises';
import { describeError, ErrorCode, MeshbridgeError } from '../../errors/index.js';

/** PEM file paths of a TLS client: CA bundle, client certificate and key (each optional). */
export interface PemFiles {
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
}

/** The files' contents; a file not named is absent. */
export interface PemMaterial {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

/**
 * Reads the named PEM files (at start and on every reconnect, so rotated certificates are
 * picked up; never in a constructor). A file that cannot be read fails with MB_SOURCE_READ
 * naming the setting (`<what>.caFile`) and the path, never the contents.
 */
export async function readPemFiles(files: PemFiles, what: string): Promise<PemMaterial> {
  const read = async (file: string | undefined, key: string): Promise<Buffer | undefined> => {
    if (file === undefined) return undefined;
    try {
      return await readFile(file);
    } catch (e) {
      throw new MeshbridgeError(ErrorCode.SOURCE_READ, `cannot read ${what}.${key}: ${describeError(e)}`, { path: file, cause: e });
    }
  };
  const [ca, cert, key] = await Promise.all([read(files.caFile, 'caFile'), read(files.certFile, 'certFile'), read(files.keyFile, 'keyFile')]);
  return { ...(ca !== undefined ? { ca } : {}), ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) };
}
