import type { MeshbridgeError } from '../errors/index.js';
import type { Endpoint, Port, Protocol, Service } from '../model/index.js';
import type { IstioResource } from '../snapshot/index.js';
import type { AddressMode } from './address-mode.js';
import type { IdentityRules } from './identity.js';
import type { SelectionRules } from './selection.js';

export const EndpointForm = {
  /** One ServiceEntry with inline `endpoints` (the default). */
  INLINE: 'inline',
  /** ServiceEntry with `workloadSelector` plus one WorkloadEntry per endpoint. */
  WORKLOAD_ENTRY: 'workloadEntry',
} as const;
export type EndpointForm = (typeof EndpointForm)[keyof typeof EndpointForm];

/**
 * How one registry's services become Istio resources. Built from the config by the composition
 * root; conversion reads nothing else.
 */
export interface ConversionOptions {
  /** Kubernetes namespace the objects are written to (and named under in MCP). */
  readonly namespace: string;
  /**
   * The registry's own namespace of a service (Service.namespace: a Nacos or Consul namespace, a
   * file's namespace hint) -> the Kubernetes namespace its objects go to. Unmapped services go to
   * `namespace`.
   */
  readonly namespaceMap: Readonly<Record<string, string>>;
  /** ServiceEntry.exportTo; empty means "leave unset" (Istio's default: all namespaces). */
  readonly exportTo: readonly string[];
  /**
   * Host template, e.g. `{name}.{registry}.svc`. Placeholders: {name}, {namespace}, {registry},
   * {kind}, and every service attribute ({group}, {version}, {datacenter}, ...). An attribute
   * that is missing removes its placeholder and one adjacent dot.
   */
  readonly hostTemplate: string;
  readonly form: EndpointForm;
  /** Publish endpoints the registry reports unhealthy (default false). */
  readonly includeUnhealthy: boolean;
  /** Protocol for ports whose protocol the registry did not state (default TCP). */
  readonly defaultProtocol: Protocol;
  /** Overrides by port name or number (as a string): config wins over registry metadata. */
  readonly portProtocols: Readonly<Record<string, Protocol>>;
  /** Endpoint network when the registry does not say. */
  readonly network?: string;
  /** Extra labels put on every object of this registry. */
  readonly extraLabels: Readonly<Record<string, string>>;
  /**
   * Which listener addresses this registry's ServiceEntries get (docs/mapping.md#listener-addresses);
   * applied by the pipeline after conversion. Undefined here means `none` (library use and unit tests);
   * the config always sets it, default `providers` (config/defaults.ts).
   */
  readonly addresses?: AddressMode;
  /**
   * The endpoint count above which a host switches to WorkloadEntry form. Default (and maximum)
   * MAX_INLINE_ENDPOINTS, the CRD's limit; smaller only so tests need fewer objects.
   */
  readonly maxInlineEndpoints?: number;
  /**
   * Which services and endpoints are published (selection.ts, docs/mapping.md#selection); applied
   * by the pipeline before merging by host. Undefined: everything.
   */
  readonly selection?: SelectionRules | undefined;
  /**
   * The service account of each endpoint (identity.ts, docs/identity.md): `serviceAccount` on inline
   * endpoints and WorkloadEntries. Undefined: none is set.
   */
  readonly identity?: IdentityRules | undefined;
  /** Opt-in: a Sidecar per consumer application (docs/mapping.md#sidecars); undefined: none. */
  readonly sidecars?: SidecarOptions;
  /**
   * What this registry's hosts become (config `publish`): Istio ServiceEntries/WorkloadEntries,
   * native Kubernetes Services with EndpointSlices (kube-services.ts, ADR 0020), or both.
   * Undefined: ServiceEntries only.
   */
  readonly publish?: PublishTargets;
}

/** Which kinds of objects a registry's hosts are published as (config `publish`). */
export interface PublishTargets {
  readonly serviceEntries: boolean;
  readonly kubernetesServices: boolean;
}

/**
 * How a registry's consumer applications (Service.consumers) become Sidecar resources
 * (convert/sidecars.ts): where each one goes, which pods it selects, and what it always sees.
 */
