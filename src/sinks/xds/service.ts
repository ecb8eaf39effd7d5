import type { MethodDefinition, ServiceDefinition, handleBidiStreamingCall } from '@grpc/grpc-js';
import { decodeDiscoveryRequest, type DiscoveryRequestMessage } from './messages.js';

const ADS = '/envoy.service.discovery.v3.AggregatedDiscoveryService';

/** Handlers for the two ADS methods (pass to Server.addService with adsServiceDefinition). */
export interface AdsImplementation {
  readonly StreamAggregatedResources: handleBidiStreamingCall<DiscoveryRequestMessage, Buffer>;
  readonly DeltaAggregatedResources: handleBidiStreamingCall<Buffer, Buffer>;
}

const passThrough = (b: Buffer): Buffer => b;

const sotw: MethodDefinition<DiscoveryRequestMessage, Buffer> = {
  path: `${ADS}/StreamAggregatedResources`,
  requestStream: true,
  responseStream: true,
  requestSerialize: () => {
    throw new Error('server-side definition: requests are never serialized');
  },
  requestDeserialize: decodeDiscoveryRequest,
  // Responses are assembled as DiscoveryResponse bytes beforehand (response.ts): pass through.
  responseSerialize: passThrough,
  responseDeserialize: passThrough,
};

const delta: MethodDefinition<Buffer, Buffer> = {
  path: `${ADS}/DeltaAggregatedResources`,
  requestStream: true,
  responseStream: true,
  requestSerialize: passThrough,
  requestDeserialize: passThrough,
  responseSerialize: passThrough,
  responseDeserialize: passThrough,
};

/** The ADS service with byte-level serializers (protobufjs decodes requests itself). */
export const adsServiceDefinition: ServiceDefinition = {
  StreamAggregatedResources: sotw,
  DeltaAggregatedResources: delta,
};
