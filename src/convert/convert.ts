/**
 * Conversion of one host to Istio resources: the ServiceEntry (inline endpoints or a
 * workloadSelector) and its WorkloadEntries, with ownership labels and annotations (see
 * convert() for the contract). The parts live beside it: form.ts (endpoint form and its
 * hysteresis), endpoints.ts (endpoint filtering), ports.ts, labels.ts, names.ts, resource.ts
 * (objects with content-hash versions) and problems.ts; this module re-exports what it exported
 * before they were split out of it.
 */
import { ErrorCode, MeshbridgeError } from '../errors/index.js';
import { serviceKey } from '../model/index.js';
import { OwnershipLabel, ResourceKind, type IstioResource } from '../snapshot/index.js';
import { filterEndpoints, type OutEndpoint } from './endpoints.js';
import { serviceAccountOf } from './identity.js';
import { compareStrings } from '../util/sort.js';
import { formFor, MAX_INLINE_ENDPOINTS } from './form.js';
import { sanitizeLabels, MAX_ENDPOINT_LABELS } from './labels.js';
import { isDnsSubdomain, isValidHost, labelValueFor, objectName, withHashSuffix } from './names.js';
import { EndpointForm, type ConversionOptions, type ConvertInput, type ConvertOutput } from './options.js';
import { kubeServiceResources } from './kube-services.js';
import { convertPorts } from './ports.js';
import { Problems } from './problems.js';
import { buildResource, sortedRecord, sortedRecordWith } from './resource.js';
import { SharedRecords } from '../util/shared-records.js';

export { formFor, formOf, INLINE_RETURN_RATIO, MAX_INLINE_ENDPOINTS } from './form.js';
export { localityString, endpointAddress, MAX_ENDPOINT_PORTS, MAX_WEIGHT } from './endpoints.js';
export { buildResource } from './resource.js';

export type { ConvertOutput } from './options.js';

/** WorkloadEntry spec label (and metadata label) the ServiceEntry's workloadSelector matches. */
export const SELECTOR_LABEL = OwnershipLabel.SERVICE_ENTRY;
/** Annotations besides the content hash. */
export const Annotation = {
  /** `registry/namespace/name` of the primary service (the registry-native name, unsanitised). */
  SOURCE: 'meshbridge.io/source',
  /** Comma-separated registries contributing endpoints, when more than one. */
  ORIGINS: 'meshbridge.io/origins',
} as const;

export const Resolution = { STATIC: 'STATIC', DNS: 'DNS' } as const;
export type Resolution = (typeof Resolution)[keyof typeof Resolution];

/** Ownership labels (win over extraLabels) plus the valid extraLabels. */
function ownershipLabels(input: ConvertInput, o: ConversionOptions, p: Problems): { labels: Record<string, string>; dropped: number } {
  const extra = sanitizeLabels(o.extraLabels);
  for (const d of extra.droppedKeys) {
    p.count(ErrorCode.LABEL_DROPPED, 'extra-labels', 'extraLabels that are not valid Kubernetes labels dropped', `${d.key} (${d.reason})`);
  }
  const labels: Record<string, string> = {
    ...extra.labels,
    [OwnershipLabel.MANAGED_BY]: OwnershipLabel.MANAGED_BY_VALUE,
    [OwnershipLabel.REGISTRY]: labelValueFor(input.primary.registry),
  };
  return { labels: sortedRecord(labels), dropped: extra.dropped };
}

/** Endpoint fields shared by inline endpoints and WorkloadEntry specs, in CRD field order. */
function endpointSpec(e: OutEndpoint, labels: Readonly<Record<string, string>>, serviceAccount: string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { address: e.address };
  if (hasKeys(e.ports)) out['ports'] = e.ports;
  if (hasKeys(labels)) out['labels'] = labels;
  if (e.network !== undefined) out['network'] = e.network;
  if (e.locality !== undefined) out['locality'] = e.locality;
  if (e.weight !== undefined) out['weight'] = e.weight;
  if (serviceAccount !== undefined) out['serviceAccount'] = serviceAccount;
  return out;
}

