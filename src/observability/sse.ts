import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '../errors/index.js';
import { redactSecrets } from './redact.js';
import type { Logger } from './logger.js';

export interface SseHubOptions {
  /**
   * Computes the current value (a JSON-able summary). Called by the hub's one producer, at most
   * once per `intervalMs`, and only while at least one client is connected. Must be cheap and
   * must not block; a throw is logged (once until it works again) and the tick skipped.
   */
  readonly produce: () => unknown;
  /** SSE `event:` name of every value sent. Default `status`. */
  readonly event?: string;
  /** Producer period, ms. Default 1000. */
  readonly intervalMs?: number;
  /** A comment line (`: hb`) to every client this often, ms, so proxies keep the stream. Default 15000. */
  readonly heartbeatMs?: number;
  /** Clients served at once; more get 503 with Retry-After. Default 16. */
  readonly maxClients?: number;
  /** A client whose unsent output exceeds this (it stopped reading) is dropped. Default 1 MiB. */
  readonly maxBufferedBytes?: number;
  /** The `retry:` hint (ms) sent to EventSource for its reconnects. Default 2000. */
  readonly retryMs?: number;
  readonly logger: Logger;
}

interface Client {
  readonly res: ServerResponse;
}

/**
 * Server-sent events from one shared producer to every connected client.
 *
 * Contract:
 * - One producer for all clients: `produce` runs at most once per `intervalMs` while anyone
 *   listens (never while no one does), whatever the number of clients; its value is serialised
 *   once (secrets redacted, redact.ts) and written to every client, and only when it differs
 *   from the last value sent, so an idle system sends only heartbeats.
 * - A new client gets the latest value at once (produced afresh when none is younger than
 *   `intervalMs`), then every change. Event ids count up per hub (`id:`).
 * - Bounded: at most `maxClients` (503 beyond), and a client that does not read is dropped once
 *   `maxBufferedBytes` wait for it. A closed connection is forgotten at once.
 * - `close()` (the admin server's abort) ends every stream and stops the timers; later attaches
 *   get 503. No timer keeps the process alive (unref).
 */
export class SseHub {
  private readonly o: SseHubOptions;
  private readonly clients = new Set<Client>();
  private tick: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private last: { readonly frame: string; readonly at: number } | undefined;
  private lastSent: string | undefined;
  private nextId = 1;
  private closed = false;
  private failing = false;
  /** Values produced (for tests and the page's diagnostics). */
  produced = 0;

  constructor(options: SseHubOptions) {
    this.o = options;
  }

  /** Clients connected now. */
  size(): number {
    return this.clients.size;
  }

  /** Serves one GET as an event stream until the client goes or the hub closes. */
  attach(req: IncomingMessage, res: ServerResponse): void {
    const max = this.o.maxClients ?? 16;
    if (this.closed || this.clients.size >= max) {
      const body = this.closed ? 'shutting down\n' : `too many event streams (at most ${max})\n`;
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '5', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Content-Type-Options': 'nosniff',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    const client: Client = { res };
    this.clients.add(client);
    const forget = (): void => this.drop(client);
    req.once('close', forget);
    res.once('close', forget);
    res.once('error', forget);
    this.write(client, `retry: ${this.o.retryMs ?? 2000}\n\n`);
    this.startTimers();
    const frame = this.last !== undefined && Date.now() - this.last.at < this.interval() ? this.last.frame : this.produceFrame();
    if (frame === undefined) return;
    // A value newer than the one the others have is a change: everyone gets it.
    if (frame !== this.lastSent) this.broadcast(frame);
    else this.write(client, frame);
  }

  /** Ends every stream, stops the timers, refuses new clients. */
  close(): void {
    this.closed = true;
    this.stopTimers();
    for (const c of [...this.clients]) {
      this.clients.delete(c);
      c.res.end();
    }
  }

  private interval(): number {
    return this.o.intervalMs ?? 1000;
  }

  private startTimers(): void {
    if (this.tick !== undefined) return;
    this.tick = setInterval(() => this.onTick(), this.interval());
    this.tick.unref();
    this.heartbeat = setInterval(() => this.broadcast(': hb\n\n'), this.o.heartbeatMs ?? 15_000);
    this.heartbeat.unref();
  }

  private stopTimers(): void {
    clearInterval(this.tick);
    clearInterval(this.heartbeat);
    this.tick = undefined;
    this.heartbeat = undefined;
  }

  private onTick(): void {
    if (this.clients.size === 0) {
      this.stopTimers();
      return;
    }
    const frame = this.produceFrame();
    if (frame !== undefined && frame !== this.lastSent) this.broadcast(frame);
  }

  /** Produces and serialises the current value; undefined when `produce` threw. */
  private produceFrame(): string | undefined {
    let data: string;
    try {
      data = redactSecrets(JSON.stringify(this.o.produce()) ?? 'null');
      this.produced++;
      this.failing = false;
    } catch (e) {
      if (!this.failing) this.o.logger.error({ err: e, code: ErrorCode.INTERNAL }, 'event stream: the summary could not be computed');
      this.failing = true;
      return undefined;
    }
    if (this.last !== undefined && this.last.frame.endsWith(`data: ${data}\n\n`)) {
      this.last = { frame: this.last.frame, at: Date.now() };
      return this.last.frame;
    }
    const frame = `event: ${this.o.event ?? 'status'}\nid: ${this.nextId++}\ndata: ${data}\n\n`;
    this.last = { frame, at: Date.now() };
    return frame;
  }

  private broadcast(frame: string): void {
    if (!frame.startsWith(':')) this.lastSent = frame;
    for (const c of [...this.clients]) this.write(c, frame);
  }

  private write(c: Client, frame: string): void {
    if (c.res.destroyed || c.res.writableEnded) {
      this.drop(c);
      return;
    }
    c.res.write(frame);
    if (c.res.writableLength > (this.o.maxBufferedBytes ?? 1 << 20)) {
      this.o.logger.warn({ buffered: c.res.writableLength }, 'event stream client does not read; dropped');
      this.drop(c);
      c.res.destroy();
    }
  }

  private drop(c: Client): void {
    this.clients.delete(c);
    if (this.clients.size === 0) this.stopTimers();
  }
}
