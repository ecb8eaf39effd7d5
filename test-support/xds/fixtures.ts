import { createHash } from 'node:crypto';
import { Metrics, silentLogger } from '../../src/observability/index.js';
import { SnapshotStore, resourceKey, type IstioResource, type ResourceKind } from '../../src/snapshot/index.js';
import { XdsServer, type XdsServerOptions } from '../../src/sinks/xds/index.js';

/** Hand-made IstioResource (the convert module is not used here). */
export function resource(
  kind: ResourceKind,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  labels: Record<string, string> = { 'app.kubernetes.io/managed-by': 'meshbridge' },
): IstioResource {
  const version = createHash('sha256').update(JSON.stringify([labels, spec])).digest('hex').slice(0, 16);
  return { kind, namespace, name, key: resourceKey(kind, namespace, name), labels, annotations: { 'meshbridge.io/registry': 'test' }, spec, version };
}

export function serviceEntry(namespace: string, name: string, ips: readonly string[], port = 8080): IstioResource {
  return resource('ServiceEntry', namespace, name, {
    hosts: [`${name}.${namespace}.svc.meshbridge`],
    ports: [{ number: port, protocol: 'HTTP', name: 'http', targetPort: port }],
    location: 'MESH_INTERNAL',
    resolution: 'STATIC',
    endpoints: ips.map((address) => ({ address, ports: { http: port }, labels: { app: name }, weight: 1 })),
  });
}

export function workloadEntry(namespace: string, name: string, address: string): IstioResource {
  return resource('WorkloadEntry', namespace, name, {
    address,
    ports: { http: 8080 },
    labels: { app: name },
    network: 'net1',
    locality: 'region/zone',
    weight: 3,
    serviceAccount: 'sa1',
  });
}

export interface Harness {
  readonly store: SnapshotStore;
  readonly metrics: Metrics;
  readonly server: XdsServer;
  readonly port: number;
  readonly abort: AbortController;
  setReady(v: boolean): void;
  stop(): Promise<void>;
}

/** An XdsServer on 127.0.0.1:0, ready unless told otherwise. */
export async function startHarness(
  opts: { ready?: boolean; initial?: readonly IstioResource[]; extra?: Partial<XdsServerOptions> } = {},
): Promise<Harness> {
  const store = new SnapshotStore();
  if (opts.initial !== undefined) store.publish(opts.initial);
  const metrics = new Metrics();
  let ready = opts.ready ?? true;
  const server = new XdsServer({
    address: '127.0.0.1:0',
    store,
    metrics,
    logger: silentLogger(),
    ready: () => ready,
    readyPollMs: 10,
    shutdownGraceMs: 1000,
    ...opts.extra,
  });
  const abort = new AbortController();
  await server.start(abort.signal);
  return {
    store,
    metrics,
    server,
    port: server.port(),
    abort,
    setReady: (v) => {
      ready = v;
    },
    stop: async () => {
      abort.abort();
      await server.stopped();
    },
  };
}
