import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics, silentLogger } from '../../observability/index.js';
import { SnapshotStore } from '../../snapshot/index.js';
import { XdsDefaults, grpcServerOptions, type XdsServerOptions } from './options.js';

const base: XdsServerOptions = {
  address: '127.0.0.1:0',
  store: new SnapshotStore(),
  metrics: new Metrics(),
  logger: silentLogger(),
  ready: () => true,
};

test('grpc server options: keepalive defaults, permit pings without calls, message limits', () => {
  const o = grpcServerOptions(base);
  assert.equal(o['grpc.keepalive_time_ms'], XdsDefaults.keepaliveTimeMs);
  assert.equal(o['grpc.keepalive_timeout_ms'], XdsDefaults.keepaliveTimeoutMs);
  assert.equal(o['grpc.keepalive_permit_without_calls'], 1);
  assert.equal(o['grpc.max_send_message_length'], XdsDefaults.maxSendMessageBytes);
  assert.equal(o['grpc.max_receive_message_length'], XdsDefaults.maxReceiveMessageBytes);
  assert.equal('grpc.max_connection_age_ms' in o, false, 'connection age is unset unless configured');
});

test('grpc server options: configured keepalive and connection management pass through', () => {
  const o = grpcServerOptions({
    ...base,
    keepalive: { timeMs: 5000, timeoutMs: 1000, maxConnectionIdleMs: 60_000, maxConnectionAgeMs: 600_000, maxConnectionAgeGraceMs: 30_000 },
    maxConcurrentStreams: 16,
  });
  assert.deepEqual(
    [o['grpc.keepalive_time_ms'], o['grpc.keepalive_timeout_ms'], o['grpc.max_connection_idle_ms'], o['grpc.max_connection_age_ms'], o['grpc.max_connection_age_grace_ms'], o['grpc.max_concurrent_streams']],
    [5000, 1000, 60_000, 600_000, 30_000, 16],
  );
});
