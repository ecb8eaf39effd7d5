import type { Writable } from 'node:stream';

/** Where commands write: injected so tests run commands in-process and read what they print. */
export interface CliIO {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Calls `handler` on each request to reload the config (the process: SIGHUP) until the
   * returned function is called. Absent: nothing asks (tests run commands in-process).
   */
  readonly onReload?: (handler: () => void) => () => void;
}

export const processIO: CliIO = { stdout: process.stdout, stderr: process.stderr, env: process.env };
