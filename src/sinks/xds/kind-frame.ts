// One kind's framed resources held with room for a whole DiscoveryResponse around them
// (ResponseFrame), and the responses queued on streams that point into such a frame (OutgoingResponse).
import protobuf from 'protobufjs';
import { assembleResponse } from './response-assembly.js';

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
 * - The resources bytes ([HEAD_ROOM, HEAD_ROOM + length)) are written once by the builder and do
 *   not change while the frame is live; `block` is a view of them. Once superseded and unpinned (no
 *   queued OutgoingResponse points at it), a frame's memory may be handed to a new frame (reuse),
 *   which the owning ResourceCache does instead of allocating 17 MiB per kind version.
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
  /** OutgoingResponses queued on some stream and not serialized yet. */
  private pins = 0;

  /** `buf` must hold at least HEAD_ROOM + length + TAIL_ROOM bytes, resources at HEAD_ROOM. */
  constructor(buf: Buffer, length: number, count: number) {
    this.buf = buf;
    this.length = length;
    this.count = count;
  }

  /** A frame with room for `length` resource bytes (plus `slack` spare capacity); the builder fills block() once. */
  static allocate(length: number, count: number, slack = 0): ResponseFrame {
    return new ResponseFrame(Buffer.allocUnsafeSlow(HEAD_ROOM + length + slack + TAIL_ROOM), length, count);
  }

  /**
   * A new frame over the memory of `old`, which must be retired (no queued response points at
   * it: !old.isPinned(), and nothing reads it again) and big enough (old.fits(length)).
   */
  static reuse(old: ResponseFrame, length: number, count: number): ResponseFrame {
    return new ResponseFrame(old.buf, length, count);
  }

  /** Whether this frame's memory can hold `length` resource bytes. */
  fits(length: number): boolean {
    return HEAD_ROOM + length + TAIL_ROOM <= this.buf.length;
  }

  isPinned(): boolean {
    return this.pins > 0;
  }

  /** @internal OutgoingResponse bookkeeping. */
  pin(): void {
    this.pins += 1;
  }

  /** @internal */
  unpin(): void {
    this.pins -= 1;
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
  private pinned = true;

  constructor(
    readonly frame: ResponseFrame,
    readonly versionInfo: string,
    readonly typeUrl: string,
    readonly nonce: string,
  ) {
    frame.pin();
  }

  /**
   * The response bytes: a view valid until the frame's next response (see ResponseFrame). The
   * first call releases the frame for reuse by the cache (the caller copies the bytes at once).
   */
  serialize(): Buffer {
    const out = this.frame.response(this.versionInfo, this.typeUrl, this.nonce);
    if (this.pinned) {
      this.pinned = false;
      this.frame.unpin();
    }
    return out;
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
