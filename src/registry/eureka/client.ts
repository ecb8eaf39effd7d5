import { ErrorCode, MeshbridgeError, describeError } from '../../errors/index.js';

export interface EurekaAuth {
  readonly username: string;
  readonly password: string;
}

export interface EurekaHttpClientOptions {
  /** Eureka service URLs (Eureka's `defaultZone` form, e.g. http://10.0.0.5:8761/eureka/), tried in order. */
  readonly serviceUrls: readonly string[];
  /** Basic auth for every URL; credentials in a URL (`http://user:pass@host/eureka/`) are used for that URL otherwise. */
  readonly auth?: EurekaAuth;
  /** Per request, including reading the body. */
  readonly timeoutMs: number;
}

/** Requests sent, by kind (what the idle test counts). */
export interface EurekaRequestCounts {
  full: number;
  delta: number;
  failed: number;
}

interface Target {
  /** The URL without credentials, ending in `/`: safe to log. */
  readonly base: string;
  readonly authorization: string | undefined;
}

/** fetch's "fetch failed" with its cause (ECONNREFUSED, ...). */
function explain(e: unknown): string {
  const cause = e instanceof Error ? e.cause : undefined;
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : undefined;
  return code !== undefined ? `${describeError(e)} (${code})` : cause !== undefined ? `${describeError(e)}: ${describeError(cause)}` : describeError(e);
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/** Splits credentials off a service URL (fetch refuses URLs that carry them). */
export function toTarget(url: string, auth: EurekaAuth | undefined): Target {
  const u = new URL(url);
  let authorization = auth !== undefined ? basic(auth.username, auth.password) : undefined;
  if (u.username !== '' || u.password !== '') {
    authorization ??= basic(decodeURIComponent(u.username), decodeURIComponent(u.password));
    u.username = '';
    u.password = '';
  }
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  u.search = '';
  u.hash = '';
  return { base: u.href, authorization };
}

/**
 * GETs `apps` and `apps/delta` from a list of Eureka servers with failover: the server that
 * answered last is asked first; on a network error, a timeout, a non-200 status or a body that is
 * not JSON the next one is tried, each once per call. Credentials never appear in errors.
 *
 * Requests use Node's built-in fetch; `signal` aborts the one in flight. Idle keep-alive sockets
 * belong to fetch's global pool and close on its keep-alive timeout; they never hold the process.
 */
export class EurekaHttpClient {
  readonly counts: EurekaRequestCounts = { full: 0, delta: 0, failed: 0 };
  private readonly targets: readonly Target[];
  private readonly timeoutMs: number;
  private current = 0;

  constructor(o: EurekaHttpClientOptions) {
    if (o.serviceUrls.length === 0) throw new MeshbridgeError(ErrorCode.CONFIG_INVALID, 'eureka: at least one service URL is needed');
    this.targets = o.serviceUrls.map((u) => toTarget(u, o.auth));
    this.timeoutMs = o.timeoutMs;
  }

  /** The server asked first (the last one that answered), without credentials. */
  currentUrl(): string {
    return this.targets[this.current]?.base ?? '';
  }

  /**
   * The parsed JSON body of `<serviceUrl>/<path>`. Throws MB_REGISTRY_UNREACHABLE naming each
   * server's failure when none answered; rethrows the abort when `signal` aborted.
   */
  async get(path: 'apps/' | 'apps/delta', signal: AbortSignal): Promise<unknown> {
    const failures: string[] = [];
    for (let i = 0; i < this.targets.length; i++) {
      const idx = (this.current + i) % this.targets.length;
      const t = this.targets[idx];
      if (t === undefined) continue;
      if (path === 'apps/') this.counts.full++;
      else this.counts.delta++;
      try {
        const body = await this.getOne(t, path, signal);
        this.current = idx;
        return body;
      } catch (e) {
        if (signal.aborted) throw e;
        this.counts.failed++;
        failures.push(`${t.base}${path}: ${explain(e)}`);
      }
    }
    // Next call starts with the next server.
    this.current = (this.current + 1) % this.targets.length;
    throw new MeshbridgeError(ErrorCode.REGISTRY_UNREACHABLE, `no Eureka server answered: ${failures.join('; ')}`);
  }

  private async getOne(t: Target, path: string, signal: AbortSignal): Promise<unknown> {
    const ac = new AbortController();
    const onAbort = (): void => ac.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => ac.abort(new Error(`timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
    try {
      const headers: Record<string, string> = { Accept: 'application/json', 'Accept-Encoding': 'gzip' };
      if (t.authorization !== undefined) headers['Authorization'] = t.authorization;
      const res = await fetch(new URL(path, t.base), { headers, signal: ac.signal, redirect: 'follow' });
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new Error(`HTTP ${res.status}`);
      }
      const txt = await res.text();
      try {
        return JSON.parse(txt) as unknown;
      } catch {
        throw new Error(`the answer is not JSON (${res.headers.get('content-type') ?? 'no content type'})`);
      }
    } catch (e) {
      if (ac.signal.aborted && !signal.aborted && ac.signal.reason instanceof Error) throw ac.signal.reason;
      throw e;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }
}
