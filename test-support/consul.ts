/**
 * Typed access to test-support/peers/consul.mjs (plain ESM) for the Consul tests. The .mjs file is the
 * implementation; this declares its shape (keep the two in step).
 */
import { peerModuleUrl } from './paths.js';
import type { TlsFiles } from './tls.js';


export interface ConsulPeer {
  readonly name: 'consul';
  readonly version: string;
  /** http://127.0.0.1:PORT */
  readonly address: string;
  readonly httpPort: number;
  /** https://127.0.0.1:PORT (client certificate required) when started with `tls: true`. */
  readonly httpsAddress: string | undefined;
  readonly tls: TlsFiles | undefined;
  readonly aclToken: string | undefined;
  readonly dir: string;
  readonly logFile: string;
  readonly pid: number | undefined;
  logTail(lines?: number): string;
  kill(): Promise<void>;
  /** Same ports; `wipe` starts from an empty data folder (the index starts low again). */
  restart(options?: { wipe?: boolean }): Promise<void>;
  stop(): Promise<void>;
  register(definition: Record<string, unknown>): Promise<unknown>;
  deregister(serviceId: string): Promise<unknown>;
  check(state: 'pass' | 'warn' | 'fail', checkId: string): Promise<unknown>;
  get(apiPath: string): Promise<unknown>;
}

export interface ProxyRequest {
  readonly path: string;
  readonly status: number | undefined;
  readonly start: number;
  readonly end: number | undefined;
}

export interface CountingProxy {
  readonly address: string;
  readonly requests: ProxyRequest[];
  readonly state: { paused: boolean };
  close(): Promise<void>;
}

export interface ConsulModule {
  consulVersion(): string;
  consulBinary(): string;
  consulAvailable(): boolean;
  consulSkipReason(): false | string;
  startConsul(options?: { timeoutMs?: number; tls?: boolean; aclToken?: string }): Promise<ConsulPeer>;
  startCountingProxy(target: string): Promise<CountingProxy>;
}

const url = peerModuleUrl('consul.mjs');

export async function loadConsul(): Promise<ConsulModule> {
  return (await import(url.href)) as ConsulModule;
}
