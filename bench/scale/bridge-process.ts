/**
 * The bridge process (bridge.ts) as the bench drives it: forked with --expose-gc (and
 * --cpu-prof when BENCH_BRIDGE_PROF names a folder), spoken to over IPC (protocol.ts).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BridgeConfig, BridgeStats, FromBridge, ToBridge } from './protocol.js';

const BRIDGE = fileURLToPath(new URL('./bridge.js', import.meta.url));

export class Bridge {
  private readonly child;
  private readonly waiters: Array<(m: FromBridge) => boolean> = [];
  constructor(cfg: BridgeConfig) {
    this.child = fork(BRIDGE, [JSON.stringify(cfg)], { execArgv: ['--expose-gc', ...(process.env['BENCH_BRIDGE_PROF'] !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_BRIDGE_PROF']}`] : [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: unknown) => {
      const msg = m as FromBridge;
      if (msg.type === 'error') process.stderr.write(`bridge error: ${msg.message}\n`);
      const i = this.waiters.findIndex((w) => w(msg));
      if (i >= 0) this.waiters.splice(i, 1);
    });
  }
  wait<T extends FromBridge['type']>(type: T, timeoutMs = 600_000): Promise<Extract<FromBridge, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bridge: no ${type} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push((m) => {
        if (m.type !== type) return false;
        clearTimeout(timer);
        resolve(m as Extract<FromBridge, { type: T }>);
        return true;
      });
    });
  }
  send(m: ToBridge): void {
    this.child.send(m);
  }
  async stats(): Promise<BridgeStats> {
    const p = this.wait('stats');
    this.send({ type: 'stats' });
    return p;
  }
  async stop(): Promise<void> {
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.send({ type: 'stop' });
    const t = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  }
}
