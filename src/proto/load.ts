import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { ErrorCode, MeshbridgeError } from '../errors/index.js';

/**
 * Where the .proto files are at run time. tsc does not copy them, so they stay in src/proto and
 * are found relative to this module:
 * - compiled: <package>/dist/src/proto/load.js -> <package>/src/proto/ (three levels up, then
 *   src/proto). The same holds for an installed package (node_modules/meshbridge/dist/...), as
 *   long as the package ships src/proto/**\/*.proto next to dist/ (the default when package.json
 *   has no "files" list; add "src/proto" to it if one is introduced).
 * - run from source (a TS loader): src/proto/load.ts -> its own folder.
 * The first candidate that holds the ADS proto wins.
 */
export function protoDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = [join(here, '..', '..', '..', 'src', 'proto'), here];
  for (const dir of candidates) {
    if (existsSync(join(dir, MARKER))) return dir;
  }
  throw new MeshbridgeError(ErrorCode.INTERNAL, `proto files not found (looked in ${candidates.join(', ')})`);
}

const MARKER = join('envoy', 'service', 'discovery', 'v3', 'ads.proto');

/** Every file Meshbridge loads; imports between them resolve relative to protoDir(). */
export const PROTO_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'istio/mcp/v1alpha1/resource.proto',
  'istio/networking/v1alpha3/service_entry.proto',
  'istio/networking/v1alpha3/workload_entry.proto',
  'istio/networking/v1alpha3/sidecar.proto',
] as const;

let cached: protobuf.Root | undefined;

/**
 * The resolved protobufjs Root of the project's protos (google/protobuf/{any,struct,timestamp}
 * come from protobufjs' bundled copies). Loaded once per process, synchronously: call it from
 * `start()` or lazily, never at import time.
 */
export function loadProtoRoot(): protobuf.Root {
  if (cached !== undefined) return cached;
  const dir = protoDir();
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string => join(dir, target);
  root.loadSync([...PROTO_FILES], { keepCase: false });
  root.resolveAll();
  cached = root;
  return root;
}

/** Looks up a message type by full name (no leading dot). */
export function messageType(name: string): protobuf.Type {
  return loadProtoRoot().lookupType(name);
}
