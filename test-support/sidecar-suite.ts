/**
 * Sidecar scoping from consumers (ADR 0023), end to end on one route (MCP or Kubernetes): Dubbo
 * providers and consumers written to a real ZooKeeper -> `meshbridge run` (zookeeper registry with
 * a `sidecars` block) -> the snapshot holds a Sidecar per consumer application -> a real istiod
 * takes it (over MCP, or as the object the Kubernetes sink wrote) -> a client posing as the consumer's sidecar (labels matching the workloadSelector) gets
 * clusters only for the services its application consumes, while a proxy without a Sidecar gets
 * every service. Then the consumer starts consuming another interface (the Sidecar and the CDS
 * follow) and its last instance goes (the Sidecar is removed, the proxy sees everything again).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPeers, requirePeers, type Istiod, type KubeApi } from './peers.js';
import { startMeshbridge, tempDir, writeRunConfig, type MeshbridgeProcess } from './meshbridge.js';
import { startSidecar, type SidecarClient, type XdsState } from './dataplane/index.js';
import { javaUrlEncode, loadZookeeperPeers, missingPeers, ZkWriter, type ZookeeperServer } from './zookeeper.js';

const DEADLINE = 90_000;
const IFACES = ['com.example.Foo', 'com.example.Bar', 'com.example.Baz'] as const;

interface PublishedSidecar {
  readonly namespace: string;
  readonly name: string;
  readonly spec: { workloadSelector: { labels: Record<string, string> }; egress: Array<{ hosts: string[] }> };
}
interface Snapshot {
  readonly kinds?: Record<string, { resources: Array<{ namespace: string; name: string; spec: Record<string, unknown> }> } | undefined>;
}

/** The outbound service hosts a proxy has clusters for (`outbound|port||host`). */
function clusterHosts(s: XdsState): string[] {
  const hosts = new Set<string>();
  for (const c of s.clusters) {
    const m = /^outbound\|\d+\|\|(.+)$/.exec(c.name ?? '');
    if (m?.[1] !== undefined) hosts.add(m[1]);
  }
  return [...hosts].sort();
}

export interface SidecarSuiteOptions {
  readonly mode: 'mcp' | 'kubernetes';
  /** Namespace of the ServiceEntries; the consumer application runs in `${namespace}-shop`. */
  readonly namespace: string;
}

