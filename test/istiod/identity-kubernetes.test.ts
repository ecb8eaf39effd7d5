/**
 * Selection and identity end to end on the Kubernetes route: two file registries with `select`
 * and `identity` -> `meshbridge run` -> a real kube-apiserver with the pinned Istio release's CRDs
 * -> a real istiod -> a sidecar-posing xDS client.
 *
 * Proves: excluded services and endpoints never reach the API server; WorkloadEntries and inline
 * ServiceEntry endpoints carry `serviceAccount` as the rules give it (map, fallback, none for an
 * invalid one), and the API server accepts them; istiod turns them into SPIFFE identities (its
 * /debug/endpointz) and puts them in the client's CDS as the subject alt names it verifies
 * (auto mTLS); an AuthorizationPolicy naming those principals is accepted by the API server's
 * schema and CEL rules (one that breaks a rule is refused) and by istiod (its /debug/configz);
 * the selection metrics and /debug/selection say what was excluded; a reload that excludes most
 * of a registry is published at once but the sink's prune guard (maxDeletePercent) holds the
 * deletions in the cluster (docs/mapping.md#selection). Addresses are never dialled.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadPeers, requirePeers, type KubeApi, type Istiod, type PeersModule } from '../../test-support/peers.js';
import { eventually, listIstio } from '../../test-support/kube.js';
import { metricSum, replaceFile, startMeshbridge, tempDir, writeRunConfig, type MeshbridgeProcess } from '../../test-support/meshbridge.js';
import { istiodConfigz } from '../../test-support/istiod-view.js';
import { startSidecar, type SidecarClient } from '../../test-support/dataplane/index.js';

const NS = 'mb-identity';
const CART = 'cart.shop.wl.local';
const PAYMENTS = 'payments.shop.inl.local';
const spiffe = (sa: string): string => `spiffe://cluster.local/ns/${NS}/sa/${sa}`;
const skip = await requirePeers('etcd', 'kube-apiserver', 'istio-crds', 'istiod');
let peers: PeersModule;
let api: KubeApi | undefined;
let istiod: Istiod | undefined;
let mb: MeshbridgeProcess | undefined;
let sidecar: SidecarClient | undefined;
let configPath = '';

const inst = (address: string, labels: Record<string, string>) => ({ address, weight: 1, labels });

before(async () => {
  if (skip !== undefined) return;
  peers = await loadPeers();
  api = await peers.startKubeApiserver({ authorization: 'AlwaysAllow' });
  await peers.applyIstioCrds(api);
  await peers.ensureNamespace(api, NS);
  istiod = await peers.startIstiod({ mode: 'kubernetes', kubeconfig: api.kubeconfigPath, api, timeoutMs: 90_000 });
  const dir = await tempDir('meshbridge-identity-');
  const services = (list: unknown[]): string => `${JSON.stringify({ services: list }, null, 2)}\n`;
  await writeFile(
    join(dir, 'wl.yaml'),
    services([
      {
        name: 'cart',
        namespace: 'shop',
        ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }],
        instances: [
          inst('127.0.0.81', { application: 'CartApp', env: 'prod' }),
          inst('127.0.0.82', { application: 'CartApp', env: 'test' }),
          inst('127.0.0.83', { env: 'prod' }),
          inst('127.0.0.84', { application: 'Bad_Name', env: 'prod' }),
        ],
      },
      { name: 'audit-internal', namespace: 'shop', ports: [{ number: 9000, name: 'tcp', protocol: 'TCP' }], instances: [inst('127.0.0.85', { application: 'audit' })] },
    ]),
  );
  await writeFile(
    join(dir, 'inl.yaml'),
    services([{ name: 'payments', namespace: 'shop', attributes: { application: 'payments' }, ports: [{ number: 8443, name: 'http', protocol: 'HTTP' }], instances: [inst('127.0.0.91', {})] }]),
  );
  const [adminPort] = (await peers.freePorts(1)) as [number];
  const config = await writeRunConfig(dir, {
    registries: `  - name: wl
    kind: file
    file: {path: wl.yaml, pollIntervalMs: 500}
    namespace: ${NS}
    form: workloadEntry
    select:
      services: {exclude: ["*-internal"]}
      endpoints: {metadata: {env: {exclude: [test]}}}
    identity: {serviceAccount: "{labels.application}", map: {CartApp: cart}, fallback: mesh-default}
  - name: inl
    kind: file
    file: {path: inl.yaml, pollIntervalMs: 500}
    namespace: ${NS}
    identity: {serviceAccount: "{attributes.application}"}`,
    sinks: `  kubernetes: {kubeconfig: ${api.kubeconfigPath}}`,
    admin: adminPort,
  });
  configPath = config;
  mb = await startMeshbridge({ config, adminPort });
});

after(async () => {
  sidecar?.close();
  await mb?.stop().catch(() => undefined);
  await istiod?.stop();
  await api?.stop();
});

interface Listed {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { address?: string; serviceAccount?: string; hosts?: string[]; endpoints?: Array<{ address: string; serviceAccount?: string }> };
}

test('the API server holds only the selected services and endpoints, each with the service account its rules give', { skip }, async () => {
  const wes = await eventually<Listed[]>(async () => {
    const l = (await listIstio(api!, 'workloadentries', NS)) as unknown as Listed[];
    return l.length >= 3 ? l : undefined;
  }, 30_000, 'WorkloadEntries written');
  const byAddress: Record<string, string | null> = Object.fromEntries(wes.map((w) => [w.spec.address ?? '', w.spec.serviceAccount ?? null]));
  const accountOf = new Map(Object.entries(byAddress));
  assert.deepEqual(byAddress, { '127.0.0.81': 'cart', '127.0.0.83': 'mesh-default', '127.0.0.84': null }, 'env=test left out; CartApp mapped; no application: the fallback; Bad_Name: none');
  // Two registries sync independently, and one pass writes its entries concurrently: wait for the
  // second registry's entry and for cart's entries of their own, not only the WorkloadEntries.
  const all = await eventually<Listed[]>(async () => {
    const l = (await listIstio(api!, 'serviceentries', NS)) as unknown as Listed[];
    const sharedWritten = l.some((s) => s.metadata.labels?.['meshbridge.io/shared'] === 'true');
    return sharedWritten && l.some((s) => s.spec.hosts?.[0] === PAYMENTS) ? l : undefined;
  }, 30_000, 'the inl registry\'s ServiceEntry and cart\'s entries of their own written');
  const shared = all.filter((s) => s.metadata.labels?.['meshbridge.io/shared'] === 'true');
  const ses = all.filter((s) => !shared.includes(s));
  assert.deepEqual(ses.map((s) => s.spec.hosts?.[0]).sort(), [CART, PAYMENTS], 'audit-internal is excluded');
  const payments = ses.find((s) => s.spec.hosts?.[0] === PAYMENTS);
  assert.deepEqual(payments?.spec.endpoints, [{ address: '127.0.0.91', weight: 1, serviceAccount: 'payments' }], 'inline endpoint identity from the service attribute');
  // HTTP services get one provider address per entry, the others go to entries of their own
  // (docs/mapping.md#listener-addresses): those endpoints carry the same identity.
  const sharedEndpoints = shared.flatMap((s) => s.spec.endpoints ?? []);
  assert.ok(sharedEndpoints.length >= 1, 'cart has further provider addresses in entries of their own');
  for (const e of sharedEndpoints) assert.equal(e.serviceAccount ?? null, accountOf.get(e.address) ?? null, `shared entry endpoint ${e.address}`);
  assert.ok(!sharedEndpoints.some((e) => e.address === '127.0.0.82' || e.address === '127.0.0.85'), 'excluded endpoints claim no address either');
});

test('metrics and /debug/selection say what the rules excluded; the invalid account is counted', { skip }, async () => {
  const m = await mb!.metrics();
  assert.equal(metricSum(m, 'meshbridge_selection_excluded_services', { registry: 'wl' }), 1);
  assert.equal(metricSum(m, 'meshbridge_selection_excluded_endpoints', { registry: 'wl' }), 2, "audit-internal's endpoint and cart's env=test one");
  assert.equal(metricSum(m, 'meshbridge_selection_excluded_services', { registry: 'inl' }), 0);
  assert.ok(metricSum(m, 'meshbridge_entries_skipped_total', { registry: 'wl', code: 'MB_IDENTITY_INVALID' }) >= 1);
  const sel = (await mb!.debug('selection')) as Array<{ registry: string; excludedServices: number; services: Array<{ service: string; rule?: string; endpoints: number }> }>;
  const wl = sel.find((s) => s.registry === 'wl');
  assert.deepEqual(wl?.services, [
    { service: 'audit-internal', rule: 'services.exclude "*-internal"', endpoints: 1 },
    { service: 'cart', endpoints: 1 },
  ]);
});

type Endpointz = Record<string, Record<string, { Shards?: Record<string, Array<{ Addresses?: string[]; ServiceAccount?: string }>> }>>;

test("istiod gives the endpoints SPIFFE identities and a sidecar's CDS verifies them (auto mTLS SANs)", { skip }, async () => {
  const identities = await eventually(async () => {
    const e = (await istiod!.debug('endpointz')) as Endpointz;
    const out: Record<string, string> = {};
    for (const host of [CART, PAYMENTS]) {
      for (const byNs of Object.values(e[host] ?? {})) {
        for (const eps of Object.values(byNs.Shards ?? {})) for (const ep of eps) out[ep.Addresses?.[0] ?? ''] = ep.ServiceAccount ?? '';
      }
    }
    return Object.keys(out).length >= 4 ? out : undefined;
  }, 30_000, 'istiod lists the endpoints');
  assert.deepEqual(identities, { '127.0.0.81': spiffe('cart'), '127.0.0.83': spiffe('mesh-default'), '127.0.0.84': '', '127.0.0.91': spiffe('payments') });

  sidecar = startSidecar({ address: istiod!.grpcAddress, ip: '10.10.0.7', pod: 'client', namespace: `${NS}-client` });
  const sans = (name: string, clusters: readonly unknown[]): string => {
    const c = clusters.find((x) => (x as { name?: string }).name === name) as { transport_socket_matches?: Array<{ transport_socket?: { typed_config?: { value?: string } } }> } | undefined;
    // UpstreamTlsContext is not among the decoded protos: its bytes hold the SAN strings as they are.
    return (c?.transport_socket_matches ?? []).map((m) => Buffer.from(m.transport_socket?.typed_config?.value ?? '', 'base64').toString('latin1')).join('\n');
  };
  const state = await sidecar.waitFor((s) => sans(`outbound|8080||${CART}`, s.clusters).includes(spiffe('cart')), 60_000);
  const cart = sans(`outbound|8080||${CART}`, state.clusters);
  assert.ok(cart.includes(spiffe('mesh-default')), 'every identity of the service is a SAN the client accepts');
  assert.ok(sans(`outbound|8443||${PAYMENTS}`, state.clusters).includes(spiffe('payments')));
});

test('an AuthorizationPolicy naming those principals is accepted by the API server and by istiod', { skip }, async () => {
  const policy = {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name: 'cart-from-payments', namespace: NS },
    spec: {
      selector: { matchLabels: { 'meshbridge.io/service-entry': CART } },
      action: 'ALLOW',
      rules: [{ from: [{ source: { principals: [`cluster.local/ns/${NS}/sa/payments`] } }], to: [{ operation: { ports: ['8080'], methods: ['GET', 'POST'] } }] }],
    },
  };
  await peers.applyManifest(api!, [policy]);
  // The CEL rules are real: a policy with both selector and targetRefs is refused.
  const bad = { ...policy, metadata: { name: 'both', namespace: NS }, spec: { ...policy.spec, targetRefs: [{ kind: 'Service', group: '', name: 'cart' }] } };
  await assert.rejects(peers.applyManifest(api!, [bad]), /only one of targetRefs or selector can be set/);
  const seen = await eventually(async () => {
    const c = await istiodConfigz(istiod!, NS);
    const p = c.find((o) => o.key === `AuthorizationPolicy/${NS}/cart-from-payments`);
    return p !== undefined ? c : undefined;
  }, 30_000, 'istiod lists the AuthorizationPolicy');
  const p = seen.find((o) => o.key === `AuthorizationPolicy/${NS}/cart-from-payments`);
  assert.deepEqual((p?.spec as { rules?: unknown })?.rules, policy.spec.rules);
  assert.ok(seen.some((o) => o.key.startsWith('WorkloadEntry/') && (o.spec as { serviceAccount?: string }).serviceAccount === 'cart'), 'istiod holds the WorkloadEntry with its account');
  assert.ok(!seen.some((o) => o.key === `AuthorizationPolicy/${NS}/both`));
});

test("a reload excluding most of a registry: published at once, the sink's prune guard holds the deletions in the cluster", { skip }, async () => {
  const before = await readFile(configPath, 'utf8');
  await replaceFile(configPath, before.replace('services: {exclude: ["*-internal"]}', 'services: {exclude: ["*-internal", cart]}'));
  const held = await eventually(async () => {
    const k = (await mb!.debug('kubernetes')) as { held?: Array<{ registry: string; kind: string; wouldDelete: number; owned: number }> };
    const h = (k.held ?? []).filter((x) => x.registry === 'wl');
    return h.length > 0 ? h : undefined;
  }, 30_000, 'the sink holds wl\'s deletions');
  assert.ok(held.some((h) => h.kind === 'ServiceEntry' && h.wouldDelete === h.owned), JSON.stringify(held));
  const snap = (await mb!.debug('snapshot')) as { kinds?: Record<string, { resources: Array<{ spec: { hosts?: string[] } }> }> };
  assert.ok(!(snap.kinds?.['ServiceEntry']?.resources ?? []).some((r) => r.spec.hosts?.[0] === CART), 'the snapshot no longer has cart (no pipeline guard hold)');
  const m = await mb!.metrics();
  assert.equal(metricSum(m, 'meshbridge_protect_held_services', { registry: 'wl' }), 0, 'the pipeline guard does not hold a narrower selection');
  const ses = (await listIstio(api!, 'serviceentries', NS)) as unknown as Listed[];
  assert.ok(ses.some((x) => x.spec.hosts?.[0] === CART), 'cart stays in the cluster while the sink holds');
});
