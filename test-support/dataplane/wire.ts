/**
 * Just enough protobuf wire format to read a few fields of large xDS messages without decoding
 * them (LeanSidecar), and to write a DiscoveryRequest by hand. Field numbers are envoy's v3 API
 * (envoy/service/discovery/v3/discovery.proto, config/cluster/v3/cluster.proto, ...).
 *
 * Contract: `fields` yields every top-level field of `buf` in wire order, as field number, wire
 * type and either the varint value (wire type 0) or the bytes (wire type 2, a subarray: no copy);
 * fixed32/fixed64 are skipped over. A truncated or malformed message throws.
 */

export interface WireField {
  readonly field: number;
  readonly wire: number;
  /** Wire type 0: the value (safe for enums, lengths and small ints). */
  readonly varint: number;
  /** Wire type 2: the bytes. */
  readonly bytes: Buffer | undefined;
}

function readVarint(buf: Buffer, pos: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new Error('protobuf: truncated varint');
    const b = buf[pos++] ?? 0;
    v += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [v, pos];
    mul *= 128;
  }
  throw new Error('protobuf: varint too long');
}

/** Every top-level field of `buf`, in order. */
export function* fields(buf: Buffer): Generator<WireField> {
  let pos = 0;
  while (pos < buf.length) {
    const [tag, p1] = readVarint(buf, pos);
    pos = p1;
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) {
      const [v, p2] = readVarint(buf, pos);
      pos = p2;
      yield { field, wire, varint: v, bytes: undefined };
    } else if (wire === 2) {
      const [len, p2] = readVarint(buf, pos);
      if (p2 + len > buf.length) throw new Error('protobuf: truncated field');
      pos = p2 + len;
      yield { field, wire, varint: 0, bytes: buf.subarray(p2, pos) };
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new Error(`protobuf: unsupported wire type ${wire}`);
  }
}

/** The bytes of every occurrence of field `n` (wire type 2). */
export function messages(buf: Buffer, n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const f of fields(buf)) if (f.field === n && f.bytes !== undefined) out.push(f.bytes);
  return out;
}

/** The last occurrence of field `n` as a message (proto3 semantics for a singular field). */
export function message(buf: Buffer, n: number): Buffer | undefined {
  let last: Buffer | undefined;
  for (const f of fields(buf)) if (f.field === n && f.bytes !== undefined) last = f.bytes;
  return last;
}

/** Field `n` as a UTF-8 string ('' when absent). */
export function str(buf: Buffer, n: number): string {
  return message(buf, n)?.toString('utf8') ?? '';
}

/** Field `n` as a varint (0 when absent). */
export function varint(buf: Buffer, n: number): number {
  let v = 0;
  for (const f of fields(buf)) if (f.field === n && f.wire === 0) v = f.varint;
  return v;
}

function encodeVarint(v: number): Buffer {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** One length-delimited field (tag + length + bytes). */
export function lenField(n: number, bytes: Buffer | string): Buffer {
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  return Buffer.concat([encodeVarint(n * 8 + 2), encodeVarint(b.length), b]);
}

/** google.protobuf.Struct of string values and one nested Struct per `nested` key. */
export function encodeStruct(strings: Readonly<Record<string, string>>, nested: Readonly<Record<string, Readonly<Record<string, string>>>> = {}): Buffer {
  const entries: Buffer[] = [];
  // Struct.fields (1) is map<string, Value>: entries {key 1, value 2}; Value.string_value 3, struct_value 5.
  for (const [k, v] of Object.entries(strings)) entries.push(lenField(1, Buffer.concat([lenField(1, k), lenField(2, lenField(3, v))])));
  for (const [k, v] of Object.entries(nested)) entries.push(lenField(1, Buffer.concat([lenField(1, k), lenField(2, lenField(5, encodeStruct(v)))])));
  return Buffer.concat(entries);
}
