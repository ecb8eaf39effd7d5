import type protobuf from 'protobufjs';
import { messageType, ProtoName, TypeUrl } from '../../proto/index.js';
import { ResourceKind, type IstioResource } from '../../snapshot/index.js';

interface BodyType {
  readonly type: protobuf.Type;
  readonly typeUrl: string;
}

let bodyTypes: Readonly<Record<ResourceKind, BodyType>> | undefined;

function types(): Readonly<Record<ResourceKind, BodyType>> {
  bodyTypes ??= {
    [ResourceKind.ServiceEntry]: { type: messageType(ProtoName.ServiceEntry), typeUrl: TypeUrl.ServiceEntry },
    [ResourceKind.WorkloadEntry]: { type: messageType(ProtoName.WorkloadEntry), typeUrl: TypeUrl.WorkloadEntry },
  };
  return bodyTypes;
}

/** The Any type URL of a kind's body (always the v1alpha3 message name). */
export function bodyTypeUrl(kind: ResourceKind): string {
  return types()[kind].typeUrl;
}

/**
 * Encodes the CRD-shaped spec (camelCase JSON, enums as their names) as the Istio proto message.
 * Contract: the spec comes from Meshbridge's own conversion, which follows the CRD schema;
 * fields unknown to the proto are dropped (as protobuf does), enum names map to their numbers.
 */
export function encodeBody(resource: IstioResource): Uint8Array {
  const t = types()[resource.kind].type;
  return t.encode(t.fromObject(resource.spec)).finish();
}
