import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
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

/** A registry's TLS client settings as configured (paths relative to the config file). */
export interface ClientTls {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly serverName?: string;
  readonly insecureSkipVerify?: boolean;
}

/**
 * The `tls:` block of a kind's settings resolved: file paths made absolute against `base` (the
 * config file's folder), keys not given left absent. Pure.
 */
export function resolveClientTls(t: ClientTls | undefined, base: string): ClientTls | undefined {
  if (t === undefined) return undefined;
  return {
    ...(t.caFile !== undefined ? { caFile: resolve(base, t.caFile) } : {}),
    ...(t.certFile !== undefined ? { certFile: resolve(base, t.certFile) } : {}),
    ...(t.keyFile !== undefined ? { keyFile: resolve(base, t.keyFile) } : {}),
    ...(t.serverName !== undefined ? { serverName: t.serverName } : {}),
    ...(t.insecureSkipVerify !== undefined ? { insecureSkipVerify: t.insecureSkipVerify } : {}),
  };
}
