import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import { ErrorCode, MeshbridgeError } from '../../errors/index.js';
import { childSignal } from '../../util/abort.js';
import { resolveKubeConfig } from './kubeconfig.js';
import { TokenBucket } from './rate-limiter.js';

export interface KubeClientOptions {
  /** Path of a kubeconfig file; undefined: $KUBECONFIG, else in-cluster, else ~/.kube/config (kubeconfig.ts). */
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly qps: number;
  readonly burst: number;
  /** Attempts for retryable failures (429, 5xx, connection errors; 409 when asked). */
  readonly maxAttempts?: number;
  readonly userAgent?: string;
  /**
   * A request (not a watch) with no answer this long is abandoned and retried (ETIMEDOUT):
   * an API server behind a partition, or a connection a proxy holds open, must not stall the
   * sink forever. Default 15 s.
   */
  readonly requestTimeoutMs?: number;
}

/** Default request timeout (server-side apply of one object takes well under a second). */
export const DEFAULT_KUBE_REQUEST_TIMEOUT_MS = 15_000;
/** A watch that delivers nothing for this long after its own timeoutSeconds is torn down. */
const WATCH_GRACE_MS = 30_000;

/** An API server answer that is not 2xx. `reason` is the Status reason when there is one. */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(`kube-apiserver ${status} ${reason}: ${message}`);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
  }
}

export interface RequestArgs {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly signal?: AbortSignal;
  /** Retry 409 Conflict too (never for optimistic-concurrency writes such as Lease updates). */
  readonly retryConflict?: boolean;
  /**
   * Checked right before every attempt is sent (after the rate limiter and any backoff): when it
   * returns false the call rejects with MeshbridgeError KUBE_FENCED and nothing is sent. Writes
   * pass the leader check here, so a replica deposed while its write waited never sends it.
   */
  readonly fence?: () => boolean;
}