/** Each endpoint's service account under `options.identity` (undefined: none); invalid ones counted. */
function serviceAccounts(input: ConvertInput, endpoints: readonly OutEndpoint[], o: ConversionOptions, p: Problems): Array<string | undefined> {
  const rules = o.identity;
  if (rules === undefined) return [];
  return endpoints.map((e) => {
    const r = serviceAccountOf(rules, input.primary, e.source);
    if ('account' in r) return r.account;
    if ('invalid' in r) {
      p.count(ErrorCode.IDENTITY_INVALID, 'identity', 'endpoints whose service account is not a DNS-1123 subdomain published without one', `${e.address}=${JSON.stringify(r.invalid)}`);
    }
    return undefined;
  });
}

/** True when `r` has an own enumerable string key (what `Object.keys(r).length > 0` says). */
function hasKeys(r: object): boolean {
  for (const k in r) if (Object.hasOwn(r, k)) return true;
  return false;
}

/** A readable, address-derived part of a WorkloadEntry name. */
function addressSlug(address: string): string {
  return address.replace(/[^a-z0-9]+/g, '-');
}

/**
 * Converts one host to Istio resources: a ServiceEntry (`networking.istio.io/v1`, namespace and
 * exportTo from `options`) with inline endpoints, or, in WorkloadEntry form, a ServiceEntry with a
 * workloadSelector plus one WorkloadEntry per endpoint in the same namespace.
 *
 * Contract:
 * - Pure: no I/O, clock or logging; equal input and options give deep-equal output, whatever the
 *   order of ports, endpoints and map keys in the input (everything is sorted).
 * - Never throws for bad data: what cannot be published is dropped and reported in `problems`
 *   (one error per kind, with a count) and, for labels, counted in `droppedLabels`. An invalid
 *   `input.host` (not from hostFor) gives no resources and one MB_NAME_INVALID problem.
 * - WorkloadEntry form is used when `options.form` says so or when more than 4,096 endpoints
 *   remain after filtering (the CRD's inline limit); a host whose `previousForm` was WorkloadEntry
 *   returns to inline only at 3,686 (90%) or fewer (formFor: hysteresis, the pipeline passes
 *   the previous form in, so conversion stays pure).
 * - resolution is STATIC, or DNS as soon as one published endpoint address is a DNS name
 *   (istiod rejects STATIC with non-IP addresses). location is always MESH_INTERNAL.
 * - Every object carries the ownership labels, `extraLabels`, the source annotation and the
 *   content-hash annotation; `version` is the hash of labels, annotations (without the hash) and
 *   spec, so unchanged content keeps its version across runs and restarts.
 * - With `options.identity`, each endpoint (inline or WorkloadEntry) carries the `serviceAccount`
 *   its rules give (identity.ts; the primary service's attributes, the endpoint's metadata); an
 *   invalid one is left out and reported (MB_IDENTITY_INVALID). Without it nothing changes.
 * - With `options.publish.kubernetesServices` the host's Kubernetes Service and EndpointSlices
 *   follow (kube-services.ts); without `publish.serviceEntries` they are all there is.
 * - Names: the ServiceEntry is `objectName(host)`; a WorkloadEntry is
 *   `<host>-<address>-<hash of host, address and effective ports>`, shortened to 253 characters
 *   with the hash kept: unique per endpoint and stable across runs.
 */
