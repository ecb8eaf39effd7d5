import { readFile } from 'node:fs/promises';
import { Server, ServerCredentials, status as GrpcStatus, type ServerDuplexStream } from '@grpc/grpc-js';
import { ErrorCode, MeshbridgeError, describeError } from '../../errors/index.js';
import type { Sink } from '../types.js';
import { Connection, type AdsCall, type ConnectionContext, type XdsClientDebug } from './connection.js';
import { verifyCodec } from './codec-check.js';
import { typeContent } from './type-content.js';
import { XdsDefaults, grpcServerOptions, type XdsServerOptions } from './options.js';
import { ResourceCache, type ResourceCacheStats } from './resource-cache.js';
import { adsServiceDefinition } from './service.js';
import { NonceSource } from './subscription.js';

/** What /debug shows of the xDS server. */
export interface XdsDebugState {
  readonly address: string;
  readonly port: number | undefined;
  /** True once ready() held and a snapshot existed; requests are answered from then on. */
  readonly serving: boolean;
  readonly shuttingDown: boolean;
  readonly snapshotVersion: string | undefined;
  readonly snapshotSequence: number | undefined;
  readonly cache: ResourceCacheStats;
  readonly clients: readonly XdsClientDebug[];
}

/**
 * The MCP-over-xDS server istiod connects to (`configSources: [{address: "xds://host:port"}]`):
 * ADS state of the world, every requested type answered, ServiceEntry/WorkloadEntry from the
 * snapshot wrapped in istio.mcp.v1alpha1.Resource, everything else empty.
 *
 * Contract:
 * - The constructor does no I/O. `start(signal)` binds (port 0 allowed, see port()) and resolves
 *   once listening; it rejects with MeshbridgeError XDS_LISTEN if it cannot.
 * - Nothing is answered before `options.ready()` is true and a snapshot exists ("serving");
 *   requests that arrive earlier are held and answered then. Serving latches: ready() is polled
 *   (readyPollMs, and on every publish) only until it first holds.
 * - On every publish each stream gets the types whose version changed for it, and only those.
 * - Aborting the signal stops accepting streams, ends the open ones with UNAVAILABLE (istiod
 *   reconnects elsewhere or later), and forces the server down after shutdownGraceMs.
 *   `stopped()` resolves when it is down.
 */
export class XdsServer implements Sink {
  readonly name = 'xds';
  private readonly options: XdsServerOptions;
  private readonly cache: ResourceCache;
  private readonly nonces = new NonceSource();
  private readonly connections = new Map<number, Connection>();
  private readonly ctx: ConnectionContext;
  private server: Server | undefined;
  private boundPort: number | undefined;
  private serving = false;
  private shuttingDown = false;
  private nextId = 0;
  private readyTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly stoppedPromise: Promise<void>;
  private resolveStopped: () => void = () => undefined;

  constructor(options: XdsServerOptions) {
    this.options = options;
    const log = options.logger;
    this.cache = new ResourceCache({
      onEncodeError: (r, e) =>
        log.error(
          { code: ErrorCode.INTERNAL, key: r.key, version: r.version, err: describeError(e) },
          'resource left out of the xDS response: its spec cannot be encoded',
        ),
    });
    this.ctx = {
      serving: () => this.serving,
      content: (typeUrl) => typeContent(options.store, this.cache, typeUrl),
      nonces: this.nonces,
      metrics: options.metrics,
      logger: log,
      onNack: (typeUrl) => options.metrics.xdsNacks.inc({ type_url: typeUrl }),
      onClose: (c, reason) => this.forget(c, reason),
    };
    this.stoppedPromise = new Promise((resolve) => {
      this.resolveStopped = resolve;
    });
  }

