import type protobuf from 'protobufjs';
import { ErrorCode, MeshbridgeError, describeError } from '../../errors/index.js';
import { messageType, ProtoName } from '../../proto/index.js';

/** The fields of an envoy.service.discovery.v3.DiscoveryRequest the server reads. */
export interface DiscoveryRequestMessage {
  readonly versionInfo: string;
  /** Present on the first request of a stream (later ones may leave it out). */
  readonly node: NodeInfo | undefined;
  readonly resourceNames: readonly string[];
  readonly typeUrl: string;
  readonly responseNonce: string;
  readonly errorDetail: ErrorDetail | undefined;
}

export interface NodeInfo {
  readonly id: string;
  readonly cluster: string;
  readonly userAgentName: string;
  readonly userAgentVersion: string;
}

export interface ErrorDetail {
  readonly code: number;
  readonly message: string;
}

function rec(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function str(o: Record<string, unknown> | undefined, k: string): string {
  const v = o?.[k];
  return typeof v === 'string' ? v : '';
}

/**
 * Decodes a DiscoveryRequest (grpc-js requestDeserialize). Throws MeshbridgeError
 * XDS_BAD_REQUEST when the bytes are not a DiscoveryRequest.
 */
export function decodeDiscoveryRequest(bytes: Buffer): DiscoveryRequestMessage {
  const t = (requestType ??= messageType(ProtoName.DiscoveryRequest));
  let o: Record<string, unknown>;
  try {
    o = t.toObject(t.decode(bytes), { longs: Number, enums: String, arrays: true });
  } catch (e) {
    throw new MeshbridgeError(ErrorCode.XDS_BAD_REQUEST, `undecodable DiscoveryRequest: ${describeError(e)}`, { cause: e });
  }
  const node = rec(o['node']);
  const err = rec(o['errorDetail']);
  const names = o['resourceNames'];
  return {
    versionInfo: str(o, 'versionInfo'),
    node:
      node === undefined
        ? undefined
        : {
            id: str(node, 'id'),
            cluster: str(node, 'cluster'),
            userAgentName: str(node, 'userAgentName'),
            userAgentVersion: str(node, 'userAgentVersion'),
          },
    resourceNames: Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [],
    typeUrl: str(o, 'typeUrl'),
    responseNonce: str(o, 'responseNonce'),
    errorDetail:
      err === undefined ? undefined : { code: typeof err['code'] === 'number' ? err['code'] : 0, message: str(err, 'message') },
  };
}

let requestType: protobuf.Type | undefined;