export type WatchEvent = { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'; readonly object: unknown };

/**
 * A small Kubernetes REST client: auth and TLS from a kubeconfig (kubeconfig.ts: read natively,
 * @kubernetes/client-node in a worker thread only for exec/auth-provider plugins),
 * a token-bucket rate limit shared by every call, retries with exponential backoff on 429
 * (honouring Retry-After), 5xx and connection errors. Construction does no I/O; `init()` loads
 * the kubeconfig.
 */
export class KubeClient {
  private readonly options: KubeClientOptions;
  private readonly limiter: TokenBucket;
  private server: URL | undefined;
  private base: RequestOptions = {};
  private authorization: (() => string) | undefined;
  /** Requests sent, by method: for tests and benchmarks that count writes. */
  readonly counts = new Map<string, number>();

  constructor(options: KubeClientOptions) {
    this.options = options;
    this.limiter = new TokenBucket(options.qps, options.burst);
  }

  async init(): Promise<void> {
    const resolved = await resolveKubeConfig({ kubeconfig: this.options.kubeconfig, context: this.options.context });
    this.server = resolved.server;
    this.base = resolved.options;
    this.authorization = resolved.authorization;
  }

  async request<T = unknown>(args: RequestArgs): Promise<T> {
    // A child signal per call: a signal shared by many concurrent calls keeps a single listener
    // (abort.ts); the child carries at most one at a time (the HTTP request or the backoff).
    const child = args.signal === undefined ? undefined : childSignal(args.signal);
    const call: RequestArgs = child === undefined ? args : { ...args, signal: child.signal };
    try {
      const attempts = this.options.maxAttempts ?? 6;
      let delay = 200;
      for (let attempt = 1; ; attempt++) {
        await this.limiter.take(call.signal);
        if (call.fence !== undefined && !call.fence()) {
          throw new MeshbridgeError(ErrorCode.KUBE_FENCED, `${call.method} ${call.path}: not sent, this replica is no longer the leader`);
        }
        try {
          return (await this.once(call)) as T;
        } catch (e) {
          const retry = attempt < attempts && retryable(e, call.retryConflict === true);
          if (!retry) throw e;
          const wait = e instanceof RetryAfter ? e.ms : delay + Math.floor(Math.random() * delay * 0.2);
          delay = Math.min(delay * 2, 5000);
          await sleep(wait, call.signal);
        }
      }
    } finally {
      child?.release();
    }
  }

  /**
   * Streams a watch. Resolves when the server closes the stream (normal after its timeout);
   * rejects with KubeApiError(410) when the resourceVersion is too old, or on transport errors.
   */
  watch(path: string, query: Record<string, string | number | boolean>, onEvent: (e: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    const child = childSignal(signal);
    return new Promise<void>((resolve, reject) => {
      const req = this.raw('GET', path, { ...query, watch: true, allowWatchBookmarks: true }, undefined, undefined, child.signal);
      req.once('close', () => child.release());
      // A watch the server should have ended (its timeoutSeconds) but that stays silent is dead
      // (a partition, a proxy holding the connection): tear it down so the caller re-opens it.
      const seconds = typeof query['timeoutSeconds'] === 'number' ? query['timeoutSeconds'] : 300;
      req.setTimeout(seconds * 1000 + WATCH_GRACE_MS, () => req.destroy(Object.assign(new Error(`watch ${path}: silent past its timeout`), { code: 'ETIMEDOUT' })));
      req.on('response', (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          collect(res, (text) => reject(toApiError(res.statusCode ?? 0, text)));
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (line.trim() === '') continue;
            const ev = JSON.parse(line) as WatchEvent;
            if (ev.type === 'ERROR') {
              const st = ev.object as { code?: number; reason?: string; message?: string };
              req.destroy();
              reject(new KubeApiError(st.code ?? 500, st.reason ?? 'Error', st.message ?? ''));
              return;
            }
            onEvent(ev);
          }
        });
        res.on('end', () => resolve());
        res.on('error', reject);
      });
      req.on('error', (e) => (signal.aborted ? resolve() : reject(e)));
      req.end();
    });
  }

  private once(args: RequestArgs): Promise<unknown> {
    const body = args.body === undefined ? undefined : JSON.stringify(args.body);
    return new Promise((resolve, reject) => {
      const req = this.raw(args.method, args.path, args.query, body, args.contentType, args.signal);
      const timeoutMs = this.options.requestTimeoutMs ?? DEFAULT_KUBE_REQUEST_TIMEOUT_MS;
      req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`${args.method} ${args.path}: no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('response', (res) => {
        collect(res, (text) => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            try {
              resolve(text === '' ? undefined : JSON.parse(text));
            } catch (e) {
              reject(e instanceof Error ? e : new Error(String(e)));
            }
            return;
          }
          const ra = res.headers['retry-after'];
          if (status === 429 && typeof ra === 'string' && /^\d+$/.test(ra)) {
            reject(new RetryAfter(Number(ra) * 1000, toApiError(status, text)));
            return;
          }
          reject(toApiError(status, text));
        });
      });
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  private raw(
    method: string,
    path: string,
    query: RequestArgs['query'],
    body: string | undefined,
    contentType: string | undefined,
    signal: AbortSignal | undefined,
  ): ReturnType<typeof httpsRequest> {
    const server = this.server;
    if (server === undefined) throw new Error('KubeClient used before init()');
    this.counts.set(method, (this.counts.get(method) ?? 0) + 1);
    const url = new URL(server.pathname.replace(/\/$/, '') + path, server);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string | number> = {
      ...(this.base.headers as Record<string, string>),
      accept: 'application/json',
      'user-agent': this.options.userAgent ?? 'meshbridge',
      ...(this.authorization !== undefined ? { Authorization: this.authorization() } : {}),
    };
    if (body !== undefined) {
      headers['content-type'] = contentType ?? 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const opts: RequestOptions = { ...this.base, method, headers, ...(signal !== undefined ? { signal } : {}) };
    return url.protocol === 'http:' ? httpRequest(url, opts) : httpsRequest(url, opts);
  }
}

class RetryAfter extends Error {
  readonly ms: number;
  readonly inner: KubeApiError;
  constructor(ms: number, inner: KubeApiError) {
    super(inner.message);
    this.ms = ms;
    this.inner = inner;
  }
}

function retryable(e: unknown, conflict: boolean): boolean {
  if (e instanceof RetryAfter) return true;
  if (e instanceof KubeApiError) return e.status === 429 || e.status >= 500 || (conflict && e.status === 409);
  if (e instanceof Error && e.name === 'AbortError') return false;
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN'].includes(code);
}

function toApiError(status: number, text: string): KubeApiError {
  try {
    const st = JSON.parse(text) as { reason?: string; message?: string };
    return new KubeApiError(status, st.reason ?? 'Unknown', st.message ?? text);
  } catch {
    return new KubeApiError(status, 'Unknown', text.slice(0, 500));
  }
}

function collect(res: NodeJS.ReadableStream, done: (text: string) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
}

/** Waits `ms`; rejects at once when `signal` aborts. Leaves no listener behind either way. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Unwraps the API error inside a retry wrapper, for callers that inspect status codes. */
export function apiError(e: unknown): KubeApiError | undefined {
  if (e instanceof KubeApiError) return e;
  if (e instanceof RetryAfter) return e.inner;
  return undefined;
}
