/**
 * The Kubernetes Services sink end to end (issue 14, ADR 0020): a file registry with
 * `publish: {serviceEntries: false, kubernetesServices: true}` -> `meshbridge run` -> a real
 * kube-apiserver -> a real istiod in Kubernetes mode. istiod's own Kubernetes registry lists the
 * service as `<name>.<namespace>.svc.cluster.local` (/debug/registryz, registry Kubernetes, not a
 * ServiceEntry), and a client posing as a sidecar gets the cluster
 * `outbound|<port>||<name>.<namespace>.svc.cluster.local` with the EndpointSlices' endpoints,
 * following a change of the registry. With Gateway API's CRDs installed, an HTTPRoute (GAMMA:
 * its parent is the Service) whose backend is the published Service is Accepted with ResolvedRefs
 * True by istiod, and one naming a Service that does not exist is not (BackendNotFound). Every
 * peer keeps to loopback.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadPeers, requirePeers, type Istiod } from '../../test-support/peers.js';
import { eventually, kube, startKubeCluster, type KubeCluster } from '../../test-support/kube.js';
import { startMeshbridge, tempDir, writeRunConfig, writeServices, type FileService, type MeshbridgeProcess } from '../../test-support/meshbridge.js';
import { startSidecar, type SidecarClient, type XdsState } from '../../test-support/dataplane/index.js';
import { applyGatewayApiCrds, requireGatewayApi } from '../../test-support/gateway-api.js';

const NS = 'mb-kube-services';
const skip = (await requirePeers('etcd', 'kube-apiserver', 'istio-crds', 'istiod')) ?? requireGatewayApi();
let cluster: KubeCluster | undefined;
let istiod: Istiod | undefined;
let mb: MeshbridgeProcess | undefined;
let dir = '';
const sidecars: SidecarClient[] = [];

const HOST = `cart.${NS}.svc.cluster.local`;

function cart(addresses: readonly string[]): FileService[] {
  return [
    {
      name: 'cart',
      namespace: 'shop',
      ports: [
        { number: 8080, name: 'api', protocol: 'HTTP' },
        { number: 9090, name: 'rpc', protocol: 'GRPC' },
      ],
      instances: addresses.map((address) => ({ address, weight: 1, labels: { app: 'cart' } })),
    },
  ];
}

before(async () => {
  if (skip !== undefined) return;
  const peers = await loadPeers();
  cluster = await startKubeCluster({ namespaces: [NS] });
  await applyGatewayApiCrds(cluster.api); // before istiod starts: it looks for them at start
  istiod = await peers.startIstiod({ mode: 'kubernetes', kubeconfig: cluster.api.kubeconfigPath, api: cluster.api, timeoutMs: 90_000 });
  dir = await tempDir('meshbridge-kube-services-');
  const [adminPort] = (await peers.freePorts(1)) as [number];
  await writeServices(join(dir, 'services.yaml'), cart(['10.20.0.1', '10.20.0.2']));
  const config = await writeRunConfig(dir, {
    registries: `  - {name: files, kind: file, file: {path: services.yaml, pollIntervalMs: 300}, namespace: ${NS}, publish: {serviceEntries: false, kubernetesServices: true}}`,
    sinks: `  kubernetes: {kubeconfig: ${cluster.api.kubeconfigPath}}`,
    admin: adminPort,
  });
  mb = await startMeshbridge({ config, adminPort });
});

after(async () => {
  for (const s of sidecars) s.close();
  await mb?.kill().catch(() => undefined);
  await istiod?.stop();
  await cluster?.stop();
});

interface RegistryzService {
  hostname?: string;
  ports?: Array<{ name?: string; port?: number; protocol?: string }>;
  Attributes?: { ServiceRegistry?: string; Name?: string; Namespace?: string };
}

/** The endpoint ip:ports of `cluster` in the sidecar's EDS state, sorted. */
function edsOf(state: XdsState, clusterName: string): string[] {
  const cla = state.endpoints.find((e) => e.cluster_name === clusterName);
  return (cla?.endpoints ?? [])
    .flatMap((l) => l.lb_endpoints ?? [])
    .map((e) => `${e.endpoint?.address?.socket_address?.address ?? ''}:${e.endpoint?.address?.socket_address?.port_value ?? 0}`)
    .sort();
}