export function convert(input: ConvertInput, options: ConversionOptions): ConvertOutput {
  const where = `${serviceKey(input.primary)} (host ${input.host})`;
  const p = new Problems(where);
  if (!isValidHost(input.host)) {
    p.add(new MeshbridgeError(ErrorCode.NAME_INVALID, `host "${input.host}" is not a valid DNS host; nothing published`, { path: serviceKey(input.primary) }));
    return { resources: [], problems: p.done(), droppedLabels: 0 };
  }
  const portsResult = convertPorts(input.ports, options, where);
  for (const e of portsResult.problems) p.add(e);
  const ports = portsResult.ports;
  const endpoints = filterEndpoints(input, ports, options, p);
  const limit = Math.min(options.maxInlineEndpoints ?? MAX_INLINE_ENDPOINTS, MAX_INLINE_ENDPOINTS);
  const form = formFor(endpoints.length, options.form, input.previousForm, limit);
  const resolution = endpoints.some((e) => !e.isIp) ? Resolution.DNS : Resolution.STATIC;

  const owner = ownershipLabels(input, options, p);
  let droppedLabels = owner.dropped;
  const annotations: Record<string, string> = { [Annotation.SOURCE]: serviceKey(input.primary) };
  if (input.origins.length > 1) annotations[Annotation.ORIGINS] = input.origins.join(',');

  const seName = objectName(input.host);
  const selectorValue = labelValueFor(seName);
  // WorkloadEntry spec labels hold the selector label too: one fewer for instance metadata.
  const maxLabels = form === EndpointForm.WORKLOAD_ENTRY ? MAX_ENDPOINT_LABELS - 1 : MAX_ENDPOINT_LABELS;
  const shared = new SharedRecords<string>();
  const endpointLabels = endpoints.map((e) => {
    const s = sanitizeLabels(e.source.labels, maxLabels);
    droppedLabels += s.dropped;
    for (const d of s.droppedKeys) {
      p.count(ErrorCode.LABEL_DROPPED, 'label', 'instance metadata that is not a valid Kubernetes label dropped', `${e.address}:${d.key} (${d.reason})`);
    }
    return shared.of(s.labels);
  });
  const accounts = serviceAccounts(input, endpoints, options, p);

  const exportTo = [...new Set(options.exportTo)].sort();
  const spec: Record<string, unknown> = {
    hosts: [input.host],
    ports: ports.map((x) => ({
      number: x.number,
      name: x.name,
      protocol: x.protocol,
      ...(x.targetPort !== undefined ? { targetPort: x.targetPort } : {}),
    })),
    location: 'MESH_INTERNAL',
    resolution,
    ...(exportTo.length > 0 ? { exportTo } : {}),
  };
  if (form === EndpointForm.WORKLOAD_ENTRY) {
    spec['workloadSelector'] = { labels: { [SELECTOR_LABEL]: selectorValue } };
  } else if (endpoints.length > 0) {
    spec['endpoints'] = endpoints.map((e, i) => endpointSpec(e, endpointLabels[i] ?? {}, accounts[i]));
  }
  const ns = targetNamespace(input.primary.namespace, options);
  const resources: IstioResource[] = [buildResource(ResourceKind.ServiceEntry, ns, seName, owner.labels, annotations, spec)];

  if (form === EndpointForm.WORKLOAD_ENTRY) {
    const weLabels = sortedRecordWith(owner.labels, SELECTOR_LABEL, selectorValue);
    const wes = endpoints.map((e, i) => {
      const name = withHashSuffix(`${input.host}-${addressSlug(e.address)}`, `${input.host}|${e.identity}`);
      const labels = sortedRecordWith(endpointLabels[i] ?? {}, SELECTOR_LABEL, selectorValue);
      return buildResource(ResourceKind.WorkloadEntry, ns, name, weLabels, annotations, endpointSpec(e, labels, accounts[i]));
    });
    wes.sort((a, b) => compareStrings(a.name, b.name));
    resources.push(...wes);
  }
  if (!isDnsSubdomain(seName)) {
    p.add(new MeshbridgeError(ErrorCode.INTERNAL, `object name "${seName}" is not DNS-1123`, { path: where }));
  }
  const publish = options.publish ?? { serviceEntries: true, kubernetesServices: false };
  if (!publish.serviceEntries) resources.length = 0;
  if (publish.kubernetesServices) {
    resources.push(...kubeServiceResources({ primaryName: input.primary.name, namespace: ns, ports, endpoints, labels: owner.labels, annotations, exportTo }, p));
  }
  return { resources, problems: p.done(), droppedLabels };
}

/** Where a service's objects go: its registry namespace mapped by `namespaceMap`, else `namespace`. */
export function targetNamespace(registryNamespace: string | undefined, options: ConversionOptions): string {
  if (registryNamespace === undefined) return options.namespace;
  return options.namespaceMap[registryNamespace] ?? options.namespace;
}
