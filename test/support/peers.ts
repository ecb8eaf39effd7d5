/**
 * Typed access to test-support/peers.mjs (plain ESM, no build step) for the TypeScript tests.
 * The .mjs file is the single implementation; this only declares its shape.
 */
export interface KubeApi {
  readonly url: string;
  readonly token: string;
  readonly kubeconfigPath: string;
  stop(): Promise<void>;
  readonly [k: string]: unknown;
}
export interface Etcd {
  readonly url: string;
  stop(): Promise<void>;
}
export interface Istiod {
  readonly debugUrl: string;
  stop(): Promise<void>;
  readonly [k: string]: unknown;
}
export interface PeersModule {
  peerAvailable(name: string): boolean | Promise<boolean>;
  startEtcd(options?: Record<string, unknown>): Promise<Etcd>;
  startKubeApiserver(options?: Record<string, unknown>): Promise<KubeApi>;
  applyIstioCrds(api: KubeApi): Promise<void>;
  startIstiod(options: Record<string, unknown>): Promise<Istiod>;
  [k: string]: unknown;
}

const url = new URL('../../../test-support/peers.mjs', import.meta.url);

export async function loadPeers(): Promise<PeersModule> {
  return (await import(url.href)) as PeersModule;
}

/**
 * Whether the tests needing `names` can run. In CI a missing peer is a failure (throws); locally
 * the caller skips with the returned reason.
 */
export async function requirePeers(...names: string[]): Promise<string | undefined> {
  let peers: PeersModule;
  try {
    peers = await loadPeers();
  } catch (e) {
    if (process.env['CI'] === 'true') throw e;
    return `test-support/peers.mjs unavailable: ${e instanceof Error ? e.message : String(e)}`;
  }
  const missing: string[] = [];
  for (const n of names) if (!(await peers.peerAvailable(n))) missing.push(n);
  if (missing.length === 0) return undefined;
  const msg = `peer(s) not built: ${missing.join(', ')} (run test-support/build-peers.sh)`;
  if (process.env['CI'] === 'true') throw new Error(msg);
  return msg;
}
