import { status as GrpcStatus, type ServerDuplexStream } from '@grpc/grpc-js';
import { ErrorCode, MeshbridgeError, describeError } from '../../errors/index.js';
import type { Logger, Metrics } from '../../observability/index.js';
import type { DiscoveryRequestMessage, NodeInfo } from './messages.js';
import { OutgoingResponse, type ResponseFrame } from './kind-frame.js';
import {
  ReplyState,
  RequestClass,
  classifyRequest,
  newTypeState,
  type NonceSource,
  type TypeState,
} from './subscription.js';

/** What one type URL currently holds: the version and the pre-framed resources. */
export interface TypeContent {
  readonly version: string;
  readonly frame: ResponseFrame;
}

/** What a connection needs from its server. */
export interface ConnectionContext {
  /** False until the pipeline is ready and a snapshot exists: requests are held meanwhile. */
  readonly serving: () => boolean;
  /** The current content of a type URL; only called while serving. */
  readonly content: (typeUrl: string) => TypeContent;
  readonly nonces: NonceSource;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** A client rejected a response (counted in a metric by the server). */
  readonly onNack: (typeUrl: string) => void;
  readonly onClose: (connection: Connection, reason: string) => void;
}

export interface XdsTypeDebug {
  readonly typeUrl: string;
  readonly sentVersion: string | undefined;
  readonly sentNonce: string | undefined;
  /** When the last response of this type was written (ISO time). */
  readonly sentAt: string | undefined;
  readonly reply: ReplyState;
  readonly ackedVersion: string | undefined;
  readonly nacks: number;
  readonly lastNack: string | undefined;
}

export interface XdsClientDebug {
  readonly id: number;
  readonly nodeId: string | undefined;
  readonly cluster: string | undefined;
  readonly userAgent: string | undefined;
  readonly peer: string;
  readonly connectedAt: string;
  readonly types: readonly XdsTypeDebug[];
}

export type AdsCall = ServerDuplexStream<DiscoveryRequestMessage, OutgoingResponse>;

/**
 * One StreamAggregatedResources stream (one istiod), state of the world.
 *
 * Contract:
 * - Every type URL the client asks for gets answered: its full state, or an empty response for a
 *   type Meshbridge does not publish. Nothing is sent before the server is serving.
 * - A type is pushed only when its current version differs from what this stream last got
 *   (subscription: nothing got yet). NACKs are counted and logged, never answered by a resend of
 *   the same version.
 * - At most one response per type is in flight: a type whose last response is neither ACKed
 *   nor NACKed gets no new one; when the answer arrives the stream catches up with the latest
 *   version (intermediate versions are skipped, which state of the world allows). A client that
 *   stops reading therefore holds at most one response per type, whatever the publish rate
 *   (ADR 0011).
 * - Writes also respect transport backpressure: while the stream is congested nothing more is
 *   written; on 'drain' it catches up the same way.
 */
export class Connection {
  readonly id: number;
  readonly peer: string;
  readonly connectedAt = new Date();
  private node: NodeInfo | undefined;
  private readonly types = new Map<string, TypeState>();
  private congested = false;
  private closed = false;
  /** Bytes written to the call whose write callback has not fired yet. */
  private queuedBytes = 0;
  private readonly call: AdsCall;
  private readonly ctx: ConnectionContext;

  constructor(id: number, call: AdsCall, ctx: ConnectionContext) {
    this.id = id;
    this.call = call;
    this.ctx = ctx;
    this.peer = call.getPeer();
    call.on('data', (req: DiscoveryRequestMessage) => this.onRequest(req));
    call.on('end', () => {
      this.close('client ended the stream');
      call.end();
    });
    call.on('cancelled', () => this.close('cancelled by client'));
    call.on('error', (e: unknown) => this.close(`error: ${describeError(e)}`));
    call.on('close', () => this.close('closed'));
    call.on('drain', () => {
      this.congested = false;
      this.sync();
    });
  }

  nodeId(): string | undefined {
    return this.node?.id;
  }

  /** Sends every subscribed type whose version changed since this stream last got it. */
  sync(): void {
    if (this.closed || this.congested || !this.ctx.serving()) return;
    for (const st of this.types.values()) {
      const content = this.ctx.content(st.typeUrl);
      if (st.sentVersion === content.version) continue;
      if (st.reply === ReplyState.Pending) {
        this.ctx.metrics.xdsHeld.inc({ type_url: st.typeUrl });
        continue;
      }
      this.push(st, content);
      if (this.congested || this.closed) return;
    }
  }

  /**
   * Ends the stream with a status (shutdown). grpc-js turns an 'error' event on a server stream
   * into the final status once queued writes are flushed.
   */
  end(code: GrpcStatus, details: string): void {
    if (this.closed) return;
    this.close(`ended with status ${GrpcStatus[code]}: ${details}`);
    this.call.emit('error', { code, details });
  }

