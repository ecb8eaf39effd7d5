import type { RequestOptions } from 'node:https';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { inClusterTarget, resolveKubeConfigFile, type KubeConfigTarget } from './kubeconfig-file.js';

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
  /** Authorization header value for this request, when it changes over time (a rotated token file). */
  readonly authorization?: (() => string) | undefined;
  /** Where it came from: `native` (read here) or `library` (@kubernetes/client-node, in a worker). */
  readonly via: 'native' | 'library';
}

/** Where the defaults are looked for (tests point them elsewhere). */
export interface KubeConfigEnvironment {
  readonly env: NodeJS.ProcessEnv;
  readonly home: string;
  readonly serviceAccountDir: string;
  /** Monotonic ms clock (token file re-reads). */
  readonly now: () => number;
}

const DEFAULT_ENVIRONMENT: KubeConfigEnvironment = {
  env: process.env,
  home: homedir(),
  serviceAccountDir: '/var/run/secrets/kubernetes.io/serviceaccount',
  now: () => performance.now(),
};

/** A rotated token file is re-read at most this often (client-go re-reads every minute too). */
export const TOKEN_FILE_REREAD_MS = 60_000;

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
 * Finds and resolves the kubeconfig: `req.kubeconfig`, else $KUBECONFIG, else the pod's service
 * account (in-cluster: KUBERNETES_SERVICE_HOST and the token file), else ~/.kube/config (the
 * order of controller-runtime's GetConfig). Rejects with an Error saying what is missing or wrong.
 *
 * Contract: the common kubeconfigs (token, token file, client certificate, basic auth, CA,
 * insecure-skip-tls-verify, tls-server-name) and in-cluster are read here in a few milliseconds,
 * without @kubernetes/client-node (loading it cost ~0.7-2.5 s and ~70 MB RSS, measured). Only a
 * kubeconfig needing its plugins (exec, auth-provider, proxy-url, impersonation) or a list of
 * files in $KUBECONFIG goes to the library, in a short-lived worker thread so it is not kept
 * loaded; an option that cannot cross threads (a proxy agent) then loads it in process.
 * A token file (in-cluster, or a user's `tokenFile`) is re-read as it rotates.
 */
export async function resolveKubeConfig(req: KubeConfigRequest, environment: KubeConfigEnvironment = DEFAULT_ENVIRONMENT): Promise<ResolvedKubeConfig> {
  const source = locate(req, environment);
  if (source.type === 'in-cluster') return native(inClusterTarget(environment.env, environment.serviceAccountDir), environment.now);
  if (source.type === 'file') {
    const target = resolveKubeConfigFile(source.file, req.context);
    if (!('unsupported' in target)) return native(target, environment.now);
    return viaLibrary({ ...req, kubeconfig: source.file });
  }
  return viaLibrary(req);
}

type Source = { readonly type: 'file'; readonly file: string } | { readonly type: 'in-cluster' } | { readonly type: 'library' };

function locate(req: KubeConfigRequest, e: KubeConfigEnvironment): Source {
  if (req.kubeconfig !== undefined) return { type: 'file', file: req.kubeconfig };
  const list = (e.env['KUBECONFIG'] ?? '').split(delimiter).filter((f) => f !== '');
  if (list.length === 1 && list[0] !== undefined) return { type: 'file', file: list[0] };
  if (list.length > 1) return { type: 'library' }; // merged files: the library's merge rules
  if ((e.env['KUBERNETES_SERVICE_HOST'] ?? '') !== '' && existsSync(`${e.serviceAccountDir}/token`)) return { type: 'in-cluster' };
  const home = join(e.home, '.kube', 'config');
  if (existsSync(home)) return { type: 'file', file: home };
  throw new Error(
    'no kubeconfig found: set sinks.kubernetes.kubeconfig or $KUBECONFIG, run in a pod with a service account token, or create ~/.kube/config',
  );
}

function native(t: KubeConfigTarget, now: () => number): ResolvedKubeConfig {
  const options = t.options as RequestOptions;
  if (t.tokenFile === undefined) return { server: new URL(t.server), options, via: 'native' };
  const token = new TokenFile(t.tokenFile, now);
  token.read(); // a missing or unreadable token file fails the start, not the first request
  return { server: new URL(t.server), options, authorization: () => `Bearer ${token.read()}`, via: 'native' };
}

/** A bearer token in a file the kubelet rotates: re-read every TOKEN_FILE_REREAD_MS; a failed re-read keeps the last token. */
class TokenFile {
  private token = '';
  private readAt = -Infinity;
  constructor(
    private readonly path: string,
    private readonly now: () => number,
  ) {}
  read(): string {
    const now = this.now();
    if (now - this.readAt < TOKEN_FILE_REREAD_MS) return this.token;
    try {
      this.token = readFileSync(this.path, 'utf8').trim();
      this.readAt = now;
    } catch (e) {
      if (this.token === '') throw new Error(`kubeconfig token file ${this.path}: ${e instanceof Error ? e.message : String(e)}`);
    }
    return this.token;
  }
}

async function viaLibrary(req: KubeConfigRequest): Promise<ResolvedKubeConfig> {
  const reply = await inWorker(req);
  if (reply.ok) return { server: new URL(reply.server), options: fromClone(reply.options), via: 'library' };
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
  return { server: new URL(r.server), options: r.options, via: 'library' };
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
