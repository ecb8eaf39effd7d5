/**
 * Decoding of the xDS resources a sidecar receives, with the envoy/xds/googleapis protos shipped
 * in @grpc/grpc-js-xds's deps/ (the same files test-support/xds/adsc.ts loads), independent of
 * src/proto.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);

/** deps/ of @grpc/grpc-js-xds: envoy-api, xds, googleapis, protoc-gen-validate. */
export const XDS_PROTO_DEPS = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');

/** Include directories for the envoy protos (plus protobufjs's google/protobuf/descriptor.proto). */
export const XDS_INCLUDE_DIRS: readonly string[] = [
  ...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(XDS_PROTO_DEPS, d)),
  dirname(require.resolve('protobufjs/package.json')),
];

/** Every message type whose Any is expanded when decoding (plus what they import). */
const FILES = [
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/listener/http_inspector/v3/http_inspector.proto',
  'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  // What envoy/secret-server.ts serves over SDS.
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
];

let root: protobuf.Root | undefined;

/** The loaded protobufjs root (loaded once, on first use: ~1 s). */
export function xdsRoot(): protobuf.Root {
  if (root !== undefined) return root;
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => {
    if (isAbsolute(target) && existsSync(target)) return target;
    for (const d of XDS_INCLUDE_DIRS) {
      const p = join(d, target);
      if (existsSync(p)) return p;
    }
    return target;
  };
  r.loadSync(FILES, { keepCase: true });
  r.resolveAll();
  root = r;
  return r;
}

/**
 * Decodes one Any of a DiscoveryResponse into plain JSON (the shapes of types.ts): proto field
 * names, enums by name, 64-bit integers as strings, bytes as base64, default values left out,
 * nested Anys of known types expanded with "@type" (HttpConnectionManager, TcpProxy, ...), others
 * kept as {type_url, value}. Throws when `typeUrl` names a message the protos do not hold.
 */
export function decodeAny(typeUrl: string, value: Uint8Array): unknown {
  const type = xdsRoot().lookupType(typeUrl.slice(typeUrl.lastIndexOf('/') + 1));
  return type.toObject(type.decode(value), { json: true, enums: String, longs: String, bytes: String, defaults: false });
}
