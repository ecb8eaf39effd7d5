import type { ConversionOptions } from '../convert/options.js';
import type { PipelineOptions } from '../core/pipeline.js';
import type { KubeClientOptions } from '../sinks/kubernetes/kube-client.js';
import type { KubernetesSinkOptions } from '../sinks/kubernetes/sink.js';
import type { XdsServerOptions } from '../sinks/xds/options.js';
import type { Config, KubernetesSinkConfig, RegistryConfig, XdsSinkConfig } from './types.js';

/*
 * Pure mappings from the resolved Config to the option fragments the composition root passes to
 * each component. Each returns only what the config decides; the caller adds the runtime parts
 * (store, logger, metrics, clients, callbacks).
 */

/** How this registry's services become Istio resources. */
export function conversionOptionsFor(r: RegistryConfig): ConversionOptions {
  return {
    namespace: r.namespace,
    exportTo: r.exportTo,
    hostTemplate: r.hostTemplate,
    form: r.form,
    addresses: r.addresses,
    includeUnhealthy: r.includeUnhealthy,
    defaultProtocol: r.defaultProtocol,
    portProtocols: r.portProtocols,
    namespaceMap: r.namespaceMap,
    ...(r.network !== undefined ? { network: r.network } : {}),
    extraLabels: r.labels,
    ...(r.select !== undefined ? { selection: r.select } : {}),
    ...(r.identity !== undefined ? { identity: r.identity } : {}),
    ...(r.sidecars !== undefined ? { sidecars: r.sidecars } : {}),
    publish: r.publish,
  };
}

/** Namespaces a registry's Sidecars may be written to (the Kubernetes sink writes and prunes there). */
function sidecarNamespaces(r: RegistryConfig): string[] {
  if (r.sidecars === undefined) return [];
  return [...(r.sidecars.namespace !== undefined ? [r.sidecars.namespace] : []), ...Object.values(r.sidecars.namespaces)];
}

/** The config part of PipelineOptions: per-registry conversion and protect threshold (by name). */
export function pipelineSettings(
  c: Config,
): Pick<PipelineOptions, 'conversion' | 'protectPercent' | 'protect' | 'conflictPolicy' | 'debounce' | 'vipCidr' | 'syncTimeoutMs'> {
  return {
    conversion: new Map(c.registries.map((r) => [r.name, conversionOptionsFor(r)])),
    protectPercent: new Map(c.registries.map((r) => [r.name, r.protectPercent])),
    protect: new Map(
      c.registries.map((r) => [
        r.name,
        {
          servicePercent: r.protectPercent,
          endpointPercent: r.protectEndpointPercent,
          windowMs: r.protectWindowSeconds * 1000,
          holdMaxMs: r.protectHoldMaxSeconds * 1000,
          settleMs: r.protectSettleSeconds * 1000,
        },
      ]),
    ),
    vipCidr: c.vipCidr,
    syncTimeoutMs: c.startup.syncTimeoutSeconds * 1000,
    conflictPolicy: c.conflictPolicy,
    debounce: c.debounce,
  };
}

/** The config part of XdsServerOptions. */
export function xdsServerSettings(x: XdsSinkConfig): Omit<XdsServerOptions, 'store' | 'metrics' | 'logger' | 'ready' | 'readyPollMs'> & { readonly shards: number } {
  return {
    address: x.address,
    keepalive: x.keepalive,
    maxConcurrentStreams: x.maxConcurrentStreams,
    maxSendMessageBytes: x.maxSendMessageBytes,
    maxReceiveMessageBytes: x.maxReceiveMessageBytes,
    tls: x.tls,
    shutdownGraceMs: x.shutdownGraceMs,
    shards: x.shards,
  };
}

/** KubeClientOptions (all of it comes from the config). */
export function kubeClientSettings(k: KubernetesSinkConfig): KubeClientOptions {
  return {
    qps: k.qps,
    burst: k.burst,
    ...(k.kubeconfig !== undefined ? { kubeconfig: k.kubeconfig } : {}),
    ...(k.context !== undefined ? { context: k.context } : {}),
  };
}

/**
 * The config part of KubernetesSinkOptions: the instance identity, the configured registries, the namespaces they write (sorted,
 * unique), the prune guard, and leader election with seconds turned into ms. `defaultIdentity`
 * (e.g. $POD_NAME or hostname-pid, chosen by the caller) applies when the config names none.
 */
export function kubernetesSinkSettings(
  c: Config,
  k: KubernetesSinkConfig,
  defaultIdentity: string,
): Omit<KubernetesSinkOptions, 'client' | 'store' | 'logger' | 'metrics'> {
  const le = k.leaderElection;
  return {
    instance: c.instance,
    registries: c.registries.map((r) => r.name),
    namespaces: [...new Set(c.registries.flatMap((r) => [r.namespace, ...Object.values(r.namespaceMap), ...sidecarNamespaces(r)]))].sort(),
    cleanupClusterWide: k.cleanupScope === 'cluster',
    sidecars: c.registries.some((r) => r.sidecars !== undefined),
    maxDeletePercent: k.maxDeletePercent,
    concurrency: k.concurrency,
    kubernetesServices: c.registries.some((r) => r.publish.kubernetesServices),
    leaderElection:
      le === undefined
        ? undefined
        : {
            namespace: le.namespace,
            name: le.name,
            identity: le.identity ?? defaultIdentity,
            leaseDurationMs: le.leaseDurationSeconds * 1000,
            renewDeadlineMs: le.renewDeadlineSeconds * 1000,
            retryPeriodMs: le.retryPeriodSeconds * 1000,
          },
  };
}
