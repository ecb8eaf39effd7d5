import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';
import { redactSecrets } from './redact.js';

export type Logger = PinoLogger;

export interface LoggerOptions {
  readonly level?: LevelWithSilent;
  /** Write to this file descriptor (default 2: stderr, so stdout stays free for `render`). */
  readonly fd?: number;
}

/** Children of each logger createLogger made (pino's own level is copied to a child once, at creation). */
const families = new WeakMap<Logger, WeakRef<Logger>[]>();

/** JSON lines on stderr, every line with the registered secrets redacted (redact.ts). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const children: WeakRef<Logger>[] = [];
  const root = pino(
    {
      level: options.level ?? 'info',
      base: { app: 'meshbridge' },
      hooks: { streamWrite: redactSecrets },
      // Called for children of children too; collected references are pruned as they die.
      onChild: (child) => {
        if (children.length >= 256 && children.length % 256 === 0) prune(children);
        children.push(new WeakRef(child));
      },
    },
    pino.destination({ fd: options.fd ?? 2, sync: false }),
  );
  families.set(root, children);
  return root;
}

function prune(refs: WeakRef<Logger>[]): void {
  const live = refs.filter((r) => r.deref() !== undefined);
  refs.splice(0, refs.length, ...live);
}

/** Sets the level of `root` and of every child logger made from it so far (a config reload). */
export function setLogLevel(root: Logger, level: LevelWithSilent): void {
  root.level = level;
  const children = families.get(root) ?? [];
  prune(children);
  for (const ref of children) {
    const c = ref.deref();
    if (c !== undefined) c.level = level;
  }
}

/** A logger that drops everything: for tests and for library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
