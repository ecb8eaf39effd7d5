// Encoding of a resource's CRD-shaped spec as its Istio proto message (the body of its Any).
import protobuf from 'protobufjs';
import { ErrorCode, MeshbridgeError } from '../../errors/index.js';
import { messageType, ProtoName, TypeUrl } from '../../proto/index.js';
import { ResourceKind, type IstioResource } from '../../snapshot/index.js';

interface BodyType {
  readonly type: protobuf.Type;
  readonly typeUrl: string;
}

let bodyTypes: Readonly<Partial<Record<ResourceKind, BodyType>>> | undefined;

function types(): Readonly<Partial<Record<ResourceKind, BodyType>>> {
  bodyTypes ??= {
    [ResourceKind.ServiceEntry]: { type: messageType(ProtoName.ServiceEntry), typeUrl: TypeUrl.ServiceEntry },
    [ResourceKind.WorkloadEntry]: { type: messageType(ProtoName.WorkloadEntry), typeUrl: TypeUrl.WorkloadEntry },
    [ResourceKind.Sidecar]: { type: messageType(ProtoName.Sidecar), typeUrl: TypeUrl.Sidecar },
  };
  return bodyTypes;
}

/** The Any type URL of a kind's body (always the v1alpha3 message name). */
export function bodyTypeUrl(kind: ResourceKind): string {
  return typeOf(kind).typeUrl;
}

/** The body type of an Istio kind; the core Kubernetes kinds have none (never served over MCP). */
function typeOf(kind: ResourceKind): BodyType {
  const t = types()[kind];
  if (t === undefined) throw new MeshbridgeError(ErrorCode.INTERNAL, `${kind} is not an Istio kind; it is not served over MCP`);
  return t;
}

/**
 * Encodes the CRD-shaped spec (camelCase JSON, enums as their names) as the Istio proto message.
 * Contract: the spec comes from Meshbridge's own conversion, which follows the CRD schema;
 * fields unknown to the proto are dropped (as protobuf does), enum names map to their numbers.
 * Throws MeshbridgeError INTERNAL when a value does not fit the proto (an unknown enum name, a
 * string where a list is expected): protobufjs alone would turn an unknown enum name into 0.
 */
export function encodeBody(resource: IstioResource): Uint8Array {
  const t = typeOf(resource.kind).type;
  try {
    checkEnums(t, resource.spec, '');
    return t.encode(t.fromObject(resource.spec)).finish();
  } catch (e) {
    if (e instanceof MeshbridgeError) throw e;
    throw new MeshbridgeError(ErrorCode.INTERNAL, `${resource.key}: spec does not fit ${t.fullName.slice(1)}`, { cause: e });
  }
}

function checkEnum(field: protobuf.Field, value: unknown, path: string): void {
  const en = field.resolvedType;
  if (!(en instanceof protobuf.Enum)) return;
  const ok = typeof value === 'string' ? en.values[value] !== undefined : typeof value === 'number' && en.valuesById[value] !== undefined;
  if (!ok) {
    throw new MeshbridgeError(ErrorCode.INTERNAL, `${path}: ${JSON.stringify(value)} is not a ${en.name} value`);
  }
}

/** Rejects enum values the proto does not define, at any depth of the spec. */
function checkEnums(type: protobuf.Type, obj: unknown, path: string): void {
  if (typeof obj !== 'object' || obj === null) return;
  const o = obj as Record<string, unknown>;
  for (const field of type.fieldsArray) {
    const v = o[field.name];
    if (v === undefined || v === null) continue;
    const p = path === '' ? field.name : `${path}.${field.name}`;
    const rt = field.resolvedType;
    const items: unknown[] = field.repeated && Array.isArray(v) ? v : field.map && typeof v === 'object' ? Object.values(v) : [v];
    for (const item of items) {
      if (rt instanceof protobuf.Enum) checkEnum(field, item, p);
      else if (rt instanceof protobuf.Type) checkEnums(rt, item, p);
    }
  }
}
