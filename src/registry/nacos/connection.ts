import { Client, Metadata, credentials, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { PayloadError, decodePayload, encodePayload, type NacosMessage } from './wire.js';

/** What is written to the server: a request or a response to one of its pushes. */
interface Outgoing {
  readonly type: string;
  readonly body: object;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ConnectionOptions {
  /** host:port of the server's gRPC port (HTTP port + 1000 by default). */
  readonly target: string;
  /** Sent in ConnectionSetupRequest (the server shows it in its connection list). */
  readonly clientVersion: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly abilities: Readonly<Record<string, boolean>>;
  /** Deadline of one unary request (default 3000 ms). */
  readonly requestTimeoutMs?: number;
  /** A HealthCheckRequest is sent when nothing was received for this long (default 5000 ms). */
  readonly idleHealthCheckMs?: number;
  /** Headers put on every request (the access token); called per request. */
  headers(): Readonly<Record<string, string>>;
  /**
   * A request the server pushed on the stream (NotifySubscriberRequest, fuzzy watch pushes).
   * Called synchronously; the push is acknowledged after the handler returns, even if it threw.
   */
  onPush(message: NacosMessage): void;
  /** The connection ended (stream error/end, failed health check, ConnectResetRequest). Once. */
  onClosed(reason: Error): void;
  /** Counts every request sent (unary and stream writes of requests), by type. */
  onRequestSent?(type: string): void;
}

/**
 * What the Nacos adapter uses of NacosConnection, exactly: the seam its fast unit tests fake
 * (NacosRegistryTuning.connect). The contract is NacosConnection's, below; a fake delivers
 * pushes and the end of the connection through the ConnectionOptions it was built with.
 */
export interface NacosConnectionLike {
  open(): Promise<void>;
  request(type: string, body: object): Promise<Record<string, unknown>>;
  close(): void;
}

/** A Nacos response with resultCode != 200. `errorCode` 301: connection unregistered; 403: auth. */
export class NacosRequestError extends Error {
  constructor(
    readonly type: string,
    readonly errorCode: number,
    message: string,
  ) {
    super(`${type}: error ${errorCode}: ${message}`);
  }
}

/** The server asked the client to reconnect (optionally to another server: `serverIp:serverPort`). */
export class ConnectResetError extends Error {
  constructor(readonly server: string | undefined) {
    super(`server asked for a reconnect${server !== undefined ? ` to ${server}` : ''} (ConnectResetRequest)`);
  }
}

/** Server pushes that only need an acknowledgement from the connection itself. */
const ACK_ONLY = new Set(['ClientDetectionRequest', 'SetupAckRequest']);
/** Pushes handed to `onPush` and acknowledged with the matching Response. */
const PUSHES = new Set(['NotifySubscriberRequest', 'NamingFuzzyWatchSyncRequest', 'NamingFuzzyWatchChangeNotifyRequest']);

const MAX_RECEIVE_BYTES = 10 * 1024 * 1024;
const KEEPALIVE_MS = 5 * 60 * 1000;

/**
 * One Nacos gRPC connection: one channel carrying both the unary `/Request/request` calls and the
 * bi-stream `/BiRequestStream/requestBiStream`, as the server ties its connection id to the HTTP/2
 * connection (calls over another connection fail with error 301).
 *
 * Contract: `open()` performs ServerCheckRequest -> connectionId, opens the stream and sends
 * ConnectionSetupRequest, waiting for SetupAckRequest where the server negotiates abilities.
 * Afterwards it answers ClientDetectionRequest, sends HealthCheckRequest when idle, and calls
 * `onClosed` exactly once when the connection is unusable. `close()` releases the channel and
 * every timer and never calls `onClosed`.
 */
export class NacosConnection implements NacosConnectionLike {
  private readonly o: ConnectionOptions;
  private client: Client | undefined;
  private stream: ClientDuplexStream<Outgoing, NacosMessage | PayloadError> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastActive = Date.now();
  private done = false;
  private seq = 0;
  private setupAck: (() => void) | undefined;
  connectionId = '';

  constructor(options: ConnectionOptions) {
    this.o = options;
  }

  async open(): Promise<void> {
    this.client = new Client(this.o.target, credentials.createInsecure(), {
      'grpc.keepalive_time_ms': KEEPALIVE_MS,
      'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
      'grpc.enable_retries': 0,
      'grpc.initial_reconnect_backoff_ms': 1000,
    });
    const check = await this.request('ServerCheckRequest', {}, { retryUnregistered: false });
    this.connectionId = typeof check['connectionId'] === 'string' ? check['connectionId'] : '';
    const negotiates = check['supportAbilityNegotiation'] === true;
    const stream = this.client.makeBidiStreamRequest(
      '/BiRequestStream/requestBiStream',
      (m: Outgoing) => encodePayload(m),
      (buf: Buffer) => {
        try {
          return decodePayload(buf);
        } catch (e) {
          return e instanceof PayloadError ? e : new PayloadError(String(e));
        }
      },
    );
    this.stream = stream;
    stream.on('data', (m: NacosMessage | PayloadError) => this.onStreamMessage(m));
    stream.on('error', (e: ServiceError) => this.fail(new Error(`stream failed: ${e.details || e.message}`)));
    stream.on('end', () => this.fail(new Error('the server ended the stream')));
    const acked = new Promise<void>((resolve) => (this.setupAck = resolve));
    this.write({
      type: 'ConnectionSetupRequest',
      body: {
        requestId: this.nextId(),
        headers: {},
        clientVersion: this.o.clientVersion,
        tenant: '',
        labels: this.o.labels,
        abilityTable: this.o.abilities,
      },
      headers: this.o.headers(),
    });
    this.o.onRequestSent?.('ConnectionSetupRequest');
    // The server registers the connection asynchronously. Servers that negotiate abilities say
    // when with SetupAckRequest; older ones do not (their Java client waits 100 ms).
    await Promise.race([acked, delay(negotiates ? 3000 : 100)]);
    this.setupAck = undefined;
    if (this.done) throw new Error('connection closed during setup');
    this.touch();
  }

  /**
   * One unary request. Resolves with the response body (resultCode 200); rejects with
   * NacosRequestError for an error response, or an Error for a transport failure. A 301
   * ("connection unregistered") right after setup is retried twice.
   */
  async request(type: string, body: object, opts: { retryUnregistered?: boolean } = {}): Promise<Record<string, unknown>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.requestOnce(type, body);
      } catch (e) {
        if (opts.retryUnregistered !== false && e instanceof NacosRequestError && e.errorCode === 301 && attempt < 2) {
          await delay(200);
          continue;
        }
        throw e;
      }
    }
  }

  private requestOnce(type: string, body: object): Promise<Record<string, unknown>> {
    const client = this.client;
    if (client === undefined || this.done) return Promise.reject(new Error('connection is closed'));
    const msg: Outgoing = { type, body: { requestId: this.nextId(), headers: {}, ...body }, headers: this.o.headers() };
    this.o.onRequestSent?.(type);
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        '/Request/request',
        (m: Outgoing) => encodePayload(m),
        (buf: Buffer) => decodePayload(buf),
        msg,
        new Metadata(),
        { deadline: Date.now() + (this.o.requestTimeoutMs ?? 3000) },
        (err, res) => {
          if (err !== null || res === undefined) {
            reject(new Error(`${type} failed: ${err?.details || err?.message || 'no response'}`));
            return;
          }
          const code = res.body['resultCode'];
          if (code !== 200) {
            const errorCode = typeof res.body['errorCode'] === 'number' ? res.body['errorCode'] : -1;
            const message = typeof res.body['message'] === 'string' ? res.body['message'] : res.type;
            reject(new NacosRequestError(type, errorCode, message));
            return;
          }
          this.touch();
          resolve(res.body);
        },
      );
    });
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.stream?.removeAllListeners();
    this.stream?.on('error', () => undefined);
    this.stream?.cancel();
    this.client?.close();
  }

  private fail(reason: Error): void {
    if (this.done) return;
    this.close();
    this.o.onClosed(reason);
  }

  private onStreamMessage(m: NacosMessage | PayloadError): void {
    if (m instanceof PayloadError) return; // nothing to answer: it carries no request id
    this.touch();
    const requestId = m.body['requestId'];
    const respond = (type: string, extra: object = {}) =>
      this.write({ type, body: { requestId, resultCode: 200, errorCode: 0, success: true, ...extra } });
    if (m.type === 'SetupAckRequest') this.setupAck?.();
    if (ACK_ONLY.has(m.type)) {
      respond(m.type.replace(/Request$/, 'Response'));
      return;
    }
    if (m.type === 'ConnectResetRequest') {
      respond('ConnectResetResponse');
      const ip = m.body['serverIp'];
      const port = m.body['serverPort'];
      const server = typeof ip === 'string' && ip !== '' ? `${ip}:${typeof port === 'string' || typeof port === 'number' ? String(port) : ''}` : undefined;
      this.fail(new ConnectResetError(server));
      return;
    }
    if (PUSHES.has(m.type)) {
      try {
        this.o.onPush(m);
      } finally {
        respond(m.type.replace(/Request$/, 'Response'));
      }
      return;
    }
    this.write({ type: 'ErrorResponse', body: { requestId, resultCode: 500, errorCode: 501, success: false, message: `no handler for ${m.type}` } });
  }

  private write(m: Outgoing): void {
    if (this.done || this.stream === undefined) return;
    this.stream.write(m);
  }

  private nextId(): string {
    this.seq += 1;
    return String(this.seq);
  }

  /** Something was received: push the idle health check out. */
  private touch(): void {
    this.lastActive = Date.now();
    if (this.timer === undefined && !this.done) this.schedule();
  }

  private schedule(): void {
    const idle = this.o.idleHealthCheckMs ?? 5000;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.done) return;
      if (Date.now() - this.lastActive < idle) {
        this.schedule();
        return;
      }
      this.request('HealthCheckRequest', {}, { retryUnregistered: false }).then(
        () => undefined,
        (e: unknown) => this.fail(new Error(`health check failed: ${e instanceof Error ? e.message : String(e)}`)),
      );
      this.lastActive = Date.now();
      this.schedule();
    }, Math.max(10, this.lastActive + idle - Date.now()));
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
