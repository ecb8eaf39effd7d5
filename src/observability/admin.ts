import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ErrorCode, MeshbridgeError, describeError } from '../errors/index.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { errorBody, json, parseListenAddress, send, text, type Reply } from './admin-http.js';
import type { SseHub } from './sse.js';
import { STATUS_ASSETS } from './status-page/index.js';

export interface Readiness {
  readonly ready: boolean;
  /** Why not ready (or, when ready, anything worth knowing); one human-readable line each. */
  readonly reasons: readonly string[];
  /**
   * What does not block readiness but an operator should know (a registry serving its last known
   * services while unreachable, a guard holding deletions): listed by `/readyz?verbose`.
   */
  readonly notes?: readonly string[];
}

export interface AdminServerOptions {
  /** `host:port`, `[v6]:port` or `:port`; port 0 picks a free port (see `port()`). */
  readonly address: string;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Called on every /readyz request; must be cheap and must not block. */
  readonly readiness: () => Readiness;
  /**
   * /debug/<name> pages. Each function is called per request with the query and returns a
   * JSON-able value (or a promise of one); Maps, Sets and bigints are converted. A throwing page
   * gives a 500 (MeshbridgeError ADMIN_BAD_REQUEST: a 400).
   */
  readonly pages: ReadonlyMap<string, (query: URLSearchParams) => unknown>;
  /**
   * GET /debug/events: server-sent events (the status page's live updates). Closed when the
   * server's signal aborts. Undefined: no event stream (404).
   */
  readonly events?: SseHub | undefined;
  /**
   * POST /debug/<name> operator actions (e.g. `release`). Each gets the query and returns the
   * HTTP status and a JSON-able body; it throws MeshbridgeError ADMIN_BAD_REQUEST (-> 400) for a
   * bad query.
   */
  readonly actions?: ReadonlyMap<string, (query: URLSearchParams) => { readonly status: number; readonly body: unknown }>;
  /** After abort: how long in-flight requests get before their sockets are destroyed. Default 2 s. */
  readonly shutdownGraceMs?: number;
}

const ALLOW = 'GET, HEAD';

/**
 * The admin HTTP server: /healthz, /readyz, /metrics, /debug, /debug/<page>, /debug/events, and
 * the status page at / (with /status.js and /status.css; status-page/).
 *
 * Contract:
 * - Build, then start: the constructor does no I/O. `start(signal)` resolves once listening and
 *   rejects with MeshbridgeError ADMIN_LISTEN when it cannot listen.
 * - Aborting `signal` stops accepting connections, closes idle keep-alive sockets at once and
 *   destroys the rest after `shutdownGraceMs`; `closed()` resolves when the server is down.
 * - Only GET and HEAD are served (405 otherwise, with `Allow`), except POST to an action
 *   (/debug/<action>); unknown paths give 404. The admin address is loopback by default: actions
 *   are for an operator on the pod (kubectl port-forward / exec), never for the network. The
 *   status page only reads (GET): it shows the release command, it does not post it.
 * - Every reply carries X-Content-Type-Options: nosniff; the status page a strict
 *   Content-Security-Policy (scripts and styles only from this origin, no inline script, no
 *   connection elsewhere, no framing).
 * - A failing page or metrics collection gives a 500 with a coded JSON error and is logged; no
 *   request can crash the process.
 */
export class AdminServer {
  private readonly o: AdminServerOptions;
  private server: Server | undefined;
  private closedPromise: Promise<void> = Promise.resolve();

  constructor(options: AdminServerOptions) {
    this.o = options;
  }