test('istiod lists the published Service as a Kubernetes service; a sidecar gets its cluster and the EndpointSlices\' endpoints, and follows a change', { skip }, async () => {
  // The objects in the API server: a Service and an IPv4 EndpointSlice, no ServiceEntry.
  const svc = await eventually(async () => {
    const r = await kube<{ spec?: { ports?: Array<{ name: string; appProtocol?: string }> } }>(cluster!.api, 'GET', `/api/v1/namespaces/${NS}/services/cart`);
    return r.status === 200 ? r.body : undefined;
  }, 30_000, 'Service cart written');
  assert.deepEqual(svc.spec?.ports?.map((p) => [p.name, p.appProtocol]), [['http-api', 'http'], ['grpc-rpc', 'grpc']]);
  const ses = await kube<{ items: unknown[] }>(cluster!.api, 'GET', `/apis/networking.istio.io/v1/namespaces/${NS}/serviceentries`);
  assert.deepEqual(ses.body.items, [], 'publish.serviceEntries: false writes no ServiceEntry');

  // istiod's Kubernetes registry has it, under the cluster-local name, with Istio's protocols.
  const entry = await eventually(async () => {
    const list = (await istiod!.debug('registryz')) as RegistryzService[];
    return list.find((s) => s.hostname === HOST);
  }, 60_000, `${HOST} in /debug/registryz`);
  assert.equal(entry.Attributes?.ServiceRegistry, 'Kubernetes');
  assert.equal(entry.Attributes?.Namespace, NS);
  assert.deepEqual(entry.ports?.map((p) => `${p.name ?? ''}:${p.port ?? 0}/${p.protocol ?? ''}`).sort(), ['grpc-rpc:9090/GRPC', 'http-api:8080/HTTP']);

  // A sidecar gets the outbound clusters and, by EDS, the slices' endpoints.
  const sidecar = startSidecar({ address: istiod!.grpcAddress, ip: '10.30.0.5', pod: 'client', namespace: `${NS}-client` });
  sidecars.push(sidecar);
  const http = `outbound|8080||${HOST}`;
  const grpc = `outbound|9090||${HOST}`;
  let state = await sidecar.waitFor((s) => edsOf(s, http).length === 2 && edsOf(s, grpc).length === 2, 60_000);
  assert.ok(state.clusters.some((c) => c.name === http && c.type === 'EDS'), `${http} is an EDS cluster`);
  assert.deepEqual(edsOf(state, http), ['10.20.0.1:8080', '10.20.0.2:8080']);
  assert.deepEqual(edsOf(state, grpc), ['10.20.0.1:9090', '10.20.0.2:9090']);

  // The registry changes: the slice is rewritten and the sidecar's EDS follows.
  await writeServices(join(dir, 'services.yaml'), cart(['10.20.0.2', '10.20.0.3']));
  state = await sidecar.waitFor((s) => edsOf(s, http).join(',') === '10.20.0.2:8080,10.20.0.3:8080', 60_000);
  assert.deepEqual(edsOf(state, grpc), ['10.20.0.2:9090', '10.20.0.3:9090']);
  assert.deepEqual(sidecar.errors, [], 'every response decoded');
});

interface RouteStatus {
  status?: { parents?: Array<{ parentRef?: { name?: string }; conditions?: Array<{ type: string; status: string; reason?: string }> }> };
}

function httpRoute(name: string, backend: string): unknown {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: NS },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: 'cart', port: 8080 }],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: `/${name}` } }], backendRefs: [{ name: backend, port: 8080 }] }],
    },
  };
}

/** The conditions istiod wrote on the route for its parent, as `type=status(reason)`, sorted. */
async function routeConditions(name: string): Promise<string[] | undefined> {
  const r = await kube<RouteStatus>(cluster!.api, 'GET', `/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes/${name}`);
  const conds = r.body.status?.parents?.[0]?.conditions;
  if (conds === undefined || conds.length === 0) return undefined;
  return conds.map((c) => `${c.type}=${c.status}(${c.reason ?? ''})`).sort();
}

test('Gateway API: an HTTPRoute whose backend is the published Service is accepted with its refs resolved; a missing backend is not', { skip }, async (t) => {
  await eventually(async () => ((await kube(cluster!.api, 'GET', `/api/v1/namespaces/${NS}/services/cart`)).status === 200 ? true : undefined), 30_000, 'Service cart written');
  for (const [name, backend] of [['to-cart', 'cart'], ['to-nowhere', 'nowhere']] as const) {
    const r = await kube(cluster!.api, 'POST', `/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes`, httpRoute(name, backend));
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const good = await eventually(async () => {
    const c = await routeConditions('to-cart');
    return c?.includes('ResolvedRefs=True(ResolvedRefs)') === true ? c : undefined;
  }, 60_000, 'istiod resolves the route to the published Service');
  assert.ok(good.includes('Accepted=True(Accepted)'), good.join(', '));
  t.diagnostic(`to-cart: ${good.join(', ')}`);
  const bad = await eventually(() => routeConditions('to-nowhere'), 60_000, 'istiod writes the status of the route to nowhere');
  assert.ok(bad.some((c) => c.startsWith('ResolvedRefs=False(BackendNotFound)')), bad.join(', '));
  t.diagnostic(`to-nowhere: ${bad.join(', ')}`);
});
