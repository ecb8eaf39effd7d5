import { Etcd3, type IOptions, type IWatchResponse, type IKeyValue } from 'etcd3';

/**
 * The etcd client as the adapter needs it: a paginated, revision-pinned listing of one prefix and
 * one watch stream from a given revision. This module is the only importer of `etcd3`; it uses
 * the library's raw KV and Watch RPCs (not its Watcher, which moves its resume revision to the
 * header of the watch-created response and would skip events after a reconnect).
 */

export interface EtcdClientOptions {
  /** `host:port`, `http://host:port` or `https://host:port`. */
  readonly endpoints: readonly string[];
  /** PEM contents; when set the connection uses TLS (client certificate when cert and key are set). */
  readonly tls?: { readonly ca: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
  readonly auth?: { readonly username: string; readonly password: string };
  /** Deadline of each unary call and of the watch's creation. */
  readonly requestTimeoutMs: number;
  /** HTTP/2 keepalive ping interval on the connection (dead peers are found without traffic). */
  readonly keepaliveMs: number;
  /** Cap of gRPC's own reconnect backoff (its default, 120 s, would delay recovery). */
  readonly reconnectMaxMs: number;
}

export interface KeyValue {
  readonly key: string;
  readonly value: Uint8Array;
  readonly modRevision: number;
}

export type WatchEvent =
  | { readonly type: 'put'; readonly kv: KeyValue }
  | { readonly type: 'delete'; readonly key: string; readonly modRevision: number };

export interface ListResult {
  /** The store revision the whole listing reflects. */
  readonly revision: number;
  readonly kvs: readonly KeyValue[];
}

/** The watch's start revision is compacted: the caller must list again. */
export class CompactedError extends Error {
  constructor(readonly compactRevision: number) {
    super(`revision ${compactRevision} and older are compacted`);
  }
}

export interface WatchHandlers {
  /** The server accepted the watch: from here on, every change after `startRevision - 1` arrives. */
  onCreated(): void;
  /** Events in revision order, one response at a time. */
  onEvents(events: readonly WatchEvent[]): void;
  /** Everything up to `revision` has been delivered (a progress notification). */
  onProgress(revision: number): void;
}

/**
 * What the etcd adapter uses of EtcdClient, exactly: the seam its fast unit tests fake
 * (EtcdRegistryTuning.connect). The contract of each method is EtcdClient's, below.
 */
export interface EtcdClientLike {
  /** Every key below `prefix`, in pages of `pageSize`; `onPage` gets the keys read so far after each page. */
  list(prefix: string, pageSize: number, onPage?: (keys: number) => void): Promise<ListResult>;
  probe(prefix: string): Promise<number>;
  watch(prefix: string, startRevision: number, handlers: WatchHandlers, signal: AbortSignal): Promise<void>;
  close(): void;
}

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/**
 * A fault policy that runs the call once: the adapter retries with its own backoff, so the
 * library's default retries and circuit breaker (which holds calls back for 5 s after three
 * failures) are replaced. Only `execute` is called by etcd3; the events are never fired.
 */
function runOnce(): Policy {
  const noEvent = () => ({ dispose: () => undefined });
  const policy = {
    onSuccess: noEvent,
    onFailure: noEvent,
    execute: async <T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> =>
      fn({ signal: signal ?? new AbortController().signal }),
  };
  return policy as unknown as Policy; // `_altReturn` is a type-only member
}

function toNumber(revision: string | number | undefined): number {
  const n = Number(revision ?? 0);
  return Number.isSafeInteger(n) ? n : 0;
}

/** The end of the key range `[prefix, end)` that holds every key starting with `prefix`. */
export function prefixRangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] ?? 0xff) < 0xff) {
      end[i] = (end[i] ?? 0) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // all 0xff: to the end of the keyspace
}

function keyValue(kv: IKeyValue): KeyValue {
  return { key: kv.key.toString('utf8'), value: kv.value, modRevision: toNumber(kv.mod_revision) };
}

export class EtcdClient implements EtcdClientLike {
  private readonly client: Etcd3;
  private readonly timeoutMs: number;