  isClosed(): boolean {
    return this.closed;
  }

  debug(): XdsClientDebug {
    return {
      id: this.id,
      nodeId: this.node?.id,
      cluster: this.node?.cluster,
      userAgent: this.node === undefined ? undefined : `${this.node.userAgentName} ${this.node.userAgentVersion}`.trim(),
      peer: this.peer,
      connectedAt: this.connectedAt.toISOString(),
      types: [...this.types.values()].map((s) => ({
        typeUrl: s.typeUrl,
        sentVersion: s.sentVersion,
        sentNonce: s.sentNonce,
        sentAt: s.sentAt,
        reply: s.reply,
        ackedVersion: s.ackedVersion,
        nacks: s.nacks,
        lastNack: s.lastNack,
      })),
    };
  }

  private onRequest(req: DiscoveryRequestMessage): void {
    if (this.closed) return;
    if (this.node === undefined && req.node !== undefined) {
      this.node = req.node;
      this.ctx.logger.info(
        { nodeId: req.node.id, cluster: req.node.cluster, peer: this.peer, stream: this.id },
        'xds client connected',
      );
    }
    if (req.typeUrl === '') {
      // As go-control-plane does: an ADS request must name its type; the stream is ended with
      // INVALID_ARGUMENT (the client sees the code in the details) and counted.
      const err = new MeshbridgeError(ErrorCode.XDS_BAD_REQUEST, 'DiscoveryRequest without type_url on an ADS stream; stream closed');
      this.ctx.logger.warn({ code: err.code, nodeId: this.node?.id, peer: this.peer, stream: this.id }, err.message);
      this.ctx.metrics.xdsBadRequests.inc();
      this.end(GrpcStatus.INVALID_ARGUMENT, `${err.code}: ${err.message}`);
      return;
    }
    const state = this.types.get(req.typeUrl);
    const cls = classifyRequest(state, { responseNonce: req.responseNonce, hasError: req.errorDetail !== undefined });
    if (state === undefined || cls === RequestClass.Subscribe) {
      if (state === undefined) this.types.set(req.typeUrl, newTypeState(req.typeUrl));
      this.ctx.logger.debug({ nodeId: this.node?.id, typeUrl: req.typeUrl }, 'xds subscribe');
      this.sync();
      return;
    }
    if (cls === RequestClass.Ack) {
      state.ackedVersion = req.versionInfo;
      state.reply = ReplyState.Acked;
    } else if (cls === RequestClass.Nack) {
      state.nacks += 1;
      state.lastNack = req.errorDetail?.message ?? '';
      state.reply = ReplyState.Nacked;
      this.ctx.onNack(req.typeUrl);
      this.ctx.logger.warn(
        { nodeId: this.node?.id, typeUrl: req.typeUrl, version: state.sentVersion, error: req.errorDetail },
        'xds client rejected a response (NACK); not resending the same version',
      );
    }
    // Stale: not an answer to the response in flight; ignored.
    // An answer frees the type's slot: send what changed meanwhile.
    if (cls === RequestClass.Ack || cls === RequestClass.Nack) this.sync();
  }

  private push(st: TypeState, content: TypeContent): void {
    const start = performance.now();
    const nonce = this.ctx.nonces.next();
    const response = new OutgoingResponse(content.frame, content.version, st.typeUrl, nonce);
    const bytes = response.byteLength();
    st.sentNonce = nonce;
    st.sentVersion = content.version;
    st.sentAt = new Date().toISOString();
    st.reply = ReplyState.Pending;
    const m = this.ctx.metrics;
    this.queuedBytes += bytes;
    m.xdsQueuedBytes.inc(bytes);
    const ok = this.call.write(response, () => this.flushed(bytes));
    if (!ok) this.congested = true;
    m.xdsPushes.inc({ type_url: st.typeUrl });
    m.xdsPushBytes.inc(bytes);
    m.xdsPushDuration.observe((performance.now() - start) / 1000);
    this.ctx.logger.debug(
      { nodeId: this.node?.id, typeUrl: st.typeUrl, version: content.version, resources: content.frame.count, bytes },
      'xds push',
    );
  }

  /** A write callback fired (or the stream closed with the write still queued). */
  private flushed(bytes: number): void {
    if (this.closed) return;
    this.queuedBytes -= bytes;
    this.ctx.metrics.xdsQueuedBytes.dec(bytes);
  }

  private close(reason: string): void {
    if (this.closed) return;
    this.ctx.metrics.xdsQueuedBytes.dec(this.queuedBytes);
    this.queuedBytes = 0;
    this.closed = true;
    this.ctx.onClose(this, reason);
  }
}
