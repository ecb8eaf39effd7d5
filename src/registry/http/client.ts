import http from 'node:http';
import https from 'node:https';
import { whenAborted } from '../../util/abort.js';
import { ErrorCode, MeshbridgeError, describeError } from '../../errors/index.js';
import type { PemMaterial } from '../shared/pem-files.js';

export interface HttpClientOptions {
  readonly tls: (PemMaterial & { readonly serverName?: string; readonly insecureSkipVerify?: boolean }) | undefined;
  /** Extra headers of every request. */
  readonly headers: Readonly<Record<string, string>>;
  /** The current bearer token, asked for each request (a token file may be re-read). */
  readonly token: () => string | undefined;
}

export interface CatalogueAnswer {
  readonly status: number;
  readonly etag: string | undefined;
  readonly body: string;
}

/** A request that failed below HTTP (refused, reset, timed out). */
export function unreachable(message: string, cause?: unknown): MeshbridgeError {
  return new MeshbridgeError(ErrorCode.REGISTRY_UNREACHABLE, message, cause !== undefined ? { cause } : {});
}

/** Answers that mean "no event stream here" (not found, method or media type not accepted). */
const NOT_OFFERED: ReadonlySet<number> = new Set([404, 405, 406, 415, 501]);

/** The URL answered, but not with an event stream: it offers none (mode auto then long-polls). */
export class StreamNotOffered extends MeshbridgeError {
  constructor(message: string) {
    super(ErrorCode.REGISTRY_UNREACHABLE, message);
  }
}

/** The URL for messages: origin-less path and query, never credentials. */
export function redact(u: URL): string {
  return `${u.pathname}${u.search}`;
}

/**
 * GETs over node:http/https with one keep-alive agent (node:https takes the CA and client
 * certificate directly; Node 20's fetch would need undici's dispatcher for them).
 *
 * Contract: `get` resolves with any HTTP status (the caller decides), rejects with
 * MB_REGISTRY_UNREACHABLE on transport failures and timeouts and with the signal's reason when
 * aborted (the socket is destroyed). `stream` follows a 200 text/event-stream answer and
 * rejects when it ends, like `get` on failures, and on any other answer. `close()` destroys every
 * pooled socket. The constructor does no I/O (the TLS material is read by the caller first).
 */
export class HttpClient {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  private readonly httpsAgent: https.Agent;

  constructor(private readonly o: HttpClientOptions) {
    const tls = o.tls;
    this.httpsAgent = new https.Agent({
      keepAlive: true,
      maxSockets: 4,
      ...(tls?.ca !== undefined ? { ca: tls.ca } : {}),
      ...(tls?.cert !== undefined ? { cert: tls.cert } : {}),
      ...(tls?.key !== undefined ? { key: tls.key } : {}),
      ...(tls?.serverName !== undefined ? { servername: tls.serverName } : {}),
      rejectUnauthorized: tls?.insecureSkipVerify !== true,
    });
  }

  get(url: URL, options: { readonly signal: AbortSignal; readonly timeoutMs: number; readonly etag?: string | undefined; readonly waitSeconds?: number }): Promise<CatalogueAnswer> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.etag !== undefined) headers['if-none-match'] = options.etag;
    if (options.waitSeconds !== undefined) headers['prefer'] = `wait=${options.waitSeconds}`;
    return new Promise<CatalogueAnswer>((resolve, reject) => {
      this.request(url, headers, options.signal, options.timeoutMs, reject, (res, finish) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const etag = res.headers.etag;
          finish();
          resolve({ status: res.statusCode ?? 0, etag: typeof etag === 'string' && etag !== '' ? etag : undefined, body: Buffer.concat(chunks).toString('utf8') });
        });
      });
    });
  }

  /**
   * Follows an event stream: `onOpen` once the server accepted it, then every chunk of text.
   * Never resolves: it rejects when the stream ends, fails or `signal` aborts.
   */
  stream(url: URL, signal: AbortSignal, onOpen: () => void, onText: (text: string) => void): Promise<never> {
    return new Promise<never>((_resolve, reject) => {
      this.request(url, { accept: 'text/event-stream', 'cache-control': 'no-cache' }, signal, undefined, reject, (res, finish) => {
        const type = String(res.headers['content-type'] ?? '');
        if (res.statusCode !== 200 || !type.startsWith('text/event-stream')) {
          res.resume();
          finish();
          const what = `GET ${redact(url)} for events: HTTP ${res.statusCode ?? 0} ${type || 'no content type'} (expected 200 text/event-stream)`;
          const status = res.statusCode ?? 0;
          if ((status === 200 || NOT_OFFERED.has(status)) && status !== 0) reject(new StreamNotOffered(what));
          else reject(new MeshbridgeError(ErrorCode.REGISTRY_UNREACHABLE, what, { details: { status } }));
          return;
        }
        res.setEncoding('utf8');
        onOpen();
        res.on('data', (t: string) => onText(t));
        res.on('end', () => {
          finish();
          reject(unreachable(`the event stream ${redact(url)} ended`));
        });
      });
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private request(
    url: URL,
    base: Record<string, string>,
    signal: AbortSignal,
    timeoutMs: number | undefined,
    reject: (e: Error) => void,
    onResponse: (res: http.IncomingMessage, finish: () => void) => void,
  ): void {
    if (signal.aborted) return reject(signal.reason as Error);
    const headers: Record<string, string> = { ...this.o.headers, ...base };
    const token = this.o.token();
    if (token !== undefined && token !== '') headers['authorization'] = `Bearer ${token}`;
    const https_ = url.protocol === 'https:';
    let done = false;
    const finish = (): void => {
      done = true;
      clearTimeout(timer);
      unsubscribe();
    };
    const fail = (e: Error): void => {
      if (done) return;
      finish();
      reject(e);
    };
    let answered = false;
    const req = (https_ ? https : http).request(url, { method: 'GET', headers, agent: https_ ? this.httpsAgent : this.httpAgent }, (res) => {
      answered = true;
      res.on('error', (e) => fail(unreachable(`GET ${redact(url)}: ${describeError(e)}`, e)));
      res.on('close', () => fail(unreachable(`GET ${redact(url)}: the answer was cut off`)));
      if (done) res.resume();
      else onResponse(res, () => (done ? undefined : finish()));
    });
    req.on('socket', (s) => s.setKeepAlive(true, 15_000));
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            req.destroy();
            fail(unreachable(`GET ${redact(url)}: no answer within ${timeoutMs} ms`));
          }, timeoutMs);
    const unsubscribe = whenAborted(signal, () => {
      req.destroy();
      fail(signal.reason as Error);
    });
    req.on('error', (e) => fail(unreachable(answered ? `GET ${redact(url)}: the answer was cut off` : `GET ${redact(url)}: ${describeError(e)}`, e)));
    req.end();
  }
}
