import { readFile } from 'node:fs/promises';
import { describeError, ErrorCode, MeshbridgeError } from '../../errors/index.js';
import type { Logger } from '../../observability/index.js';
import { registerSecret } from '../../observability/redact.js';
import { Backoff, type BackoffOptions } from '../../util/backoff.js';
import type { AdapterCommon } from '../kind.js';
import { ReportOnce } from '../report-once.js';
import { ServiceSetRegistry } from '../service-set.js';
import { readPemFiles } from '../shared/pem-files.js';
import { sleep } from '../shared/sleep.js';
import { whenAborted } from '../../util/abort.js';
import { HttpClient, redact, StreamNotOffered, unreachable } from './client.js';
import { HTTP_REGISTRY_KIND, mapCatalogue } from './mapping.js';
import { HttpMode, type HttpSourceConfig } from './spec.js';
import { SseParser, type SseEvent } from './sse.js';

/** Knobs that are not configuration (tests tune them). */
export interface HttpRegistryTuning {
  /** Retry backoff; default intervalMs doubling to 10 x intervalMs, with jitter. */
  readonly backoff?: BackoffOptions;
}

/** The resolved `http:` settings (spec.ts) plus the common adapter wiring. */
export type HttpRegistryOptions = AdapterCommon & HttpSourceConfig & HttpRegistryTuning;

/** What the adapter did, for tests and /debug. */
export interface HttpStats {
  /** GETs answered (any status). */
  requests: number;
  /** Of those, 304 Not Modified: nothing parsed. */
  notModified: number;
  /** Catalogue documents parsed and applied (from a GET or an event). */
  documents: number;
  /** Server-sent events received. */
  events: number;
}

/** A long poll answered faster than this without a change means the server does not hold requests. */
const HELD_MS = 1000;

/**
 * A home-grown registry that serves its catalogue as JSON over HTTP (docs/configuration.md,
 * "http"; docs/mapping.md, "http").
 *
 * - poll: a conditional GET (If-None-Match with the last ETag) every intervalMs; a 304 parses
 *   nothing and only records the sync.
 * - longPoll: the same GET with `Prefer: wait=<waitSeconds>`; after an answer the next request
 *   goes at once. A server that answers 304 at once (it does not hold requests) is asked every
 *   intervalMs instead, so a server without long polls is polled, never hammered.
 * - sse: an event stream (eventsUrl, default url with Accept: text/event-stream). Once it is
 *   open the catalogue is read with a GET (so nothing between connect and the first event is
 *   missed); then each `message` event carries the whole catalogue, and a `changed` event asks
 *   for a conditional GET. Other events are ignored. A stream that ran for a second or more and ends is reopened at once, quietly
 *   (servers and proxies rotate streams); one that fails to open is a failure, retried with
 *   backoff. While
 *   it is open a conditional GET every intervalMs catches what a silent stream would miss.
 *
 * - auto (the default): sse when `url` answers Accept: text/event-stream with an event stream,
 *   else (any other answer below 500) longPoll, which itself polls a server that does not hold.
 *
 * Contract: the constructor does no I/O. `start(signal)` reads the TLS files and the token file,
 * makes the first attempt and resolves after it (synced or failed); it follows until `signal`
 * aborts and then closes every socket and timer. A failure (unreachable, a non-200/304 status,
 * not JSON, `map.items` finding nothing) deletes nothing: the services are kept, stale, the
 * failure is reported once until it changes, and requests back off (src/util/backoff.ts). An
 * HTTP 401 re-reads the token file before the next request. Malformed entries are skipped with
 * MB_ENTRY_* problems (reported once per distinct problem while it persists); their neighbours
 * sync.
 */
export class HttpRegistry extends ServiceSetRegistry {
  private readonly o: HttpRegistryOptions;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private readonly once: ReportOnce;
  private readonly url: URL;
  private readonly stats_: HttpStats = { requests: 0, notModified: 0, documents: 0, events: 0 };
  private client: HttpClient | undefined;
  private etag: string | undefined;
  private token: string | undefined;
  private tokenStale = true;
  /** The code of the failure reported for the current outage (undefined while reachable). */
  private outageCode: string | undefined;
  private entryProblems = new Set<string>();

  constructor(options: HttpRegistryOptions) {
    super(options.name, HTTP_REGISTRY_KIND);
    this.o = options;
    this.url = new URL(options.url);
    this.log = options.logger.child({ registry: options.name, kind: HTTP_REGISTRY_KIND });
    this.backoff = new Backoff(options.backoff ?? { initialMs: options.intervalMs, maxMs: 10 * options.intervalMs });
    this.once = new ReportOnce((e) => options.context.report(e));
  }

