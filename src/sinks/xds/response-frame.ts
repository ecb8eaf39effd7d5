import protobuf from 'protobufjs';
import { assembleResponse } from './response.js';

const TAG_VERSION_INFO = (1 << 3) | 2;
const TAG_TYPE_URL = (4 << 3) | 2;
const TAG_NONCE = (5 << 3) | 2;

/** Bytes reserved before the resources for field 1 version_info (a 16-hex-digit kind version needs 18). */
export const HEAD_ROOM = 64;
/** Bytes reserved after the resources for fields 4 type_url and 5 nonce. */
export const TAIL_ROOM = 1024;

/**
 * One kind's framed resources (DiscoveryResponse field 2, repeated) held in a buffer with room
 * before and after them, so a whole DiscoveryResponse is written around the resources in place
 * instead of being copied into a new buffer on every push: at 10,000 ServiceEntries that copy is
 * 17 MiB per stream per push, and its allocation alone drove a full GC every push or two.
 *
 * Contract:
 * - The resources bytes ([HEAD_ROOM, HEAD_ROOM + length)) are written once by the builder and never
 *   change; `block` is a view of them.
 * - `response()` writes the other fields into the reserved room and returns a view of the frame's
 *   buffer. That view is valid only until the next `response()` call on the same frame: the caller
 *   must copy it (or hand it to something that copies it) before yielding. grpc-js's server does
 *   exactly that: the response serializer's result is copied into the length-prefixed gRPC message
 *   synchronously (see service.ts), so the frame is shared by every stream.
 * - Fields are written in field-number order (1, 2..., 4, 5), empty strings left out, byte for byte
 *   what assembleResponse writes.
 */
export class ResponseFrame {
  readonly length: number;
  readonly count: number;
  private readonly buf: Buffer;

  /** `buf` must hold HEAD_ROOM + length + TAIL_ROOM bytes, resources at HEAD_ROOM. */
  constructor(buf: Buffer, length: number, count: number) {
    this.buf = buf;
    this.length = length;
    this.count = count;
  }

  /** A frame with room for `length` resource bytes; the builder fills block() once. */
  static allocate(length: number, count: number): ResponseFrame {
    return new ResponseFrame(Buffer.allocUnsafeSlow(HEAD_ROOM + length + TAIL_ROOM), length, count);
  }

  /** The framed resources (a view; written by the builder only). */
  block(): Buffer {
    return this.buf.subarray(HEAD_ROOM, HEAD_ROOM + this.length);
  }

  /** The whole DiscoveryResponse; a view valid until the next call (see the class contract). */
  response(versionInfo: string, typeUrl: string, nonce: string): Buffer {
    const head = versionInfo === '' ? EMPTY : protobuf.Writer.create().uint32(TAG_VERSION_INFO).string(versionInfo).finish();
    const tw = protobuf.Writer.create();
    if (typeUrl !== '') tw.uint32(TAG_TYPE_URL).string(typeUrl);
    if (nonce !== '') tw.uint32(TAG_NONCE).string(nonce);
    const tail = tw.finish();
    if (head.length > HEAD_ROOM || tail.length > TAIL_ROOM) {
      return assembleResponse({ versionInfo, typeUrl, nonce, resources: this.block() });
    }
    const start = HEAD_ROOM - head.length;
    const end = HEAD_ROOM + this.length;
    this.buf.set(head, start);
    this.buf.set(tail, end);
    return this.buf.subarray(start, end + tail.length);
  }
}

const EMPTY = new Uint8Array(0);

/** The frame of a type with no resources (every type Meshbridge does not publish). */
export const EMPTY_FRAME = ResponseFrame.allocate(0, 0);

/**
 * A DiscoveryResponse queued on a stream, serialized only when grpc-js writes it (service.ts):
 * a frame is never copied into a response of its own.
 */
export class OutgoingResponse {
  constructor(
    readonly frame: ResponseFrame,
    readonly versionInfo: string,
    readonly typeUrl: string,
    readonly nonce: string,
  ) {}

  /** The response bytes: a view valid until the frame's next response (see ResponseFrame). */
  serialize(): Buffer {
    return this.frame.response(this.versionInfo, this.typeUrl, this.nonce);
  }

  /** The length serialize() returns, without serializing. */
  byteLength(): number {
    return this.frame.length + stringField(this.versionInfo) + stringField(this.typeUrl) + stringField(this.nonce);
  }
}

function stringField(s: string): number {
  if (s === '') return 0;
  const n = Buffer.byteLength(s);
  return 1 + varintLength(n) + n;
}

function varintLength(n: number): number {
  let len = 1;
  for (let v = n; v >= 0x80; v = Math.floor(v / 128)) len += 1;
  return len;
}