  async start(signal: AbortSignal): Promise<void> {
    if (this.server !== undefined) throw new MeshbridgeError(ErrorCode.INTERNAL, 'AdminServer.start called twice');
    const { host, port } = parseListenAddress(this.o.address);
    if (signal.aborted) return;
    const server = createServer((req, res) => this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => {
        this.server = undefined;
        reject(new MeshbridgeError(ErrorCode.ADMIN_LISTEN, `admin server cannot listen on ${this.o.address}: ${describeError(e)}`, { cause: e, path: 'admin.address' }));
      };
      server.once('error', onError);
      server.listen({ host, port }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (e) => this.o.logger.error({ err: e, code: ErrorCode.INTERNAL }, 'admin server error'));
    this.closedPromise = new Promise((resolve) => server.once('close', () => resolve()));
    this.o.logger.info({ address: this.o.address, port: this.port() }, 'admin server listening');
    const stop = (): void => this.stop(server);
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  }

  /** The port listened on (useful with port 0). Throws before `start` resolved. */
  port(): number {
    const addr = this.server?.address();
    if (addr === null || addr === undefined || typeof addr === 'string') {
      throw new MeshbridgeError(ErrorCode.INTERNAL, 'admin server is not listening');
    }
    return addr.port;
  }

  /** Resolves once the server has closed after abort (at once if it never listened). */
  closed(): Promise<void> {
    return this.closedPromise;
  }

  private stop(server: Server): void {
    this.o.events?.close(); // event streams are never idle: end them, or close() would wait for the grace
    server.close();
    server.closeIdleConnections();
    const t = setTimeout(() => server.closeAllConnections(), this.o.shutdownGraceMs ?? 2000);
    t.unref();
    server.once('close', () => clearTimeout(t));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const head = req.method === 'HEAD';
    if (this.o.events !== undefined && req.method === 'GET' && (req.url ?? '').split('?')[0] === '/debug/events') {
      this.o.events.attach(req, res);
      return;
    }
    this.route(req)
      .then((reply) => send(res, reply, head))
      .catch((e: unknown) => {
        this.o.logger.error({ err: e, url: req.url, code: e instanceof MeshbridgeError ? e.code : ErrorCode.INTERNAL }, 'admin request failed');
        if (res.headersSent) res.destroy();
        else send(res, json(500, errorBody(e)), head);
      });
  }

  /** Resolves to the reply; rejects when a page or the metrics collection fails. */
  private async route(req: IncomingMessage): Promise<Reply> {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    const action = path.startsWith('/debug/') ? this.o.actions?.get(path.slice('/debug/'.length)) : undefined;
    if (action !== undefined) {
      if (req.method !== 'POST') return text(405, `405 method not allowed: ${req.method ?? ''} (use POST)\n`, { Allow: 'POST' });
      try {
        const r = action(query);
        return json(r.status, r.body, true);
      } catch (e) {
        if (e instanceof MeshbridgeError && e.code === ErrorCode.ADMIN_BAD_REQUEST) return json(400, errorBody(e), true);
        throw e;
      }
    }
    const handler = this.find(path);
    if (handler === undefined) return text(404, `404 not found: ${path}\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return text(405, `405 method not allowed: ${req.method ?? ''}\n`, { Allow: ALLOW });
    }
    return handler(query);
  }

  private find(path: string): ((query: URLSearchParams) => Promise<Reply> | Reply) | undefined {
    const asset = STATUS_ASSETS.get(path);
    if (asset !== undefined) return () => asset;
    switch (path) {
      case '/debug/events':
        // GET is served by handle() (a stream); HEAD tells what GET would be.
        return this.o.events === undefined ? undefined : () => ({ status: 200, contentType: 'text/event-stream; charset=utf-8', body: '' });
      case '/healthz':
        return () => text(200, 'ok\n');
      case '/readyz':
        return (q) => this.readyz(q);
      case '/metrics':
        return () => this.metrics();
      case '/debug':
      case '/debug/':
        return (q) => json(200, this.index(), pretty(q));
    }
    if (!path.startsWith('/debug/')) return undefined;
    let name: string;
    try {
      name = decodeURIComponent(path.slice('/debug/'.length));
    } catch {
      return undefined;
    }
    const page = this.o.pages.get(name);
    if (page === undefined) return undefined;
    return async (q) => {
      try {
        return json(200, await page(q), pretty(q));
      } catch (e) {
        if (e instanceof MeshbridgeError && e.code === ErrorCode.ADMIN_BAD_REQUEST) return json(400, errorBody(e), pretty(q));
        throw e;
      }
    };
  }

  private readyz(query: URLSearchParams): Reply {
    const { ready, reasons, notes = [] } = this.o.readiness();
    const verbose = flag(query, 'verbose');
    const lines = [ready ? 'ok' : 'not ready'];
    if (!ready || verbose) for (const r of reasons) lines.push(`- ${r}`);
    if (verbose) for (const n of notes) lines.push(`- note: ${n}`);
    return text(ready ? 200 : 503, `${lines.join('\n')}\n`);
  }

  private async metrics(): Promise<Reply> {
    const body = await this.o.metrics.registry.metrics();
    return { status: 200, contentType: this.o.metrics.registry.contentType, body };
  }

  private index(): { pages: { name: string; path: string }[]; statusPage: string; events?: string } {
    const names = [...this.o.pages.keys()].sort();
    return {
      pages: names.map((name) => ({ name, path: `/debug/${encodeURIComponent(name)}` })),
      statusPage: '/',
      ...(this.o.events !== undefined ? { events: '/debug/events' } : {}),
    };
  }
}

/** `?name`, `?name=1`, `?name=true` are on; `?name=0`, `?name=false` and absence are off. */
function flag(query: URLSearchParams, name: string): boolean {
  const v = query.get(name);
  return v !== null && v !== '0' && v.toLowerCase() !== 'false';
}

/** Pretty unless `?pretty=0` / `?pretty=false`. */
function pretty(query: URLSearchParams): boolean {
  return !query.has('pretty') || flag(query, 'pretty') || query.get('pretty') === '';
}
