#!/usr/bin/env node
import { runCli } from './cli/main.js';
import { processIO } from './cli/io.js';

/**
 * Process entry point: the only place that installs signal handlers and calls process.exit.
 * SIGINT/SIGTERM start a graceful shutdown; a second one exits at once. SIGHUP asks `run` to
 * reload its config (CliIO.onReload); one that arrives before `run` listens is kept and delivered
 * once it does, and SIGHUP never kills the process (no default action).
 */
const controller = new AbortController();
let signals = 0;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    signals++;
    if (signals > 1) process.exit(130);
    controller.abort();
  });
}
let reload: (() => void) | undefined;
let reloadPending = false;
process.on('SIGHUP', () => {
  if (reload !== undefined) reload();
  else reloadPending = true;
});
const io = {
  ...processIO,
  onReload: (handler: () => void): (() => void) => {
    reload = handler;
    if (reloadPending) {
      reloadPending = false;
      handler();
    }
    return () => {
      if (reload === handler) reload = undefined;
    };
  },
};
const code = await runCli(process.argv.slice(2), io, controller.signal);
process.exitCode = code;
// Let stdout drain; anything still holding the loop (a stuck socket) must not keep us alive.
setTimeout(() => process.exit(code), 2000).unref();
