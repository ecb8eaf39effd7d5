import type { RequestOptions } from 'node:https';
import { Worker } from 'node:worker_threads';

export interface KubeConfigRequest {
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
}

export type KubeConfigReply =
  | { readonly ok: true; readonly server: string; readonly options: Record<string, unknown> }
  | { readonly ok: false; readonly error: string; readonly inProcess?: boolean };

/** The API server and the options every request to it carries (TLS, auth headers). */
export interface ResolvedKubeConfig {
  readonly server: URL;
  readonly options: RequestOptions;
}

/** Request options applyToHTTPSOptions sets that are plain data (they cross a thread as is). */
export const PLAIN_OPTION_KEYS: ReadonlySet<string> = new Set([
  'headers',
  'ca',
  'cert',
  'key',
  'pfx',
  'passphrase',
  'rejectUnauthorized',
  'servername',
  'timeout',
]);

/**
 * Loads a kubeconfig (a file, or the default chain: KUBECONFIG, ~/.kube/config, in-cluster) and
 * resolves the current context's server and auth once, as @kubernetes/client-node does.
 *
 * Contract: the resolution runs in a short-lived worker thread, so the client library (~70 MB
 * RSS, ~28 MB of heap, measured) is not kept loaded for the life of the process; only when the
 * kubeconfig needs an option that cannot cross threads (an HTTP proxy agent) is it loaded here.
 * Rejects with an Error whose message says what is wrong with the kubeconfig.
 */
export async function resolveKubeConfig(req: KubeConfigRequest): Promise<ResolvedKubeConfig> {
  const reply = await inWorker(req);
  if (reply.ok) return { server: new URL(reply.server), options: fromClone(reply.options) };
  if (reply.inProcess === true) return inProcess(req);
  throw new Error(reply.error);
}

function inWorker(req: KubeConfigRequest): Promise<KubeConfigReply> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./kubeconfig-worker.js', import.meta.url), { workerData: { ...req } });
    let replied = false;
    worker.once('message', (m: KubeConfigReply) => {
      replied = true;
      resolve(m);
      void worker.terminate();
    });
    worker.once('error', (e) => {
      if (!replied) reject(e);
    });
    worker.once('exit', (code) => {
      if (!replied) reject(new Error(`kubeconfig worker exited with code ${code} before replying`));
    });
  });
}

/** Buffers arrive as Uint8Arrays after the structured clone; TLS options want Buffers (or strings). */
function fromClone(options: Record<string, unknown>): RequestOptions {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (v instanceof Uint8Array) out[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    else if (Array.isArray(v)) out[k] = v.map((x: unknown) => (x instanceof Uint8Array ? Buffer.from(x.buffer, x.byteOffset, x.byteLength) : x));
    else out[k] = v;
  }
  return out;
}

async function inProcess(req: KubeConfigRequest): Promise<ResolvedKubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const r = await applyKubeConfig(new KubeConfig(), req);
  return { server: new URL(r.server), options: r.options };
}

/** The part of @kubernetes/client-node's KubeConfig used here (the worker and in process). */
export interface KubeConfigLike {
  loadFromFile(file: string): void;
  loadFromDefault(): void;
  setCurrentContext(context: string): void;
  getCurrentCluster(): { readonly server: string } | null;
  applyToHTTPSOptions(opts: RequestOptions): Promise<void>;
}

/** Loads `req` into `kc` and returns the server and the request options it applies. */
export async function applyKubeConfig(kc: KubeConfigLike, req: KubeConfigRequest): Promise<{ server: string; options: RequestOptions }> {
  if (req.kubeconfig !== undefined) kc.loadFromFile(req.kubeconfig);
  else kc.loadFromDefault();
  if (req.context !== undefined) kc.setCurrentContext(req.context);
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('kubeconfig has no current cluster');
  const options: RequestOptions = { headers: {} };
  await kc.applyToHTTPSOptions(options);
  return { server: cluster.server, options };
}
