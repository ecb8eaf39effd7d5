import { ExitCode } from './exit-codes.js';
import { USAGE, parseCli } from './args.js';
import { checkCommand, renderCommand, runCommand } from './commands.js';
import { DiffExitCode, diffCommand } from './diff.js';
import type { CliIO } from './io.js';
import { packageVersion } from './version.js';

/** Runs one CLI invocation in-process and returns its exit status (never exits). */
export async function runCli(argv: readonly string[], io: CliIO, signal: AbortSignal): Promise<ExitCode> {
  const args = parseCli(argv);
  switch (args.type) {
    case 'help':
      io.stdout.write(`${USAGE}\n`);
      return ExitCode.OK;
    case 'version':
      io.stdout.write(`meshbridge ${packageVersion()}\n`);
      return ExitCode.OK;
    case 'usage-error':
      io.stderr.write(`meshbridge: ${args.message}\n\n${USAGE}\n`);
      return args.command === 'diff' ? DiffExitCode.ERROR : ExitCode.USAGE;
    case 'run':
      return runCommand(args.config, io, signal);
    case 'render':
      return renderCommand(args.config, args.out, io, signal);
    case 'check':
      return checkCommand(args.config, io, signal);
    case 'diff':
      return diffCommand(args.config, args.output, io, signal);
  }
}
