// DiscoveryResponse and google.protobuf.Any wire bytes, assembled by hand from cached parts.
import protobuf from 'protobufjs';

/**
 * Hand-assembled DiscoveryResponse bytes (envoy.service.discovery.v3.DiscoveryResponse):
 *   1 version_info (string), 2 resources (repeated Any), 4 type_url (string), 5 nonce (string).
 * The resources field is a block of pre-framed entries (see frameResource), written as is, so a
 * push of unchanged resources is a copy of cached bytes, never a re-encode. Fields are written in
 * field-number order; empty strings are left out as proto3 does.
 */
export interface ResponseParts {
  readonly versionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  /** Concatenated frameResource() outputs; may be empty. */
  readonly resources: Uint8Array;
}

const TAG_VERSION_INFO = (1 << 3) | 2;
const TAG_RESOURCES = (2 << 3) | 2;
const TAG_TYPE_URL = (4 << 3) | 2;
const TAG_NONCE = (5 << 3) | 2;

/** One `resources` entry: tag of field 2, varint length, then the encoded google.protobuf.Any. */
export function frameResource(encodedAny: Uint8Array): Buffer {
  return toBuffer(protobuf.Writer.create().uint32(TAG_RESOURCES).bytes(encodedAny).finish());
}

export function assembleResponse(parts: ResponseParts): Buffer {
  const head = protobuf.Writer.create();
  if (parts.versionInfo !== '') head.uint32(TAG_VERSION_INFO).string(parts.versionInfo);
  const tail = protobuf.Writer.create();
  if (parts.typeUrl !== '') tail.uint32(TAG_TYPE_URL).string(parts.typeUrl);
  if (parts.nonce !== '') tail.uint32(TAG_NONCE).string(parts.nonce);
  const h = head.finish();
  const t = tail.finish();
  return Buffer.concat([h, parts.resources, t], h.length + parts.resources.length + t.length);
}

const TAG_ANY_TYPE_URL = (1 << 3) | 2;
const TAG_ANY_VALUE = (2 << 3) | 2;

/**
 * google.protobuf.Any {1 type_url, 2 value}, written by hand. Not through protobufjs: its bundled
 * Any is a JSON descriptor with snake_case names, so encode({ typeUrl }) silently drops the URL.
 */
export function encodeAny(typeUrl: string, value: Uint8Array): Buffer {
  return toBuffer(protobuf.Writer.create().uint32(TAG_ANY_TYPE_URL).string(typeUrl).uint32(TAG_ANY_VALUE).bytes(value).finish());
}

/** A Buffer view of the same memory (protobufjs returns a Buffer under Node already). */
export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
