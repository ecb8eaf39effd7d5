import http from 'node:http';
import https from 'node:https';
import { whenAborted } from '../../util/abort.js';
import { ErrorCode, MeshbridgeError, describeError } from '../../errors/index.js';

/** TLS material as PEM text (read from files by the registry at start, never in a constructor). */
export interface ConsulTlsMaterial {
  readonly ca?: string | Buffer;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /** SNI and certificate host name check; default: the address's host. */
  readonly serverName?: string;
  /** Skip verification of the server certificate (tests only). */
  readonly insecureSkipVerify?: boolean;
}

export interface ConsulHttpOptions {
  /** `http://host:port` or `https://host:port` (a path prefix is kept). */
  readonly address: string;
  readonly tls?: ConsulTlsMaterial;
  /** Sockets the agent keeps open at most; every blocking watch holds one while it waits. */
  readonly maxSockets: number;
  /** Current ACL token, asked for each request (a token file can change under us). */
  readonly token: () => string | undefined;
}

export interface ConsulResponse {
  readonly status: number;
  /** X-Consul-Index, when the answer carried a valid one. */
  readonly index: number | undefined;
  readonly body: string;
}

/**
 * What the Consul adapter uses of ConsulHttp, exactly: the seam its fast unit tests fake
 * (ConsulRegistryTuning.connect). The contract is ConsulHttp's, below.
 */
export interface ConsulHttpLike {
  /** The URL of an API path (`v1/...`) with query parameters (undefined values left out). */
  url(path: string, query: Readonly<Record<string, string | undefined>>): URL;
  get(url: URL, options: { readonly signal: AbortSignal; readonly timeoutMs: number }): Promise<ConsulResponse>;
  close(): void;
}

/** A request that failed below HTTP (refused, reset, timed out) or was aborted. */
export class ConsulTransportError extends MeshbridgeError {
  constructor(message: string, cause: unknown) {
    super(ErrorCode.REGISTRY_UNREACHABLE, message, { cause });
  }
}

/**
 * Consul's HTTP API over node:http/https with one keep-alive agent.
 *
 * Why not fetch: Node 20's fetch (undici) takes TLS options (CA, client certificate) only through
 * an undici `dispatcher`, and undici is not importable from Node core without the npm package.
 * node:https with a keep-alive Agent gives the same connection reuse plus TLS options.
 *
 * Contract: `get` resolves with any HTTP status (the caller decides), rejects with
 * ConsulTransportError on transport failures and timeouts, and with the signal's reason when
 * aborted (the socket is destroyed). `close()` destroys every pooled socket.
 */
export class ConsulHttp implements ConsulHttpLike {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly o: ConsulHttpOptions;

  constructor(options: ConsulHttpOptions) {
    this.o = options;
    this.base = new URL(options.address.endsWith('/') ? options.address : `${options.address}/`);
    const common = { keepAlive: true, keepAliveMsecs: 30_000, maxSockets: options.maxSockets, maxFreeSockets: options.maxSockets, scheduling: 'lifo' as const };
    const tls = options.tls;
    this.agent =
      this.base.protocol === 'https:'
        ? new https.Agent({
            ...common,
            ...(tls?.ca !== undefined ? { ca: tls.ca } : {}),
            ...(tls?.cert !== undefined ? { cert: tls.cert } : {}),
            ...(tls?.key !== undefined ? { key: tls.key } : {}),
            ...(tls?.serverName !== undefined ? { servername: tls.serverName } : {}),
            rejectUnauthorized: tls?.insecureSkipVerify !== true,
          })
        : new http.Agent(common);
  }

  /** The URL of an API path (`v1/...`) with query parameters (undefined values left out). */
  url(path: string, query: Readonly<Record<string, string | undefined>>): URL {
    const u = new URL(path, this.base);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, v);
    return u;
  }

  get(url: URL, options: { readonly signal: AbortSignal; readonly timeoutMs: number }): Promise<ConsulResponse> {
    const { signal, timeoutMs } = options;
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    const token = this.o.token();
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token !== undefined && token.length > 0) headers['x-consul-token'] = token;
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise<ConsulResponse>((resolve, reject) => {
      let done = false;
      const finish = (err: Error | undefined, res?: ConsulResponse): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        unsubscribe();
        if (err !== undefined) reject(err);
        else if (res !== undefined) resolve(res);
      };
      const req = mod.request(url, { method: 'GET', headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = res.headers['x-consul-index'];
          const n = typeof raw === 'string' && /^[0-9]+$/.test(raw) ? Number(raw) : undefined;
          finish(undefined, { status: res.statusCode ?? 0, index: n !== undefined && Number.isSafeInteger(n) ? n : undefined, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (e) => finish(new ConsulTransportError(`GET ${redact(url)}: ${describeError(e)}`, e)));
      });
      const onAbort = (): void => {
        req.destroy();
        finish(signal.reason as Error);
      };
      const timer = setTimeout(() => {
        req.destroy();
        finish(new ConsulTransportError(`GET ${redact(url)}: no answer within ${timeoutMs} ms`, undefined));
      }, timeoutMs);
      const unsubscribe = whenAborted(signal, onAbort);
      req.on('error', (e) => finish(new ConsulTransportError(`GET ${redact(url)}: ${describeError(e)}`, e)));
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The URL for messages: path and query only (never credentials). */
function redact(u: URL): string {
  return `${u.pathname}${u.search}`;
}