  async start(signal: AbortSignal): Promise<void> {
    if (this.server !== undefined) throw new MeshbridgeError(ErrorCode.INTERNAL, 'XdsServer.start called twice');
    const o = this.options;
    verifyCodec(); // throws MB_XDS_PROTO: never listen (and report ready) with a broken codec
    const creds = await this.credentials();
    const server = new Server(grpcServerOptions(o));
    server.addService(adsServiceDefinition, {
      StreamAggregatedResources: (call: AdsCall) => this.accept(call),
      DeltaAggregatedResources: (call: ServerDuplexStream<Buffer, Buffer>) => {
        call.emit('error', {
          code: GrpcStatus.UNIMPLEMENTED,
          details: 'meshbridge serves state-of-the-world ADS only (StreamAggregatedResources)',
        });
      },
    });
    this.server = server;
    this.boundPort = await new Promise<number>((resolve, reject) => {
      server.bindAsync(o.address, creds, (err, port) => {
        if (err !== null) {
          server.forceShutdown();
          reject(new MeshbridgeError(ErrorCode.XDS_LISTEN, `cannot listen on ${o.address}: ${err.message}`, { cause: err }));
        } else resolve(port);
      });
    });
    this.unsubscribe = o.store.subscribe((snapshot) => {
      this.cache.retain(snapshot);
      if (this.checkReady()) this.syncAll();
    });
    if (!this.checkReady()) {
      this.readyTimer = setInterval(() => this.checkReady(), o.readyPollMs ?? XdsDefaults.readyPollMs);
    }
    o.logger.info({ address: o.address, port: this.boundPort, tls: o.tls !== undefined }, 'xds server listening');
    if (signal.aborted) void this.shutdown();
    else signal.addEventListener('abort', () => void this.shutdown(), { once: true });
  }

  /**
   * True while the server can answer istiod: started (codec verified, listening) and not
   * shutting down. Part of /readyz.
   */
  canServe(): boolean {
    return this.boundPort !== undefined && !this.shuttingDown;
  }

  /** The bound port (the real one when the address asked for port 0). Throws before start(). */
  port(): number {
    if (this.boundPort === undefined) throw new MeshbridgeError(ErrorCode.INTERNAL, 'XdsServer.port() before start()');
    return this.boundPort;
  }

  /** Resolves once the server is down after the start signal was aborted. */
  stopped(): Promise<void> {
    return this.stoppedPromise;
  }

  debugState(): XdsDebugState {
    const snap = this.options.store.current();
    return {
      address: this.options.address,
      port: this.boundPort,
      serving: this.serving,
      shuttingDown: this.shuttingDown,
      snapshotVersion: snap?.version,
      snapshotSequence: snap?.sequence,
      cache: this.cache.stats(),
      clients: [...this.connections.values()].map((c) => c.debug()),
    };
  }

  private async credentials(): Promise<ServerCredentials> {
    const tls = this.options.tls;
    if (tls === undefined) return ServerCredentials.createInsecure();
    try {
      const [cert, key] = await Promise.all([readFile(tls.certFile), readFile(tls.keyFile)]);
      return ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }], false);
    } catch (e) {
      throw new MeshbridgeError(ErrorCode.XDS_LISTEN, `cannot load TLS certificate or key: ${describeError(e)}`, {
        cause: e,
        details: { certFile: tls.certFile, keyFile: tls.keyFile },
      });
    }
  }

  /** Latches `serving` once ready() holds and a snapshot exists, then answers held requests. */
  private checkReady(): boolean {
    if (this.serving) return true;
    if (this.shuttingDown || !this.options.ready() || this.options.store.current() === undefined) return false;
    this.serving = true;
    if (this.readyTimer !== undefined) clearInterval(this.readyTimer);
    this.readyTimer = undefined;
    this.options.logger.info({ streams: this.connections.size }, 'xds server ready: answering requests');
    this.syncAll();
    return true;
  }

  private syncAll(): void {
    for (const c of this.connections.values()) c.sync();
  }

  private accept(call: AdsCall): void {
    if (this.shuttingDown) {
      call.emit('error', { code: GrpcStatus.UNAVAILABLE, details: 'meshbridge is shutting down' });
      return;
    }
    this.nextId += 1;
    const c = new Connection(this.nextId, call, this.ctx);
    this.connections.set(c.id, c);
    this.options.metrics.xdsClients.inc();
  }

  private forget(c: Connection, reason: string): void {
    if (!this.connections.delete(c.id)) return;
    this.options.metrics.xdsClients.dec();
    this.options.logger.info({ stream: c.id, nodeId: c.nodeId(), peer: c.peer, reason }, 'xds stream closed');
  }

  private async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    if (this.readyTimer !== undefined) clearInterval(this.readyTimer);
    this.unsubscribe?.();
    const server = this.server;
    if (server === undefined) return this.resolveStopped();
    const log = this.options.logger;
    const graceMs = this.options.shutdownGraceMs ?? XdsDefaults.shutdownGraceMs;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        log.warn({ streams: this.connections.size, graceMs }, 'xds server did not stop in time: forcing');
        server.forceShutdown();
        resolve();
      }, graceMs);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
      for (const c of this.connections.values()) c.end(GrpcStatus.UNAVAILABLE, 'meshbridge is shutting down');
    });
    for (const c of [...this.connections.values()]) this.forget(c, 'server stopped');
    log.info('xds server stopped');
    this.resolveStopped();
  }
}