  stats(): HttpStats {
    return { ...this.stats_ };
  }

  async start(signal: AbortSignal): Promise<void> {
    if (!this.claimStart(signal)) return;
    signal.addEventListener('abort', () => this.client?.close(), { once: true });
    await this.superviseUntilFirst(signal, (e) => this.o.context.report(e), (firstDone) =>
      this.o.mode === HttpMode.SSE || this.o.mode === HttpMode.AUTO ? this.followEvents(signal, firstDone) : this.poll(signal, firstDone, this.o.mode === HttpMode.LONG_POLL),
    );
  }

  private async poll(signal: AbortSignal, firstDone: () => void, long: boolean): Promise<void> {
    while (!signal.aborted) {
      const began = Date.now();
      const got = await this.read(signal, long ? this.o.waitSeconds : undefined);
      firstDone();
      let delay: number;
      if (got === 'failed') delay = this.backoff.next();
      else {
        this.backoff.reset();
        delay = !long ? this.o.intervalMs : got === 'changed' || Date.now() - began >= HELD_MS ? 0 : this.o.intervalMs;
      }
      if (delay > 0) await sleep(delay, signal);
    }
  }

  private async followEvents(signal: AbortSignal, firstDone: () => void): Promise<void> {
    const eventsUrl = new URL(this.o.eventsUrl ?? this.o.url);
    while (!signal.aborted) {
      // Events are applied one after the other, after the GET that follows the stream's opening.
      let queue: Promise<unknown> = Promise.resolve();
      const enqueue = (f: () => Promise<unknown>): void => {
        queue = queue.then(f);
      };
      const parser = new SseParser((e) => enqueue(() => this.onStreamEvent(e, signal)));
      // Ends the safety reads of this stream when it ends (or at shutdown).
      const open = new AbortController();
      const unlink = whenAborted(signal, () => open.abort());
      let openedAt: number | undefined;
      try {
        const client = await this.ready();
        await client.stream(
          eventsUrl,
          signal,
          () => {
            openedAt = Date.now();
            this.backoff.reset();
            enqueue(async () => {
              await this.read(signal, undefined);
              firstDone();
            });
            void this.safetyReads(open.signal, enqueue);
          },
          (text) => parser.push(text),
        );
      } catch (e) {
        open.abort();
        unlink();
        await queue;
        if (signal.aborted) return;
        if (this.o.mode === HttpMode.AUTO && e instanceof StreamNotOffered) {
          this.log.info({ url: redact(this.url), answer: e.reason }, 'http registry offers no event stream; long polling');
          return this.poll(signal, firstDone, true);
        }
        if (openedAt !== undefined && Date.now() - openedAt >= HELD_MS) {
          // A stream that ran a while and ended (a server or proxy rotating streams): reopen at
          // once, quietly; only a reopen that fails is a failure (reported, stale).
          this.log.debug({ url: redact(eventsUrl), openMs: Date.now() - openedAt, why: e instanceof Error ? e.message : String(e) }, 'event stream ended; reopening');
          continue;
        }
        const status = e instanceof MeshbridgeError ? (e.details as { status?: number } | undefined)?.status : undefined;
        if (status === 401 || status === 403) this.tokenStale = this.o.bearerTokenFile !== undefined;
        this.failed(e);
        firstDone();
      }
      await sleep(this.backoff.next(), signal);
    }
  }

  /**
   * While a stream is open: a conditional GET every intervalMs (a 304 costs nothing), so a stream
   * that went silent without closing (a half-open connection, a proxy) delays changes by at most
   * intervalMs, and a catalogue that is gone turns the registry stale.
   */
  private async safetyReads(open: AbortSignal, enqueue: (f: () => Promise<unknown>) => void): Promise<void> {
    while (!open.aborted) {
      await sleep(this.o.intervalMs, open);
      if (!open.aborted) enqueue(() => this.read(open, undefined));
    }
  }

  private async onStreamEvent(e: SseEvent, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    this.stats_.events++;
    if (e.type === 'changed') {
      await this.read(signal, undefined);
      return;
    }
    if (e.type !== 'message') return;
    try {
      this.apply(parseJson(e.data, `an event of ${redact(new URL(this.o.eventsUrl ?? this.o.url))}`));
      this.markSyncedNow();
      this.recovered();
    } catch (err) {
      this.failed(err);
    }
  }

