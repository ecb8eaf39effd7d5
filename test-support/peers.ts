/**
 * Typed access to test-support/peers/peers.mjs (plain ESM, no build step) for the TypeScript tests.
 * The .mjs file is the single implementation; this only declares its shape (keep the two in step).
 */
import { peerModuleUrl } from './paths.js';

export type PeerName = 'etcd' | 'kube-apiserver' | 'istiod' | 'istio-crds';

export interface Etcd {
  readonly name: 'etcd';
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  readonly pid: number;
  readonly dir: string;
  readonly logFile: string;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

export interface KubeApi {
  /** https://127.0.0.1:PORT */
  readonly url: string;
  /** Bearer token of user 'admin' (group system:masters). */
  readonly token: string;
  /** User 'limited' with no groups: under RBAC it may do nothing until bound. */
  readonly limitedUser: { readonly name: string; readonly token: string };
  /** PEM of the self-signed serving CA. */
  readonly ca: string;
  readonly caPath: string;
  /** kubeconfig (JSON) for 'admin' trusting `ca`. */
  readonly kubeconfigPath: string;
  readonly authorization: 'AlwaysAllow' | 'RBAC';
  readonly pid: number;
  readonly dir: string;
  readonly logFile: string;
  readonly etcd: { readonly endpoint: string };
  logTail(lines?: number): string;
  /** Stops the API server, then the etcd it started itself (if any). */
  stop(): Promise<void>;
}

export interface KubeApiOptions {
  readonly authorization?: 'AlwaysAllow' | 'RBAC';
  /** An etcd to use (its own key prefix per API server); default: start one. */
  readonly etcd?: { readonly endpoint: string };
  readonly timeoutMs?: number;
  readonly extraArgs?: readonly string[];
}

export interface Istiod {
  readonly mode: 'kubernetes' | 'mcp';
  /** Whether it reads services and pods from an API server (mode kubernetes, or mcp + kubeconfig). */
  readonly kubernetes: boolean;
  /** http://127.0.0.1:P (--httpAddr): /ready, /debug/... */
  readonly httpUrl: string;
  /** http://127.0.0.1:P (--monitoringAddr): /metrics */
  readonly monitoringUrl: string;
  /** 127.0.0.1:P plaintext xDS (--grpcAddr). */
  readonly grpcAddress: string;
  readonly ports: Readonly<Record<string, number>>;
  readonly pid: number;
  readonly meshConfigPath: string;
  readonly dir: string;
  readonly logFile: string;
  logTail(lines?: number): string;
  running(): boolean;
  /** GET /debug/<what> parsed as JSON ('configz', 'registryz', 'endpointz', ...). */
  debug(what: string): Promise<unknown>;
  stop(): Promise<void>;
}

export type IstiodOptions = (
  | { readonly mode: 'kubernetes'; readonly kubeconfig: string; readonly api?: KubeApi }
  | { readonly mode: 'mcp'; readonly xdsAddress: string; readonly kubeconfig?: string; readonly api?: KubeApi }
) & {
  readonly waitReady?: boolean;
  readonly timeoutMs?: number;
  readonly logLevel?: string;
  readonly extraArgs?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly meshConfig?: string;
};

export interface Socket {
  readonly local: string;
  readonly remote: string;
  readonly state: string;
}

export interface McpRequest {
  readonly typeUrl: string;
  readonly nonce: string;
  readonly versionInfo: string;
}

/** A stand-in MCP-over-xDS server holding no config (see peers.mjs startEmptyMcpServer). */
export interface EmptyMcpServer {
  /** 127.0.0.1:PORT */
  readonly address: string;
  /** Every DiscoveryRequest received, in order, over all streams. */
  readonly requests: readonly McpRequest[];
  streams(): number;
  /** Answers the withheld types; returns how many were pending. */
  answerWithheld(): number;
  stop(): Promise<void>;
}

export interface PeersModule {
  peerVersions(): Record<string, string>;
  peerPath(name: PeerName): string;
  peerAvailable(name: PeerName): boolean;
  freePorts(count?: number): Promise<number[]>;
  peerSockets(pid: number): Socket[];
  nonLoopbackSockets(pid: number): Socket[];
  startEtcd(options?: { timeoutMs?: number }): Promise<Etcd>;
  startKubeApiserver(options?: KubeApiOptions): Promise<KubeApi>;
  /** Applies the pinned release's CRDs and waits until each is Established; resolves with names. */
  applyIstioCrds(api: KubeApi, options?: { file?: string; timeoutMs?: number }): Promise<string[]>;
  ensureNamespace(api: KubeApi, name: string): Promise<void>;
  kubeRequest(
    api: Pick<KubeApi, 'url' | 'token' | 'ca'>,
    method: string,
    path: string,
    body?: unknown,
    options?: { token?: string; contentType?: string },
  ): Promise<{ status: number; body: unknown; text: string }>;
  writeKubeconfig(api: Pick<KubeApi, 'url' | 'ca'>, options: { token: string; file: string; user?: string }): Promise<string>;
  serviceAccountToken(api: KubeApi, namespace: string, name: string, options?: { expirationSeconds?: number }): Promise<string>;
  /** Server-side applies a manifest (YAML text or objects) as admin or `token`; rejects on refusal. */
  applyManifest(api: KubeApi, manifest: string | readonly object[], options?: { token?: string; fieldManager?: string }): Promise<unknown[]>;
  startIstiod(options: IstiodOptions): Promise<Istiod>;
  istiodDebug(istiod: Pick<Istiod, 'httpUrl'>, what: string): Promise<unknown>;
  startEmptyMcpServer(options?: { withhold?: (typeUrl: string) => boolean }): Promise<EmptyMcpServer>;
  httpRequest(url: string, options?: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number }): Promise<{ status: number; text: string }>;
}

const url = peerModuleUrl('peers.mjs');

export async function loadPeers(): Promise<PeersModule> {
  return (await import(url.href)) as PeersModule;
}

/**
 * Whether the tests needing `names` can run: undefined when they can, else the reason to skip.
 * In CI (CI=true) a missing peer is a failure: this throws instead of returning a reason.
 */
export async function requirePeers(...names: PeerName[]): Promise<string | undefined> {
  let peers: PeersModule;
  try {
    peers = await loadPeers();
  } catch (e) {
    if (process.env['CI'] === 'true') throw e;
    return `test-support/peers/peers.mjs unavailable: ${e instanceof Error ? e.message : String(e)}`;
  }
  const missing: string[] = [];
  for (const n of names) if (!peers.peerAvailable(n)) missing.push(`${n} (${peers.peerPath(n)})`);
  if (missing.length === 0) return undefined;
  const msg = `peer(s) not built: ${missing.join(', ')}; run test-support/peers/build-peers.sh`;
  if (process.env['CI'] === 'true') throw new Error(msg);
  return msg;
}
