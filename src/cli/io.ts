import type { Writable } from 'node:stream';

/** Where commands write: injected so tests run commands in-process and read what they print. */
export interface CliIO {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export const processIO: CliIO = { stdout: process.stdout, stderr: process.stderr, env: process.env };
