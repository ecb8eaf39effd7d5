import protobuf from 'protobufjs';

/**
 * Test-owned definitions of the MCP Resource and the Istio networking messages, written from
 * istio/api (mcp/v1alpha1/{resource,metadata}.proto, networking/v1alpha3/{service_entry,
 * workload_entry,sidecar}.proto) independently of src/proto, so a wrong field number or package
 * name in src/proto shows up as a decode mismatch here.
 */
const WKT = `
syntax = "proto3";
package google.protobuf;
message Any { string type_url = 1; bytes value = 2; }
message Timestamp { int64 seconds = 1; int32 nanos = 2; }
`;

const TEXT = `
syntax = "proto3";
package istio.mcp.v1alpha1;
message Metadata {
  string name = 1;
  google.protobuf.Timestamp create_time = 2;
  string version = 3;
  map<string,string> labels = 4;
  map<string,string> annotations = 5;
}
message Resource {
  Metadata metadata = 1;
  google.protobuf.Any body = 2;
}
`;

const NET = `
syntax = "proto3";
package istio.networking.v1alpha3;
message WorkloadSelector { map<string, string> labels = 1; }
message WorkloadEntry {
  string address = 1;
  map<string, uint32> ports = 2;
  map<string, string> labels = 3;
  string network = 4;
  string locality = 5;
  uint32 weight = 6;
  string service_account = 7;
}
message ServicePort {
  uint32 number = 1;
  string protocol = 2;
  string name = 3;
  uint32 target_port = 4;
}
message ServiceEntry {
  repeated string hosts = 1;
  repeated string addresses = 2;
  repeated ServicePort ports = 3;
  enum Location { MESH_EXTERNAL = 0; MESH_INTERNAL = 1; }
  Location location = 4;
  enum Resolution { NONE = 0; STATIC = 1; DNS = 2; DNS_ROUND_ROBIN = 3; DYNAMIC_DNS = 4; }
  Resolution resolution = 5;
  repeated WorkloadEntry endpoints = 6;
  repeated string export_to = 7;
  repeated string subject_alt_names = 8;
  WorkloadSelector workload_selector = 9;
}
`;

const root = new protobuf.Root();
protobuf.parse(WKT, root, { keepCase: true });
protobuf.parse(TEXT, root, { keepCase: true });
protobuf.parse(NET, root, { keepCase: true });
root.resolveAll();

export const McpResource = root.lookupType('istio.mcp.v1alpha1.Resource');
export const ServiceEntryT = root.lookupType('istio.networking.v1alpha3.ServiceEntry');
export const WorkloadEntryT = root.lookupType('istio.networking.v1alpha3.WorkloadEntry');

export const MCP_RESOURCE_URL = 'type.googleapis.com/istio.mcp.v1alpha1.Resource';
export const BODY_URL = {
  ServiceEntry: 'type.googleapis.com/istio.networking.v1alpha3.ServiceEntry',
  WorkloadEntry: 'type.googleapis.com/istio.networking.v1alpha3.WorkloadEntry',
} as const;

/** One decoded MCP resource, as istiod's mcpToPilot sees it. */
export interface DecodedResource {
  readonly name: string;
  readonly version: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly createTimeSeconds: number | undefined;
  readonly bodyTypeUrl: string;
  /** Body with snake_case field names and enums as NUMBERS (what is on the wire). */
  readonly body: Record<string, unknown>;
}

export function decodeMcpAny(typeUrl: string, value: Uint8Array): DecodedResource {
  if (typeUrl !== MCP_RESOURCE_URL) throw new Error(`resource Any has type ${typeUrl}`);
  const r = McpResource.toObject(McpResource.decode(value), { longs: Number, defaults: false }) as {
    metadata?: { name?: string; version?: string; labels?: Record<string, string>; annotations?: Record<string, string>; create_time?: { seconds?: number } };
    body?: { type_url?: string; value?: Uint8Array };
  };
  const bodyUrl = r.body?.type_url ?? '';
  const bodyType = bodyUrl === BODY_URL.ServiceEntry ? ServiceEntryT : bodyUrl === BODY_URL.WorkloadEntry ? WorkloadEntryT : undefined;
  if (bodyType === undefined) throw new Error(`unknown body type ${bodyUrl}`);
  const body = bodyType.toObject(bodyType.decode(r.body?.value ?? new Uint8Array()), { longs: Number, enums: Number, defaults: false });
  return {
    name: r.metadata?.name ?? '',
    version: r.metadata?.version ?? '',
    labels: r.metadata?.labels ?? {},
    annotations: r.metadata?.annotations ?? {},
    createTimeSeconds: r.metadata?.create_time?.seconds,
    bodyTypeUrl: bodyUrl,
    body,
  };
}
