import protobuf from 'protobufjs';

/**
 * Nacos's gRPC envelope (nacos_grpc_service.proto; no package): every call carries a Payload whose
 * `metadata.type` is the Java class's simple name and whose `body.value` is that object as UTF-8
 * JSON (`body.type_url` empty). Field numbers are on the wire: keep them.
 */
const descriptor: unknown = {
  nested: {
    Metadata: {
      fields: {
        type: { type: 'string', id: 3 },
        headers: { keyType: 'string', type: 'string', id: 7 },
        clientIp: { type: 'string', id: 8 },
      },
    },
    Any: {
      fields: {
        type_url: { type: 'string', id: 1 },
        value: { type: 'bytes', id: 2 },
      },
    },
    Payload: {
      fields: {
        metadata: { type: 'Metadata', id: 2 },
        body: { type: 'Any', id: 3 },
      },
    },
  },
};
const root = protobuf.Root.fromJSON(descriptor as protobuf.INamespace);
const PayloadType = root.lookupType('Payload');

/** One decoded Nacos message: its type name and its JSON body (a mapping). */
export interface NacosMessage {
  readonly type: string;
  readonly body: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;
}

export function encodePayload(message: { type: string; body: object; headers?: Readonly<Record<string, string>> }): Buffer {
  const value = Buffer.from(JSON.stringify(message.body), 'utf8');
  const payload = PayloadType.create({
    metadata: { type: message.type, headers: { ...(message.headers ?? {}) }, clientIp: '' },
    body: { type_url: '', value },
  });
  return Buffer.from(PayloadType.encode(payload).finish());
}

/** Thrown for a payload that is not a Nacos message (bad protobuf, no type, body not a JSON object). */
export class PayloadError extends Error {}

export function decodePayload(buf: Uint8Array): NacosMessage {
  let obj: Record<string, unknown>;
  try {
    obj = PayloadType.toObject(PayloadType.decode(buf), { defaults: true });
  } catch (e) {
    throw new PayloadError(`undecodable payload: ${e instanceof Error ? e.message : String(e)}`);
  }
  const metadata = (obj['metadata'] ?? {}) as { type?: unknown; headers?: unknown };
  const type = typeof metadata.type === 'string' ? metadata.type : '';
  if (type === '') throw new PayloadError('payload without metadata.type');
  const anyBody = (obj['body'] ?? {}) as { value?: unknown };
  const raw = anyBody.value instanceof Uint8Array ? Buffer.from(anyBody.value).toString('utf8') : '';
  let body: unknown = {};
  if (raw.length > 0) {
    try {
      body = JSON.parse(raw);
    } catch {
      throw new PayloadError(`${type}: body is not JSON`);
    }
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new PayloadError(`${type}: body is not a JSON object`);
  const headers = (typeof metadata.headers === 'object' && metadata.headers !== null ? metadata.headers : {}) as Record<string, string>;
  return { type, body: body as Record<string, unknown>, headers };
}
