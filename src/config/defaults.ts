/**
 * Every default of the config, in one place: the schema's `default` annotations (what editors
 * show) and the resolution in load.ts both read these, so the two cannot drift. The xDS and
 * file-registry values equal the defaults those components use themselves (a test checks xDS).
 * The host template default depends on the registry kind: convert's defaultHostTemplate(kind).
 */
export const Defaults = {
  registry: {
    form: 'inline',
    addresses: 'providers',
    includeUnhealthy: false,
    defaultProtocol: 'TCP',
    protectPercent: 50,
    protectEndpointPercent: 50,
    protectWindowSeconds: 300,
    protectHoldMaxSeconds: 0,
    protectSettleSeconds: 30,
    publish: { serviceEntries: true, kubernetesServices: false },
  },
  startup: { syncTimeoutSeconds: 120 },
  checkpoint: { intervalSeconds: 30, configMapName: 'meshbridge-checkpoint' },
  /** Instance identity (ownership of Kubernetes objects, docs/operations.md#ownership). */
  instance: 'meshbridge',
  conflictPolicy: 'merge',
  vipCidr: '240.241.0.0/16',
  debounce: { quietPeriodMs: 100, maxDelayMs: 1000, leadingEdge: true },
  xds: {
    keepaliveTimeMs: 30_000,
    keepaliveTimeoutMs: 10_000,
    maxSendMessageBytes: 256 * 1024 * 1024,
    maxReceiveMessageBytes: 4 * 1024 * 1024,
    shutdownGraceMs: 5_000,
    shards: 1,
  },
  kubernetes: {
    qps: 20,
    burst: 40,
    maxDeletePercent: 50,
    concurrency: 8,
    cleanupScope: 'namespaces',
  },
  leaderElection: {
    enabled: false,
    name: 'meshbridge',
    leaseDurationSeconds: 15,
    renewDeadlineSeconds: 10,
    retryPeriodSeconds: 2,
  },
  admin: { address: '127.0.0.1:15080' },
  log: { level: 'info', format: 'json' },
} as const;
