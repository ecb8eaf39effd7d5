import type { MethodDefinition, ServiceDefinition, handleBidiStreamingCall } from '@grpc/grpc-js';
import { decodeDiscoveryRequest, type DiscoveryRequestMessage } from './messages.js';
import type { OutgoingResponse } from './kind-frame.js';

const ADS = '/envoy.service.discovery.v3.AggregatedDiscoveryService';

/** Handlers for the two ADS methods (pass to Server.addService with adsServiceDefinition). */
export interface AdsImplementation {
  readonly StreamAggregatedResources: handleBidiStreamingCall<DiscoveryRequestMessage, OutgoingResponse>;
  readonly DeltaAggregatedResources: handleBidiStreamingCall<Buffer, Buffer>;
}

const passThrough = (b: Buffer): Buffer => b;

const sotw: MethodDefinition<DiscoveryRequestMessage, OutgoingResponse> = {
  path: `${ADS}/StreamAggregatedResources`,
  requestStream: true,
  responseStream: true,
  requestSerialize: () => {
    throw new Error('server-side definition: requests are never serialized');
  },
  requestDeserialize: decodeDiscoveryRequest,
  // A response is written in place around its kind's cached resources (ResponseFrame) when
  // grpc-js takes it off the stream's queue; grpc-js copies the result into the length-prefixed
  // gRPC message before anything else runs (server-interceptors serializeMessage), which is what
  // lets every stream share one frame.
  responseSerialize: (r: OutgoingResponse) => r.serialize(),
  responseDeserialize: () => {
    throw new Error('server-side definition: responses are never deserialized');
  },
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
