/**
 * Pure conversion of the neutral model to Istio ServiceEntry / WorkloadEntry resources
 * (docs/mapping.md). No I/O, no clocks, no logging: equal input gives equal output.
 */
export { convert, Annotation, Resolution, SELECTOR_LABEL } from './convert.js';
export { formFor, formOf, INLINE_RETURN_RATIO, MAX_INLINE_ENDPOINTS } from './form.js';
export { endpointAddress, localityString, MAX_ENDPOINT_PORTS, MAX_WEIGHT } from './endpoints.js';
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
export {
  kubeServiceResources,
  serviceNameFor,
  servicePortNames,
  isServiceName,
  MAX_SLICE_ENDPOINTS,
  SERVICE_NAME_LABEL,
  SLICE_MANAGED_BY_LABEL,
  MANAGED_BY_CONTROLLER,
} from './kube-services.js';
export { EndpointForm, defaultConversionOptions, defaultHostTemplates, defaultHostTemplate } from './options.js';
export type { ConversionOptions, ConvertInput, PublishTargets } from './options.js';
export { compileSelection, compilePattern, patternProblem, EndpointScope } from './selection.js';
export type { SelectionRules, SelectionOutcome, PatternList, CompiledSelection } from './selection.js';
export { serviceAccountOf, renderIdentity, identityTemplateProblem, isServiceAccountName } from './identity.js';
export type { IdentityRules, IdentityResult } from './identity.js';
