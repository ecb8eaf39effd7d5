/**
 * Stable error codes. A code never changes meaning once released; docs/errors.md lists every
 * code (a unit test keeps the two in step). Metrics label skipped entries and dropped labels with
 * these codes.
 */
export const ErrorCode = {
  // configuration
  CONFIG_READ: 'MB_CONFIG_READ',
  CONFIG_PARSE: 'MB_CONFIG_PARSE',
  CONFIG_INVALID: 'MB_CONFIG_INVALID',
  CONFIG_ENV_MISSING: 'MB_CONFIG_ENV_MISSING',
  CONFIG_RESTART_REQUIRED: 'MB_CONFIG_RESTART_REQUIRED',
  // registry entries (the offending entry is skipped; neighbours still sync)
  SOURCE_READ: 'MB_SOURCE_READ',
  SOURCE_PARSE: 'MB_SOURCE_PARSE',
  ENTRY_INVALID: 'MB_ENTRY_INVALID',
  ENTRY_BAD_ADDRESS: 'MB_ENTRY_BAD_ADDRESS',
  ENTRY_BAD_PORT: 'MB_ENTRY_BAD_PORT',
  ENTRY_DUPLICATE_PORT: 'MB_ENTRY_DUPLICATE_PORT',
  ENTRY_DUPLICATE_SERVICE: 'MB_ENTRY_DUPLICATE_SERVICE',
  // registry plug-ins (docs/plugins.md)
  PLUGIN_NOT_FOUND: 'MB_PLUGIN_NOT_FOUND',
  PLUGIN_INVALID: 'MB_PLUGIN_INVALID',
  // conversion
  NAME_INVALID: 'MB_NAME_INVALID',
  LABEL_DROPPED: 'MB_LABEL_DROPPED',
  LIMIT_EXCEEDED: 'MB_LIMIT_EXCEEDED',
  HOST_CONFLICT: 'MB_HOST_CONFLICT',
  LISTENER_CONFLICT: 'MB_LISTENER_CONFLICT',
  IDENTITY_INVALID: 'MB_IDENTITY_INVALID',
  SIDECAR_SKIPPED: 'MB_SIDECAR_SKIPPED',
  // safety
  PROTECT_HELD: 'MB_PROTECT_HELD',
  REGISTRY_UNREACHABLE: 'MB_REGISTRY_UNREACHABLE',
  REGISTRY_SYNC_TIMEOUT: 'MB_REGISTRY_SYNC_TIMEOUT',
  CHECKPOINT_READ: 'MB_CHECKPOINT_READ',
  CHECKPOINT_WRITE: 'MB_CHECKPOINT_WRITE',
  // serving
  KUBE_FENCED: 'MB_KUBE_FENCED',
  KUBE_SERVICE_CLASH: 'MB_KUBE_SERVICE_CLASH',
  KUBE_SERVICE_DNS_ENDPOINT: 'MB_KUBE_SERVICE_DNS_ENDPOINT',
  XDS_BAD_REQUEST: 'MB_XDS_BAD_REQUEST',
  XDS_LISTEN: 'MB_XDS_LISTEN',
  XDS_PROTO: 'MB_XDS_PROTO',
  XDS_SHARD_MISSING: 'MB_XDS_SHARD_MISSING',
  ADMIN_LISTEN: 'MB_ADMIN_LISTEN',
  ADMIN_BAD_REQUEST: 'MB_ADMIN_BAD_REQUEST',
  RENDER_WRITE: 'MB_RENDER_WRITE',
  // meshbridge diff
  DIFF_NO_KUBERNETES: 'MB_DIFF_NO_KUBERNETES',
  DIFF_CLUSTER_READ: 'MB_DIFF_CLUSTER_READ',
  INTERNAL: 'MB_INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One line of documentation per code; docs/errors.md expands on each. */
export const errorSummaries: Readonly<Record<ErrorCode, string>> = {
  MB_CONFIG_READ: 'The config file could not be read.',
  MB_CONFIG_PARSE: 'The config file is not valid YAML or JSON.',
  MB_CONFIG_INVALID: 'The config does not match the schema; the message names the key.',
  MB_CONFIG_ENV_MISSING: 'A config value refers to an environment variable that is not set.',
  MB_CONFIG_RESTART_REQUIRED: 'A reloaded config changes fields that only a restart applies; nothing of it was applied.',
  MB_SOURCE_READ: 'A registry source (file) could not be read; the last good state is kept.',
  MB_SOURCE_PARSE: 'A registry source is not valid YAML/JSON; the last good state is kept.',
  MB_ENTRY_INVALID: 'A registry entry is malformed; it is skipped, its neighbours still sync.',
  MB_ENTRY_BAD_ADDRESS: 'An instance address is not an IP address or DNS name; the instance is skipped.',
  MB_ENTRY_BAD_PORT: 'A port number is outside 1-65535 or not an integer; the port or instance is skipped.',
  MB_ENTRY_DUPLICATE_PORT: 'Two ports of a service share a number or name; the later one is skipped.',
  MB_ENTRY_DUPLICATE_SERVICE: 'A service is defined twice in one registry; the later definition is skipped.',
  MB_PLUGIN_NOT_FOUND: 'A configured registry plug-in package is not installed; the message says how to install it.',
  MB_PLUGIN_INVALID: 'A registry plug-in package cannot be loaded or does not keep the plug-in contract (docs/plugins.md).',
  MB_NAME_INVALID: 'A host or object name derived from the registry is not valid DNS; the service is skipped.',
  MB_LABEL_DROPPED: 'Instance metadata that is not a valid Kubernetes label was dropped.',
  MB_LIMIT_EXCEEDED: 'A service exceeds a CRD limit (ports, hosts); the excess is dropped.',
  MB_HOST_CONFLICT: 'Two registries publish the same host under the precedence policy; the lower one is hidden.',
  MB_LISTENER_CONFLICT: 'Published ServiceEntries want one sidecar listener, address or HTTP domain on a port; istiod would keep the oldest.',
  MB_IDENTITY_INVALID: 'The service account an identity rule gave an endpoint is not a DNS-1123 subdomain; the endpoint is published without one.',
  MB_SIDECAR_SKIPPED: 'A consumer application gets no Sidecar: no namespace is known for it, or its workload label value is not a valid label value.',
  MB_PROTECT_HELD: 'A registry lost more services in one pass than the protect threshold allows; deletions held back.',
  MB_REGISTRY_UNREACHABLE: 'A registry cannot be reached; its last known services are kept and marked stale.',
  MB_REGISTRY_SYNC_TIMEOUT: 'A registry did not finish its first sync in time; it is published from the checkpoint (or without it) and counts as stale.',
  MB_CHECKPOINT_READ: 'The checkpoint file could not be read or is not a checkpoint; start-up goes on without it.',
  MB_CHECKPOINT_WRITE: 'The checkpoint file could not be written; retried at the next interval, publishing goes on.',
  MB_KUBE_FENCED: 'A Kubernetes write was not sent because this replica stopped being the leader while it waited.',
  MB_KUBE_SERVICE_CLASH: 'Two hosts would publish the same Kubernetes Service name in one namespace; the first (by source) keeps it, the other gets no Service.',
  MB_KUBE_SERVICE_DNS_ENDPOINT: 'An endpoint with a DNS-name address cannot be held by an EndpointSlice; it is left out of the Kubernetes Service (its ServiceEntry keeps it).',
  MB_XDS_BAD_REQUEST: 'An xDS client sent a request that cannot be answered (no type URL, not a DiscoveryRequest); that stream is ended with INVALID_ARGUMENT.',
  MB_XDS_LISTEN: 'The MCP/xDS server could not listen on its address.',
  MB_XDS_PROTO: 'The xDS codec does not work in this install (proto files missing or broken); the server does not start.',
  MB_XDS_SHARD_MISSING: 'An istiod streams from some MCP shards but not from all: its meshConfig.configSources lacks a shard, so it is missing that share of the services.',
  MB_ADMIN_LISTEN: 'The admin HTTP server could not listen on its address.',
  MB_ADMIN_BAD_REQUEST: 'An admin action was called with a missing or invalid parameter.',
  MB_RENDER_WRITE: 'Rendered resources could not be written to the output folder.',
  MB_DIFF_NO_KUBERNETES: '`meshbridge diff` was given a config without sinks.kubernetes: there is no cluster to compare with.',
  MB_DIFF_CLUSTER_READ: '`meshbridge diff` could not list or read the ServiceEntries and WorkloadEntries in the cluster.',
  MB_INTERNAL: 'A bug: an invariant did not hold. Please report it.',
};