export interface SidecarOptions {
  /** Namespace of an application's Sidecar when `namespaces` names none; undefined: skipped. */
  readonly namespace: string | undefined;
  /** Application -> the namespace its pods (and so its Sidecar) live in. */
  readonly namespaces: Readonly<Record<string, string>>;
  /** spec.workloadSelector.labels: key -> value template, `{application}` the application name. */
  readonly workloadLabels: Readonly<Record<string, string>>;
  /** Egress hosts every Sidecar lists besides the consumed services, e.g. `istio-system/*`. */
  readonly alwaysInclude: readonly string[];
}

/** Defaults of a `sidecars: {}` block. */
export const defaultSidecarOptions: SidecarOptions = {
  namespace: undefined,
  namespaces: {},
  workloadLabels: { app: '{application}' },
  alwaysInclude: ['istio-system/*'],
};

export const defaultConversionOptions: ConversionOptions = {
  namespace: 'default',
  exportTo: [],
  hostTemplate: '{name}.{registry}.local',
  form: EndpointForm.INLINE,
  includeUnhealthy: false,
  defaultProtocol: 'TCP',
  portProtocols: {},
  extraLabels: {},
  namespaceMap: {},
};

/**
 * One Istio host as the aggregate resolved it: the services (from one or more registries) that
 * publish under this host, already merged by the configured conflict policy.
 *
 * Contract: `primary` is the service whose registry's ConversionOptions apply (namespace,
 * exportTo, form, labels); `ports` are the merged ports (unique by number and by name);
 * `endpoints` carry their `origin` registry.
 */
export interface ConvertInput {
  readonly host: string;
  readonly primary: Service;
  readonly ports: readonly Port[];
  readonly endpoints: readonly Endpoint[];
  /** Names of all registries contributing endpoints, in precedence order. */
  readonly origins: readonly string[];
  /**
   * The form this host was last published in (the pipeline remembers it), for the hysteresis
   * around the inline limit (formFor). Undefined: a new host.
   */
  readonly previousForm?: EndpointForm | undefined;
  /**
   * The applications consuming this host, by the registry reporting each (Service.consumers of
   * the merged services); absent: none. Not part of the ServiceEntry: convertSidecars reads it.
   */
  readonly consumers?: readonly HostConsumer[];
}

/** One application consuming a host, as one registry reports it. */
export interface HostConsumer {
  readonly registry: string;
  readonly application: string;
}

/**
 * Default host template per registry kind, used by the config loader when a registry sets no
 * `hostTemplate` (docs/mapping.md explains each choice). Kinds not listed use
 * `defaultConversionOptions.hostTemplate`.
 */
export const defaultHostTemplates: Readonly<Record<string, string>> = {
  file: '{name}.{namespace}.{registry}.local',
  // Dubbo interface names are already dotted and unique (aeraki's dubbo2istio uses them as is);
  // the zookeeper adapter prefixes version and group when set (`1.0.0.g1.com.example.Foo`).
  zookeeper: '{name}',
  dubbo: '{name}',
  consul: '{name}.service.{datacenter}.consul',
  nacos: '{name}.{group}.{namespace}.nacos',
  eureka: '{name}.eureka',
  etcd: '{name}.{namespace}.{registry}.etcd',
};

/** The host template for a registry kind when the config states none. */
export function defaultHostTemplate(kind: string): string {
  return Object.hasOwn(defaultHostTemplates, kind)
    ? (defaultHostTemplates[kind] ?? defaultConversionOptions.hostTemplate)
    : defaultConversionOptions.hostTemplate;
}

/** What conversion gives back for one host (convert(); core/pipeline.ts consumes it). */
export interface ConvertOutput {
  /**
   * The ServiceEntry first, then WorkloadEntries sorted by name, then (publish.kubernetesServices)
   * the Service and its EndpointSlices; without publish.serviceEntries only the latter.
   */
  readonly resources: readonly IstioResource[];
  /** What was dropped or rewritten, one error per kind of problem (with counts in details). */
  readonly problems: readonly MeshbridgeError[];
  /** Instance-metadata (and extraLabels) entries dropped because they are not valid labels. */
  readonly droppedLabels: number;
}
