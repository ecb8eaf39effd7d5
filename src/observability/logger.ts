import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';
import { redactSecrets } from './redact.js';

export type Logger = PinoLogger;

export interface LoggerOptions {
  readonly level?: LevelWithSilent;
  /** Write to this file descriptor (default 2: stderr, so stdout stays free for `render`). */
  readonly fd?: number;
}

/** JSON lines on stderr, every line with the registered secrets redacted (redact.ts). */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    { level: options.level ?? 'info', base: { app: 'meshbridge' }, hooks: { streamWrite: redactSecrets } },
    pino.destination({ fd: options.fd ?? 2, sync: false }),
  );
}

/** A logger that drops everything: for tests and for library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
