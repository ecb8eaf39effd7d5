/**
 * Typed access to test-support/peers/nacos.mjs (the test Nacos server, built by
 * test-support/peers/peers.d/nacos-server.sh). Keep the two in step.
 */
import { peerModuleUrl } from './paths.js';

export interface NacosServer {
  readonly httpPort: number;
  readonly grpcPort: number;
  /** 127.0.0.1:<httpPort> */
  readonly serverAddr: string;
  readonly dir: string;
  readonly logFile: string;
  readonly pid: number;
  logTail(lines?: number): string;
  nonLoopbackSockets(): Array<{ local: string; remote: string; state: string }>;
  /** Kills the server process; its data stays for `start()`. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data; resolves when ready. */
  start(): Promise<void>;
  stop(): Promise<void>;
  admin(method: string, apiPath: string, params?: Record<string, unknown>): Promise<unknown>;
}

export interface Instance {
  readonly service: string;
  readonly ip: string;
  readonly port: number;
  readonly group?: string;
  readonly namespace?: string;
  readonly weight?: number;
  readonly metadata?: Record<string, string>;
  readonly cluster?: string;
  readonly enabled?: boolean;
  /** In the server's memory only (lost on a restart), as a Nacos client registers; default false. */
  readonly ephemeral?: boolean;
}

export interface NacosModule {
  NACOS_VERSION: string;
  nacosDir(): string;
  nacosAvailable(): boolean;
  startNacos(opts?: { auth?: { username: string; password: string }; timeoutMs?: number }): Promise<NacosServer>;
  createService(
    n: NacosServer,
    o: { service: string; group?: string; namespace?: string; healthCheck?: boolean; clusters?: string[] },
  ): Promise<void>;
  putInstance(n: NacosServer, i: Instance, method?: 'POST' | 'PUT'): Promise<void>;
  deleteInstance(n: NacosServer, i: Pick<Instance, 'service' | 'ip' | 'port' | 'group' | 'namespace' | 'cluster' | 'ephemeral'>): Promise<void>;
  createNamespace(n: NacosServer, id: string): Promise<void>;
}

const url = peerModuleUrl('nacos.mjs');

export async function loadNacos(): Promise<NacosModule> {
  return (await import(url.href)) as NacosModule;
}

/** undefined when the Nacos server is built, else the reason to skip; with CI=true it throws. */
export async function requireNacos(): Promise<string | undefined> {
  const m = await loadNacos();
  if (m.nacosAvailable()) return undefined;
  const msg = `Nacos test server not built (${m.nacosDir()}): run test-support/peers/peers.d/nacos-server.sh`;
  if (process.env['CI'] === 'true') throw new Error(msg);
  return msg;
}