  /** One (conditional) GET of the catalogue, applied; never throws. */
  private async read(signal: AbortSignal, waitSeconds: number | undefined): Promise<'changed' | 'same' | 'failed'> {
    try {
      const client = await this.ready();
      const ans = await client.get(this.url, {
        signal,
        timeoutMs: this.o.timeoutMs + (waitSeconds ?? 0) * 1000,
        etag: this.etag,
        ...(waitSeconds !== undefined ? { waitSeconds } : {}),
      });
      this.stats_.requests++;
      if (ans.status === 304 && this.etag !== undefined) {
        this.stats_.notModified++;
        this.markSyncedNow();
        this.recovered();
        return 'same';
      }
      if (ans.status === 401 || ans.status === 403) this.tokenStale = this.o.bearerTokenFile !== undefined;
      if (ans.status !== 200) throw unreachable(`GET ${redact(this.url)}: HTTP ${ans.status}`);
      this.apply(parseJson(ans.body, `GET ${redact(this.url)}`));
      this.etag = ans.etag;
      this.markSyncedNow();
      this.recovered();
      return 'changed';
    } catch (e) {
      if (signal.aborted) return 'failed';
      this.failed(e);
      return 'failed';
    }
  }

  /** Maps a document and replaces the services; throws (nothing applied) when it is refused. */
  private apply(doc: unknown): void {
    const { value, problems } = mapCatalogue(doc, { registry: this.name, source: redact(this.url), map: this.o.map, defaultProtocol: this.o.defaultProtocol });
    if (value === undefined) throw problems[0] ?? new MeshbridgeError(ErrorCode.SOURCE_PARSE, 'the catalogue was refused');
    this.stats_.documents++;
    const now = new Set<string>();
    for (const p of problems) {
      const key = `${p.code} ${p.path ?? ''}`;
      now.add(key);
      this.once.problem(key, p);
    }
    for (const key of this.entryProblems) if (!now.has(key)) this.once.clear(key);
    this.entryProblems = now;
    const first = !this.hasSynced();
    this.replaceAll(value);
    if (first) {
      const st = this.status();
      this.log.info({ url: redact(this.url), mode: this.o.mode, services: st.services, endpoints: st.endpoints, skipped: problems.length }, 'http registry synced');
    }
  }

  /** The client, built on first use (TLS files read here, never in the constructor), and a fresh token. */
  private async ready(): Promise<HttpClient> {
    if (this.tokenStale && this.o.bearerTokenFile !== undefined) {
      const file = this.o.bearerTokenFile;
      try {
        this.token = (await readFile(file, 'utf8')).trim();
      } catch (e) {
        throw new MeshbridgeError(ErrorCode.SOURCE_READ, `cannot read http.bearerTokenFile: ${describeError(e)}`, { path: file, cause: e });
      }
      registerSecret(this.token);
      this.tokenStale = false;
    }
    if (this.client === undefined) {
      const t = this.o.tls;
      const pem = t !== undefined ? await readPemFiles(t, 'http.tls') : undefined;
      this.client = new HttpClient({
        tls: t === undefined ? undefined : { ...pem, ...(t.serverName !== undefined ? { serverName: t.serverName } : {}), ...(t.insecureSkipVerify !== undefined ? { insecureSkipVerify: t.insecureSkipVerify } : {}) },
        headers: this.o.headers,
        token: () => this.token ?? this.o.bearerToken,
      });
    }
    return this.client;
  }

  private recovered(): void {
    this.outageCode = undefined;
    if (this.sourceRecovered()) this.log.info({ url: redact(this.url) }, 'http registry reachable again');
  }

  /**
   * One report per outage and code: in SSE mode the event stream and the catalogue GET fail
   * side by side with different texts (a hang-up, a refused reconnect); the first is reported,
   * the rest only logged at debug, until the registry is reachable again.
   */
  private failed(e: unknown): void {
    const error = e instanceof MeshbridgeError ? e : unreachable(`http registry: ${describeError(e)}`, e);
    if (this.outageCode === error.code && !this.status().connected) {
      this.log.debug({ code: error.code, url: redact(this.url) }, error.message);
      return;
    }
    this.outageCode = error.code;
    this.sourceFailed(
      new MeshbridgeError(error.code, error.reason, { cause: error, details: { registry: this.name }, ...(error.path !== undefined ? { path: error.path } : {}) }),
      (x) => this.o.context.report(x),
    );
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new MeshbridgeError(ErrorCode.SOURCE_PARSE, `${what}: the answer is not JSON (${describeError(e)}); the last good state is kept`);
  }
}
