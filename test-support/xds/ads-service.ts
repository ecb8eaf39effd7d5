/**
 * What the kit's two ADS clients (xds/adsc.ts posing as istiod, dataplane/sidecar-client.ts posing
 * as a sidecar) share: envoy's AggregatedDiscoveryService loaded from the protos shipped in
 * @grpc/grpc-js-xds (independent of src/proto), and the wire shapes of its stream.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** A DiscoveryResponse as proto-loader hands it over (resources still encoded). */
export interface RawResponse {
  version_info: string;
  type_url: string;
  nonce: string;
  resources: { type_url: string; value: Buffer }[];
}

/** How a stream ended: its gRPC status. */
export interface StreamEnd {
  readonly code: number;
  readonly details: string;
}

/** Loads envoy.service.discovery.v3.AggregatedDiscoveryService with the protos under `includeDirs`. */
export function loadAdsService(includeDirs: readonly string[]): grpc.ServiceClientConstructor {
  const def = protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [...includeDirs],
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    envoy: { service: { discovery: { v3: { AggregatedDiscoveryService: grpc.ServiceClientConstructor } } } };
  };
  return pkg.envoy.service.discovery.v3.AggregatedDiscoveryService;
}
