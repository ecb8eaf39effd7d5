/**
 * Pure conversion of the neutral model to Istio ServiceEntry / WorkloadEntry resources
 * (docs/mapping.md). No I/O, no clocks, no logging: equal input gives equal output.
 */
export { convert, formFor, formOf, INLINE_RETURN_RATIO, normaliseAddress, localityString, Annotation, Resolution, SELECTOR_LABEL, MAX_INLINE_ENDPOINTS, MAX_ENDPOINT_PORTS, MAX_WEIGHT } from './convert.js';
export type { ConvertOutput } from './convert.js';
export {
  hostFor,
  objectName,
  withHashSuffix,
  labelValueFor,
  sanitizeHostPart,
  renderTemplate,
  isValidHost,
  isDnsLabel,
  isDnsSubdomain,
  isLabelValue,
  MAX_DNS_LABEL,
  MAX_DNS_SUBDOMAIN,
} from './names.js';
export { sanitizeLabels, isLabelKey, LabelDropReason, MAX_ENDPOINT_LABELS, RESERVED_LABEL_PREFIX } from './labels.js';
export type { SanitizedLabels } from './labels.js';
export { convertPorts, protocolOf, MAX_PORTS, MAX_PORT_NAME } from './ports.js';
export type { OutPort, PortsResult } from './ports.js';
export { toManifest } from '../snapshot/index.js';
export type { IstioManifest } from '../snapshot/index.js';
export { EndpointForm, defaultConversionOptions, defaultHostTemplates, defaultHostTemplate } from './options.js';
export type { ConversionOptions, ConvertInput } from './options.js';
