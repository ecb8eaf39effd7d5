import type { ErrorCode } from './codes.js';

export interface MeshbridgeErrorOptions {
  readonly cause?: unknown;
  /** Where the problem is: a config key path, a file path plus entry path, a registry name. */
  readonly path?: string;
  /** Extra structured context for logs and /debug. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Longer paths are shortened in the message (the `path` field keeps them whole). */
const MESSAGE_PATH_MAX = 120;

function shortPath(path: string): string {
  return path.length <= MESSAGE_PATH_MAX ? path : `${path.slice(0, 80)}...${path.slice(-30)}`;
}

/**
 * Base class of every error Meshbridge raises on purpose. `code` is stable (docs/errors.md).
 * `message` is `<path>: <reason>` (a path over 120 characters shortened there; `path` holds it
 * whole), `reason` the text alone.
 */
export class MeshbridgeError extends Error {
  readonly code: ErrorCode;
  readonly path: string | undefined;
  readonly reason: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options: MeshbridgeErrorOptions = {}) {
    super(options.path !== undefined ? `${shortPath(options.path)}: ${message}` : message, { cause: options.cause });
    this.name = 'MeshbridgeError';
    this.code = code;
    this.path = options.path;
    this.reason = message;
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.path !== undefined ? { path: this.path } : {}),
      ...(this.details !== undefined ? { details: this.details } : {}),
    };
  }
}

export function isMeshbridgeError(e: unknown): e is MeshbridgeError {
  return e instanceof MeshbridgeError;
}

/** A short message for any thrown value, for logs. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