/** Registers the hooks and tests of one route in the calling test file. */
export async function sidecarSuite(options: SidecarSuiteOptions): Promise<void> {
  const { mode, namespace: NS } = options;
  const APP_NS = `${NS}-shop`;
  const zkPeers = await loadZookeeperPeers();
  const kubePeers = mode === 'kubernetes' ? (['etcd', 'kube-apiserver', 'istio-crds', 'istiod'] as const) : (['etcd', 'kube-apiserver', 'istiod'] as const);
  const skip = (await requirePeers(...kubePeers)) ?? missingPeers(zkPeers, 'zookeeper');
  describe(`sidecar scoping from Dubbo consumers, ${mode} route`, { skip, timeout: 300_000 }, () => {
    let zk: ZookeeperServer | undefined;
    let writer: ZkWriter | undefined;
    let api: KubeApi | undefined;
    let istiod: Istiod | undefined;
    let mb: MeshbridgeProcess | undefined;
    const clients: SidecarClient[] = [];
    let kubeSidecars: () => Promise<Array<{ metadata: { name: string; labels?: Record<string, string> }; spec: unknown }>> = () => Promise.resolve([]);
    const consumer = (iface: string, app: string, ip: string): string =>
      `/dubbo/${iface}/consumers/${javaUrlEncode(`consumer://${ip}/${iface}?application=${app}&category=consumers&check=false&interface=${iface}&side=consumer&pid=1&timestamp=1`)}`;

    before(async () => {
      zk = await zkPeers.startZookeeper();
      writer = await ZkWriter.connect(zk.connectString);
      for (const [i, iface] of IFACES.entries()) {
        await writer.mkdirp(`/dubbo/${iface}/providers`);
        await writer.mkdirp(`/dubbo/${iface}/consumers`);
        const url = `dubbo://127.0.0.${20 + i}:20880/${iface}?application=provider-${i}&interface=${iface}&side=provider&timestamp=1`;
        await writer.create(`/dubbo/${iface}/providers/${javaUrlEncode(url)}`);
      }
      // web consumes Foo (two instances); an application without a known namespace is skipped;
      // a malformed consumer URL is reported and skipped.
      await writer.create(consumer('com.example.Foo', 'web', '10.10.0.7'));
      await writer.create(consumer('com.example.Foo', 'web', '10.10.0.9'));
      await writer.create(consumer('com.example.Bar', 'batch', '10.10.0.10'));
      await writer.create(`/dubbo/com.example.Baz/consumers/${javaUrlEncode('consumer://10.10.0.11/com.example.Baz?side=consumer')}`);
      const peers = await loadPeers();
      api = await peers.startKubeApiserver({ authorization: 'AlwaysAllow' });
      const dir = await tempDir(`meshbridge-sidecars-${mode}-`);
      const [adminPort, xdsPort] = (await peers.freePorts(2)) as [number, number];
      const config = await writeRunConfig(dir, {
        registries: `  - name: dubbo
    kind: zookeeper
    namespace: ${NS}
    zookeeper: {servers: "${zk.connectString}"}
    sidecars: {namespaces: {web: ${APP_NS}}, alwaysInclude: ["istio-system/*"]}`,
        sinks: mode === 'mcp' ? `  xds: {address: 127.0.0.1:${xdsPort}}` : `  kubernetes: {kubeconfig: ${api.kubeconfigPath}}`,
        admin: adminPort,
      });
      if (mode === 'mcp') {
        mb = await startMeshbridge({ config, adminPort });
        istiod = await peers.startIstiod({ mode: 'mcp', xdsAddress: `127.0.0.1:${xdsPort}`, kubeconfig: api.kubeconfigPath, api, timeoutMs: 90_000 });
      } else {
        await peers.applyIstioCrds(api);
        for (const ns of [NS, APP_NS]) await peers.ensureNamespace(api, ns);
        istiod = await peers.startIstiod({ mode: 'kubernetes', kubeconfig: api.kubeconfigPath, api, timeoutMs: 90_000 });
        mb = await startMeshbridge({ config, adminPort });
      }
      kubeSidecars = async () => {
        const r = await peers.kubeRequest(api!, 'GET', `/apis/networking.istio.io/v1/namespaces/${APP_NS}/sidecars`);
        return ((r.body as { items?: Array<{ metadata: { name: string; labels?: Record<string, string> }; spec: unknown }> }).items ?? []);
      };
    });

    after(async () => {
      for (const c of clients) c.close();
      await mb?.kill().catch(() => undefined);
      await istiod?.stop();
      await api?.stop();
      writer?.close();
      await zk?.stop();
    });

    const sidecars = async (): Promise<PublishedSidecar[]> => {
      const snap = (await mb!.debug('snapshot')) as Snapshot;
      return (snap.kinds?.['Sidecar']?.resources ?? []) as unknown as PublishedSidecar[];
    };
    const serviceHosts = async (): Promise<string[]> => {
      const snap = (await mb!.debug('snapshot')) as Snapshot;
      return (snap.kinds?.['ServiceEntry']?.resources ?? []).map((r) => (r.spec['hosts'] as string[])[0] ?? '').sort();
    };

    test('the snapshot holds a Sidecar for the consumer application, listing only what it consumes', async () => {
      const hosts = await serviceHosts();
      assert.deepEqual(hosts, ['com.example.bar', 'com.example.baz', 'com.example.foo']);
      const list = await sidecars();
      assert.deepEqual(list.map((s) => `${s.namespace}/${s.name}`), [`${APP_NS}/web`]);
      assert.deepEqual(list[0]?.spec, { workloadSelector: { labels: { app: 'web' } }, egress: [{ hosts: ['istio-system/*', `${NS}/com.example.foo`] }] });
      const logs = (mb!.stdout() + mb!.stderr()).split('\n');
      assert.ok(logs.some((l) => l.includes('MB_ENTRY_INVALID') && l.includes('/dubbo/com.example.Baz/consumers/')), 'the malformed consumer URL is reported with its path');
      assert.equal(logs.filter((l) => l.includes('MB_SIDECAR_SKIPPED') && l.includes('batch')).length, 1, 'batch (no namespace) is skipped and reported once');
      if (mode === 'kubernetes') {
        // The sink wrote it as an owned object.
        const deadline = Date.now() + 20_000;
        let objs = await kubeSidecars();
        while (objs.length === 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 200));
          objs = await kubeSidecars();
        }
        assert.deepEqual(objs.map((o) => o.metadata.name), ['web']);
        assert.equal(objs[0]?.metadata.labels?.['meshbridge.io/instance'], 'meshbridge');
        assert.deepEqual(objs[0]?.spec, list[0]?.spec);
      }
    });

    test('istiod takes the Sidecar: the consumer\'s proxy gets clusters only for the consumed service, a proxy without a Sidecar gets all', async (t) => {
      const web = startSidecar({ address: istiod!.grpcAddress, ip: '10.10.0.7', pod: 'web-1', namespace: APP_NS, labels: { app: 'web' } });
      const other = startSidecar({ address: istiod!.grpcAddress, ip: '10.10.0.8', pod: 'other-1', namespace: APP_NS, labels: { app: 'other' } });
      clients.push(web, other);
      const all = ['com.example.bar', 'com.example.baz', 'com.example.foo'];
      const otherState = await other.waitFor((s) => all.every((h) => clusterHosts(s).includes(h)), DEADLINE);
      const webState = await web.waitFor((s) => clusterHosts(s).includes('com.example.foo') && !clusterHosts(s).includes('com.example.bar'), DEADLINE);
      t.diagnostic(`clusters: web ${webState.clusters.length} (${clusterHosts(webState).join(', ')}), other ${otherState.clusters.length}`);
      assert.deepEqual(clusterHosts(webState).filter((h) => all.includes(h)), ['com.example.foo']);
      assert.ok(webState.clusters.length < otherState.clusters.length, `fewer clusters with the Sidecar: ${webState.clusters.length} < ${otherState.clusters.length}`);
      // The proxy without a Sidecar also sees the API server's own service; the scoped one does not.
      assert.ok(!clusterHosts(webState).some((h) => h.endsWith('.svc.cluster.local')), clusterHosts(webState).join(', '));
    });

    test('web starts consuming Bar: the Sidecar and the proxy\'s clusters follow; its last instance goes: the Sidecar is removed', async () => {
      const web = clients[0]!;
      await writer!.create(consumer('com.example.Bar', 'web', '10.10.0.7'));
      let list: PublishedSidecar[] = [];
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        list = await sidecars();
        if (list[0]?.spec.egress[0]?.hosts.includes(`${NS}/com.example.bar`) === true) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.deepEqual(list[0]?.spec.egress[0]?.hosts, ['istio-system/*', `${NS}/com.example.bar`, `${NS}/com.example.foo`]);
      const s1 = await web.waitFor((s) => clusterHosts(s).includes('com.example.bar'), DEADLINE);
      assert.ok(!clusterHosts(s1).includes('com.example.baz'), 'Baz is still out of scope');

      for (const ip of ['10.10.0.7', '10.10.0.9']) await writer!.remove(consumer('com.example.Foo', 'web', ip));
      await writer!.remove(consumer('com.example.Bar', 'web', '10.10.0.7'));
      const gone = Date.now() + 20_000;
      while (Date.now() < gone && (await sidecars()).length > 0) await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(await sidecars(), []);
      if (mode === 'kubernetes') {
        while (Date.now() < gone + 20_000 && (await kubeSidecars()).length > 0) await new Promise((r) => setTimeout(r, 200));
        assert.deepEqual(await kubeSidecars(), [], 'the Kubernetes sink pruned the Sidecar');
      }
      // Without its Sidecar the proxy is back to the default scope: every service.
      const s2 = await web.waitFor((s) => clusterHosts(s).includes('com.example.baz'), DEADLINE);
      assert.ok(clusterHosts(s2).includes('com.example.foo'));
    });
  });
}
