export { Protocol, Health } from './service.js';
export type { Service, Endpoint, Port, Locality } from './service.js';
export {
  serviceKey,
  endpointKey,
  portKey,
  canonicalService,
  canonicalEndpoint,
  servicesEqual,
  endpointsEqual,
} from './equality.js';
