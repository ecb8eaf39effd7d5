import type { Logger, Metrics } from '../../observability/index.js';
import type { SnapshotStore } from '../../snapshot/index.js';

/** gRPC keepalive and connection management (grpc-js channel options of the same names). */
export interface XdsKeepaliveOptions {
  /** grpc.keepalive_time_ms: ping an idle client this often. Default 30 s. */
  readonly timeMs?: number | undefined;
  /** grpc.keepalive_timeout_ms: drop the connection if a ping is not answered. Default 10 s. */
  readonly timeoutMs?: number | undefined;
  /** grpc.max_connection_idle_ms. Default: none. */
  readonly maxConnectionIdleMs?: number | undefined;
  /** grpc.max_connection_age_ms: clients reconnect (and get the full state again). Default: none. */
  readonly maxConnectionAgeMs?: number | undefined;
  /** grpc.max_connection_age_grace_ms. Default: none. */
  readonly maxConnectionAgeGraceMs?: number | undefined;
}

/** SIMPLE (server-only) TLS; Istio 1.26+ dials it with `tlsSettings.mode: SIMPLE`. */
export interface XdsTlsOptions {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface XdsServerOptions {
  /** `host:port`; port 0 picks a free port (see XdsServer.port()). */
  readonly address: string;
  readonly store: SnapshotStore;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /**
   * True once every registry synced and a first snapshot was published. Until then no request
   * is answered (an early empty answer makes istiod delete everything); requests are held.
   */
  readonly ready: () => boolean;
  readonly keepalive?: XdsKeepaliveOptions | undefined;
  /** grpc.max_concurrent_streams per connection. Default: grpc-js default (unlimited). */
  readonly maxConcurrentStreams?: number | undefined;
  /** grpc.max_send_message_length. Default 256 MiB (10,000 ServiceEntries are ~10 MB). */
  readonly maxSendMessageBytes?: number | undefined;
  /** grpc.max_receive_message_length. Default 4 MiB (requests are small). */
  readonly maxReceiveMessageBytes?: number | undefined;
  readonly tls?: XdsTlsOptions | undefined;
  /** After abort: how long streams get to end before the server is forced down. Default 5 s. */
  readonly shutdownGraceMs?: number | undefined;
  /** How often `ready()` is polled while not ready. Default 100 ms. */
  readonly readyPollMs?: number | undefined;
}

export const XdsDefaults = {
  keepaliveTimeMs: 30_000,
  keepaliveTimeoutMs: 10_000,
  maxSendMessageBytes: 256 * 1024 * 1024,
  maxReceiveMessageBytes: 4 * 1024 * 1024,
  shutdownGraceMs: 5_000,
  readyPollMs: 100,
} as const;

/** grpc-js server options from XdsServerOptions (unset values are left to grpc-js). */
export function grpcServerOptions(o: XdsServerOptions): Record<string, number> {
  const opts: Record<string, number> = {
    'grpc.keepalive_time_ms': o.keepalive?.timeMs ?? XdsDefaults.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': o.keepalive?.timeoutMs ?? XdsDefaults.keepaliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.max_send_message_length': o.maxSendMessageBytes ?? XdsDefaults.maxSendMessageBytes,
    'grpc.max_receive_message_length': o.maxReceiveMessageBytes ?? XdsDefaults.maxReceiveMessageBytes,
  };
  const k = o.keepalive;
  if (k?.maxConnectionIdleMs !== undefined) opts['grpc.max_connection_idle_ms'] = k.maxConnectionIdleMs;
  if (k?.maxConnectionAgeMs !== undefined) opts['grpc.max_connection_age_ms'] = k.maxConnectionAgeMs;
  if (k?.maxConnectionAgeGraceMs !== undefined) opts['grpc.max_connection_age_grace_ms'] = k.maxConnectionAgeGraceMs;
  if (o.maxConcurrentStreams !== undefined) opts['grpc.max_concurrent_streams'] = o.maxConcurrentStreams;
  return opts;
}
