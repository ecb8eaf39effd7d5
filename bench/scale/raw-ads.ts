/**
 * A lean istiod-like ADS client for benches: subscribes to ServiceEntry (and answers the other
 * types' responses with ACKs), ACKs every response, and reads of each MCP resource only
 * metadata.name and metadata.version from the wire (no body decoding), so the client's own cost
 * stays small next to the server's. istiod decodes in Go; a test client decoding 10,000 bodies in
 * protobufjs (test-support/xds/adsc.ts) would dominate every latency figure.
 *
 * Contract: `onResponse` is called once per DiscoveryResponse, with the receive time (epoch ms,
 * performance.timeOrigin + now(), comparable across processes on one machine), after parsing.
 */
import { Client, credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { messageType, ProtoName } from '../../src/proto/index.js';

export interface RawResponse {
  readonly at: number;
  readonly typeUrl: string;
  readonly versionInfo: string;
  readonly nonce: string;
  readonly bytes: number;
  /** metadata.name -> metadata.version of every resource. */
  readonly resources: ReadonlyMap<string, string>;
}

/** Wall-clock milliseconds with sub-ms resolution, comparable between processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

const passThrough = (b: Buffer): Buffer => b;

function lenDelimited(r: protobuf.Reader): protobuf.Reader {
  const len = r.uint32();
  const sub = protobuf.Reader.create(r.buf.subarray(r.pos, r.pos + len));
  r.pos += len;
  return sub;
}

function metadataOf(resource: protobuf.Reader): { name: string; version: string } {
  let name = '';
  let version = '';
  while (resource.pos < resource.len) {
    const tag = resource.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === 2) {
      const md = lenDelimited(resource);
      while (md.pos < md.len) {
        const t = md.uint32();
        if (t >>> 3 === 1 && (t & 7) === 2) name = md.string();
        else if (t >>> 3 === 3 && (t & 7) === 2) version = md.string();
        else md.skipType(t & 7);
      }
    } else resource.skipType(tag & 7);
  }
  return { name, version };
}

/** Parses a DiscoveryResponse, reading resources' metadata only. */
export function parseResponse(buf: Buffer, at: number): RawResponse {
  const r = protobuf.Reader.create(buf);
  let typeUrl = '';
  let versionInfo = '';
  let nonce = '';
  const resources = new Map<string, string>();
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 1) versionInfo = r.string();
    else if (field === 4) typeUrl = r.string();
    else if (field === 5) nonce = r.string();
    else if (field === 2) {
      const any = lenDelimited(r);
      while (any.pos < any.len) {
        const t = any.uint32();
        if (t >>> 3 === 2 && (t & 7) === 2) {
          const md = metadataOf(lenDelimited(any));
          resources.set(md.name, md.version);
        } else any.skipType(t & 7);
      }
    } else r.skipType(tag & 7);
  }
  return { at, typeUrl, versionInfo, nonce, bytes: buf.length, resources };
}

export class RawAdsClient {
  private readonly client: Client;
  private readonly call: ClientDuplexStream<Buffer, Buffer>;
  private readonly request = messageType(ProtoName.DiscoveryRequest);
  private sentNode = false;

  constructor(port: number, private readonly onResponse: (r: RawResponse) => void) {
    this.client = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), {
      'grpc.max_receive_message_length': 512 * 1024 * 1024,
      // istiod's Go gRPC client grows its HTTP/2 flow-control windows to 16 MiB (BDP estimation);
      // grpc-js keeps the 64 KiB default unless told, which would make a 17 MiB response wait on
      // ~270 WINDOW_UPDATE round trips that istiod never makes.
      'grpc-node.flow_control_window': 16 * 1024 * 1024,
    });
    this.call = this.client.makeBidiStreamRequest(
      '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
      passThrough,
      passThrough,
    );
    this.call.on('error', () => undefined);
    this.call.on('data', (b: Buffer) => {
      const r = parseResponse(b, nowMs());
      this.send(r.typeUrl, r.nonce, r.versionInfo);
      this.onResponse(r);
    });
  }

  /** istiod's start: one request per type with a junk nonce. */
  subscribe(typeUrls: readonly string[]): void {
    for (const t of typeUrls) this.send(t, String(Date.now()), '');
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }

  private send(typeUrl: string, nonce: string, version: string): void {
    const node = this.sentNode ? undefined : { id: 'bench-istiod', cluster: 'Kubernetes' };
    this.sentNode = true;
    const msg = this.request.create({ typeUrl, responseNonce: nonce, versionInfo: version, ...(node !== undefined ? { node } : {}) });
    this.call.write(Buffer.from(this.request.encode(msg).finish()));
  }
}
