import { parseArgs } from 'node:util';

export const Command = {
  RUN: 'run',
  RENDER: 'render',
  CHECK: 'check',
  DIFF: 'diff',
  VERSION: 'version',
  HELP: 'help',
} as const;
export type Command = (typeof Command)[keyof typeof Command];

export type ParsedArgs =
  | { readonly type: 'run'; readonly config: string }
  | { readonly type: 'render'; readonly config: string; readonly out: string | undefined }
  | { readonly type: 'check'; readonly config: string }
  | { readonly type: 'diff'; readonly config: string; readonly output: DiffOutput }
  | { readonly type: 'version' }
  | { readonly type: 'help'; readonly topic: string | undefined }
  /** `command` is set for diff, whose exit status 2 means "changes" (a usage error exits 1). */
  | { readonly type: 'usage-error'; readonly message: string; readonly command?: 'diff' };

/** Output formats of `meshbridge diff`. */
export type DiffOutput = 'text' | 'json';

export const USAGE = `meshbridge: publish services from service registries to Istio

Usage:
  meshbridge run    --config FILE            watch registries, serve MCP-over-xDS, write sinks
  meshbridge render --config FILE [--out DIR] sync once, print the Istio YAML (or write to DIR)
  meshbridge check  --config FILE            validate the config and reach every registry
  meshbridge diff   --config FILE [--output json]
                                             show what run would change in the cluster
                                             (sinks.kubernetes); writes nothing
  meshbridge --version
  meshbridge --help

Options:
  -c, --config FILE   the config file (YAML or JSON); see docs/configuration.md
  -o, --out DIR       render: write one file per resource into DIR instead of stdout
      --output FORMAT diff: text (default) or json
  -h, --help          this text
  -v, --version       print the version

Environment:
  MESHBRIDGE_SYNC_TIMEOUT_MS  how long render, check and diff wait for every registry's first
                              sync (default 60000), diff also for its list of the cluster; a
                              registry file that is missing or unreadable fails at once

Exit status: 0 ok, 1 runtime failure, 2 bad usage or bad config.
  diff (like kubectl diff): 0 no changes, 2 changes (create, update or delete),
  1 error (bad usage, bad config, a registry or the cluster unreadable).`;

/**
 * Our own words for node:util parseArgs's errors (its text explains its API, not this CLI's):
 * an unknown option, an option without its value; anything else as bad arguments.
 */
function usageMessage(e: unknown): string {
  const code = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : '';
  const text = e instanceof Error ? e.message : String(e);
  const named = /'([^']+)'/.exec(text)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${named}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const long = /--[a-z-]+/.exec(named)?.[0] ?? named;
    return text.includes('argument missing') ? `${long} needs a value` : `${long} takes a value, not a flag`;
  }
  return 'bad arguments';
}

/** Parses argv (without node and script). Pure: never exits, never prints. */
export function parseCli(argv: readonly string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        out: { type: 'string', short: 'o' },
        output: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (e) {
    return { type: 'usage-error', message: usageMessage(e), ...(argv.includes('diff') ? { command: 'diff' as const } : {}) };
  }
  const { values, positionals } = parsed;
  if (values.version === true) return { type: 'version' };
  const cmd = positionals[0];
  if (values.help === true || cmd === undefined || cmd === 'help') {
    return { type: 'help', topic: cmd === 'help' ? positionals[1] : cmd };
  }
  if (positionals.length > 1) return { type: 'usage-error', message: `unexpected argument: ${positionals[1]}`, ...(cmd === 'diff' ? { command: cmd } : {}) };
  if (cmd === 'version') return { type: 'version' };
  if (cmd !== 'run' && cmd !== 'render' && cmd !== 'check' && cmd !== 'diff') {
    return { type: 'usage-error', message: `unknown command: ${cmd}` };
  }
  const error = (message: string): ParsedArgs => ({ type: 'usage-error', message, ...(cmd === 'diff' ? { command: cmd } : {}) });
  if (values.config === undefined) return error(`${cmd} needs --config FILE`);
  if (cmd === 'render') return values.output !== undefined ? error('--output is only for diff') : { type: 'render', config: values.config, out: values.out };
  if (values.out !== undefined) return error('--out is only for render');
  if (cmd === 'diff') {
    const output = values.output ?? 'text';
    if (output !== 'text' && output !== 'json') return error(`--output must be text or json, not ${output}`);
    return { type: 'diff', config: values.config, output };
  }
  if (values.output !== undefined) return error('--output is only for diff');
  return { type: cmd, config: values.config };
}