  /** No I/O: etcd3 connects on the first call. */
  constructor(o: EtcdClientOptions) {
    this.timeoutMs = o.requestTimeoutMs;
    // One scheme for all (etcd3 refuses a mix): TLS when configured or any endpoint says https://.
    const secure = o.tls !== undefined || o.endpoints.some((e) => e.startsWith('https://'));
    const hosts = o.endpoints.map((e) => e.replace(/^https?:\/\//, '')).map((h) => (secure ? `https://${h}` : h));
    const options: IOptions = {
      hosts,
      grpcOptions: {
        'grpc.keepalive_time_ms': o.keepaliveMs,
        'grpc.keepalive_timeout_ms': Math.max(1000, Math.min(o.keepaliveMs, o.requestTimeoutMs)),
        'grpc.max_receive_message_length': 64 * 1024 * 1024,
        'grpc.initial_reconnect_backoff_ms': Math.min(1000, o.reconnectMaxMs),
        'grpc.max_reconnect_backoff_ms': o.reconnectMaxMs,
        // Fresh subchannels per client: a shared one may still be in a long reconnect backoff.
        'grpc.use_local_subchannel_pool': 1,
      },
      faultHandling: { global: runOnce(), host: () => runOnce() },
      ...(o.tls !== undefined
        ? { credentials: { rootCertificate: o.tls.ca, ...(o.tls.key !== undefined ? { privateKey: o.tls.key } : {}), ...(o.tls.cert !== undefined ? { certChain: o.tls.cert } : {}) } }
        : {}),
      ...(o.auth !== undefined ? { auth: { username: o.auth.username, password: o.auth.password } } : {}),
    };
    this.client = new Etcd3(options);
  }

  private deadline(): { deadline: Date } {
    return { deadline: new Date(Date.now() + this.timeoutMs) };
  }

  /**
   * Lists every key below `prefix` at one revision (linearizable), in pages of `pageSize`: the
   * first page fixes the revision, later pages read at it.
   */
  async list(prefix: string, pageSize: number, onPage?: (keys: number) => void): Promise<ListResult> {
    const start = Buffer.from(prefix, 'utf8');
    const end = prefixRangeEnd(start);
    const kvs: KeyValue[] = [];
    let revision = 0;
    let from = start;
    for (;;) {
      const res = await this.client.kv.range(
        { key: from, range_end: end, limit: pageSize, ...(revision > 0 ? { revision } : {}) },
        this.deadline(),
      );
      if (revision === 0) revision = toNumber(res.header.revision);
      for (const kv of res.kvs) kvs.push(keyValue(kv));
      onPage?.(kvs.length);
      const last = res.kvs[res.kvs.length - 1];
      if (!res.more || last === undefined) return { revision, kvs };
      from = Buffer.concat([last.key, Buffer.from([0])]);
    }
  }

  /**
   * A cheap linearizable read (the count of keys below `prefix`): checks the connection and
   * refreshes an expired auth token before a watch is re-opened. Resolves with the revision.
   */
  async probe(prefix: string): Promise<number> {
    const start = Buffer.from(prefix, 'utf8');
    const res = await this.client.kv.range({ key: start, range_end: prefixRangeEnd(start), count_only: true }, this.deadline());
    return toNumber(res.header.revision);
  }

  /**
   * Watches every key below `prefix` from `startRevision` (inclusive) until the stream fails or
   * `signal` aborts. Resolves on abort; rejects with CompactedError when `startRevision` is
   * compacted, else with the stream's error (also when the watch is not created in time).
   */
  async watch(prefix: string, startRevision: number, handlers: WatchHandlers, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const start = Buffer.from(prefix, 'utf8');
    const stream = await this.client.watchClient.watch();
    if (signal.aborted) {
      stream.cancel(); // aborted while the stream was being opened: the listener below would never fire
      return;
    }
    await new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (err?: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(createTimer);
        signal.removeEventListener('abort', onAbort);
        stream.cancel();
        if (err === undefined) resolve();
        else reject(err);
      };
      const onAbort = (): void => finish();
      signal.addEventListener('abort', onAbort, { once: true });
      const createTimer = setTimeout(() => finish(new Error(`the watch was not created within ${this.timeoutMs} ms`)), this.timeoutMs);
      stream.on('data', (res: IWatchResponse) => {
        if (done) return;
        try {
          this.dispatch(res, handlers, () => clearTimeout(createTimer));
        } catch (e) {
          finish(e instanceof Error ? e : new Error(String(e)));
        }
      });
      stream.on('error', (err: Error) => finish(err));
      stream.on('end', () => finish(new Error('the watch stream ended')));
      stream.write({ create_request: { key: start, range_end: prefixRangeEnd(start), start_revision: startRevision, progress_notify: true } });
    });
  }

  private dispatch(res: IWatchResponse, handlers: WatchHandlers, created: () => void): void {
    const compactRevision = toNumber(res.compact_revision);
    if (res.canceled) {
      if (compactRevision > 0) throw new CompactedError(compactRevision);
      throw new Error(`etcd cancelled the watch: ${res.cancel_reason || 'no reason given'}`);
    }
    if (res.created) {
      created();
      handlers.onCreated();
    }
    if (res.events.length > 0) {
      handlers.onEvents(
        res.events.map((ev): WatchEvent =>
          ev.type === 'Delete'
            ? { type: 'delete', key: ev.kv.key.toString('utf8'), modRevision: toNumber(ev.kv.mod_revision) }
            : { type: 'put', kv: keyValue(ev.kv) },
        ),
      );
    } else if (!res.created) {
      handlers.onProgress(toNumber(res.header.revision));
    }
  }

  /** Closes every connection; the client cannot be used afterwards. */
  close(): void {
    this.client.close();
  }
}
