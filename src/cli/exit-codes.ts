/** Process exit status of every command (documented in USAGE and docs/operations.md). */
export const ExitCode = {
  OK: 0,
  /** Runtime failure: a listener could not bind, a registry could not be reached by `check`. */
  FAILURE: 1,
  /** Bad usage or bad config. */
  USAGE: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
