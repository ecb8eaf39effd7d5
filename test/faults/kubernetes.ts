/**
 * Fault scenarios on the Kubernetes route: a real kube-apiserver (and its etcd) as the target;
 * kill -9 in the middle of the initial apply, a partitioned, a slow and throttling API server,
 * and leader failover between two replicas.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKubeCluster } from '../../test-support/kube.js';
import type { KubeApi, PeersModule } from '../../test-support/peers.js';
import { metricSum, startMeshbridge, writeServices, type MeshbridgeProcess } from '../../test-support/meshbridge.js';
import { loadZookeeperPeers } from '../../test-support/zookeeper.js';
import { fileServices, rssSampler, sleep, SHORT, until, type Row } from '../../test-support/faults.js';

/** The per-service ServiceEntries in `ns` at the API server (shared entries left out). */
async function serviceEntryNames(peers: PeersModule, api: KubeApi, ns: string): Promise<Set<string>> {
  const r = await peers.kubeRequest(api, 'GET', `/apis/networking.istio.io/v1/namespaces/${ns}/serviceentries`);
  const items = (r.body as { items?: Array<{ metadata: { name: string } }> }).items ?? [];
  return new Set(items.map((o) => o.metadata.name).filter((n) => !n.endsWith('.shared.meshbridge.internal')));
}

/** Kubernetes route: kill -9 of Meshbridge in the middle of its initial apply; restart. */
export async function killMidApply(peers: PeersModule): Promise<Row> {
  const N = SHORT ? 150 : 600;
  const NS = 'faults-kube';
  const { api, stop } = await startKubeCluster({ namespaces: [NS] });
  try {
    const dir = await mkdtemp(join(tmpdir(), 'mb-fault-kube-'));
    await writeServices(join(dir, 'services.yaml'), fileServices(N));
    const [admin] = (await peers.freePorts(1)) as [number];
    const config = join(dir, 'meshbridge.yaml');
    await writeFile(
      config,
      `registries:
  - {name: files, kind: file, namespace: ${NS}, file: {path: services.yaml}}
sinks:
  kubernetes: {kubeconfig: ${api.kubeconfigPath}, qps: 50, burst: 50}
admin: {address: 127.0.0.1:${admin}}
log: {level: warn}
`,
    );
    const count = async (): Promise<number> => (await serviceEntryNames(peers, api, NS)).size;
    let mb: MeshbridgeProcess | undefined = await startMeshbridge({ config, adminPort: admin });
    const rss = rssSampler(() => mb);
    await until(async () => (await count()) >= N / 3, 60_000, 'a third applied');
    const before = await count();
    await mb.kill();
    const t0 = Date.now();
    mb = await startMeshbridge({ config, adminPort: admin });
    let min = before;
    await until(async () => {
      const n = await count();
      min = Math.min(min, n);
      return n === N;
    }, 120_000, 'every ServiceEntry applied after the restart');
    const convergeMs = Date.now() - t0;
    const writes = metricSum(await mb.metrics(), 'meshbridge_kube_writes_total', { op: 'apply' });
    const deletes = metricSum(await mb.metrics(), 'meshbridge_kube_writes_total', { op: 'delete' });
    await mb.stop();
    return { scenario: `kill -9 in the middle of the initial apply (${before} of ${N} written)`, route: 'kubernetes', services: N, removed: before - min + deletes, convergeMs, writes, peakRssMiB: await rss.stop(), note: `qps 50; restart wrote the rest`, ok: min >= before && deletes === 0 };
  } finally {
    await stop();
  }
}

/**
 * Kubernetes route: the API server is partitioned away (a TCP proxy that holds connections open
 * and forwards nothing) for 10 s while the registry changes; then it is back.
 */
export async function apiserverPartition(peers: PeersModule): Promise<Row> {
  const N = SHORT ? 50 : 300;
  const zkPeers = await loadZookeeperPeers();
  const NS = 'faults-partition';
  const { api, stop } = await startKubeCluster({ namespaces: [NS] });
  const proxy = await zkPeers.startTcpProxy(Number(new URL(api.url).port));
  try {
    const dir = await mkdtemp(join(tmpdir(), 'mb-fault-part-'));
    const kubeconfig = await peers.writeKubeconfig({ url: `https://127.0.0.1:${proxy.port}`, ca: api.ca }, { token: api.token, file: join(dir, 'kubeconfig') });
    const services = join(dir, 'services.yaml');
    const all = fileServices(N + 5);
    await writeServices(services, all.slice(0, N));
    const [admin] = (await peers.freePorts(1)) as [number];
    const config = join(dir, 'meshbridge.yaml');
    await writeFile(
      config,
      `registries:
  - {name: files, kind: file, namespace: ${NS}, file: {path: services.yaml, pollIntervalMs: 500}}
sinks:
  kubernetes: {kubeconfig: ${kubeconfig}, qps: 200, burst: 200}
admin: {address: 127.0.0.1:${admin}}
log: {level: warn}
`,
    );
    const names = (): Promise<Set<string>> => serviceEntryNames(peers, api, NS);
    const mb = await startMeshbridge({ config, adminPort: admin });
    const rss = rssSampler(() => mb);
    try {
      await until(async () => (await names()).size === N, 60_000, 'initial apply');
      proxy.block();
      // While partitioned: 5 services added, 1 removed (within every guard).
      const want = [...all.slice(1, N + 5)];
      await writeServices(services, want);
      let minSeen = N;
      const t1 = Date.now();
      while (Date.now() - t1 < 10_000) {
        minSeen = Math.min(minSeen, (await names()).size);
        await sleep(500);
      }
      proxy.unblock();
      const t0 = Date.now();
      const expected = new Set(want.map((x) => `${x.name}.${x.namespace}.files.local`));
      await until(async () => {
        const now = await names();
        minSeen = Math.min(minSeen, now.size);
        return now.size === expected.size && [...expected].every((n) => now.has(n));
      }, 120_000, 'converged after the partition');
      const convergeMs = Date.now() - t0;
      const deletes = metricSum(await mb.metrics(), 'meshbridge_kube_writes_total', { op: 'delete', result: 'ok' });
      const writes = metricSum(await mb.metrics(), 'meshbridge_kube_writes_total', { op: 'apply' });
      const removed = Math.max(0, N - 1 - minSeen);
      return { scenario: 'kube-apiserver partitioned for 10 s while the registry changes', route: 'kubernetes', services: N, removed, convergeMs, writes, peakRssMiB: await rss.stop(), note: `${deletes} delete (the service really removed); request timeout 15 s`, ok: removed === 0 && deletes === 1 };
    } finally {
      await mb.stop();
      await rss.stop();
    }
  } finally {
    await proxy.stop();
    await stop();
  }
}

/** Kubernetes route, two replicas with leader election: kill -9 of the leader; the standby takes over. */
export async function leaderFailover(peers: PeersModule): Promise<Row> {
  const N = SHORT ? 50 : 300;
  const NS = 'faults-leader';
  const { api, stop } = await startKubeCluster({ namespaces: [NS] });
  try {
    const dir = await mkdtemp(join(tmpdir(), 'mb-fault-leader-'));
    const services = join(dir, 'services.yaml');
    const all = fileServices(N + 1);
    await writeServices(services, all.slice(0, N));
    const ports = (await peers.freePorts(2)) as [number, number];
    const configs = await Promise.all(
      ports.map(async (admin, i) => {
        const config = join(dir, `meshbridge-${i}.yaml`);
        await writeFile(
          config,
          `registries:
  - {name: files, kind: file, namespace: ${NS}, file: {path: services.yaml, pollIntervalMs: 500}}
sinks:
  kubernetes:
    kubeconfig: ${api.kubeconfigPath}
    qps: 200
    burst: 200
    leaderElection: {enabled: true, namespace: ${NS}, name: meshbridge-faults, leaseDurationSeconds: 6, renewDeadlineSeconds: 4, retryPeriodSeconds: 1, identity: replica-${i}}
admin: {address: 127.0.0.1:${admin}}
log: {level: warn}
`,
        );
        return config;
      }),
    );
    const count = async (): Promise<number> => (await serviceEntryNames(peers, api, NS)).size;
    const a = await startMeshbridge({ config: configs[0]!, adminPort: ports[0] });
    await until(async () => metricSum(await a.metrics(), 'meshbridge_kube_leader') === 1, 30_000, 'replica-0 leads');
    const b = await startMeshbridge({ config: configs[1]!, adminPort: ports[1] });
    const rss = rssSampler(() => b);
    try {
      await until(async () => (await count()) === N, 60_000, 'initial apply');
      await a.kill();
      await writeServices(services, all);
      const t0 = Date.now();
      let min = N;
      await until(async () => {
        const n = await count();
        min = Math.min(min, n);
        return n === N + 1;
      }, 60_000, 'the standby applied the change');
      const convergeMs = Date.now() - t0;
      const deletes = metricSum(await b.metrics(), 'meshbridge_kube_writes_total', { op: 'delete' });
      return { scenario: 'leader failover: kill -9 of the leader of two replicas', route: 'kubernetes', services: N, removed: N - min + deletes, convergeMs, writes: metricSum(await b.metrics(), 'meshbridge_kube_writes_total', { op: 'apply' }), peakRssMiB: await rss.stop(), note: 'lease 6 s; converge: kill -> the change applied by the standby', ok: min >= N && deletes === 0 };
    } finally {
      await b.stop();
      await rss.stop();
    }
  } finally {
    await stop();
  }
}

/**
 * An HTTPS proxy in front of the kube-apiserver that answers a share of the writes with 429
 * (Retry-After: 1) and delays every other request: a slow, throttling API server. Its serving
 * certificate is made with Debian's openssl for 127.0.0.1.
 */
async function throttlingProxy(api: { url: string; ca: string }, dir: string, opts: { rejectShare: number; delayMs: number }): Promise<{ port: number; ca: string; rejected: () => number; close: () => void }> {
  const { execFileSync } = await import('node:child_process');
  const https = await import('node:https');
  const { readFileSync } = await import('node:fs');
  const key = join(dir, 'proxy.key');
  const cert = join(dir, 'proxy.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const target = new URL(api.url);
  let rejected = 0;
  let writes = 0;
  const server = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    const write = req.method !== 'GET';
    if (write && (writes++ % Math.round(1 / opts.rejectShare)) === 0) {
      rejected += 1;
      req.resume();
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' }).end('{"kind":"Status","reason":"TooManyRequests","code":429}');
      return;
    }
    setTimeout(() => {
      const up = https.request({ host: '127.0.0.1', port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host }, ca: api.ca }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    }, opts.delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  // close() drops the kept-alive upstream connections too: the API server then stops at once.
  const close = (): void => {
    server.closeAllConnections();
    server.close();
  };
  return { port: (server.address() as { port: number }).port, ca: readFileSync(cert, 'utf8'), rejected: () => rejected, close };
}

/** Kubernetes route through a slow API server that answers every fifth write with 429. */
export async function apiserverThrottling(peers: PeersModule): Promise<Row> {
  const N = SHORT ? 50 : 300;
  const NS = 'faults-throttle';
  const { api, stop } = await startKubeCluster({ namespaces: [NS] });
  const dir = await mkdtemp(join(tmpdir(), 'mb-fault-429-'));
  const proxy = await throttlingProxy(api, dir, { rejectShare: 0.2, delayMs: 300 });
  try {
    const kubeconfig = await peers.writeKubeconfig({ url: `https://127.0.0.1:${proxy.port}`, ca: proxy.ca }, { token: api.token, file: join(dir, 'kubeconfig') });
    const services = join(dir, 'services.yaml');
    const all = fileServices(N + 5);
    await writeServices(services, all.slice(0, N));
    const [admin] = (await peers.freePorts(1)) as [number];
    const config = join(dir, 'meshbridge.yaml');
    await writeFile(config, `registries:\n  - {name: files, kind: file, namespace: ${NS}, file: {path: services.yaml, pollIntervalMs: 500}}\nsinks:\n  kubernetes: {kubeconfig: ${kubeconfig}, qps: 200, burst: 200}\nadmin: {address: 127.0.0.1:${admin}}\nlog: {level: warn}\n`);
    const names = async (): Promise<number> => (await serviceEntryNames(peers, api, NS)).size;
    const mb = await startMeshbridge({ config, adminPort: admin });
    const rss = rssSampler(() => mb);
    try {
      await until(async () => (await names()) === N, 120_000, 'initial apply through the throttling proxy');
      const t0 = Date.now();
      await writeServices(services, all);
      let min = N;
      await until(async () => {
        const n = await names();
        min = Math.min(min, n);
        return n === N + 5;
      }, 120_000, 'the change applied through the throttling proxy');
      const convergeMs = Date.now() - t0;
      const m = await mb.metrics();
      const deletes = metricSum(m, 'meshbridge_kube_writes_total', { op: 'delete' });
      const failed = metricSum(m, 'meshbridge_kube_writes_total', { result: 'error' });
      return { scenario: 'slow kube-apiserver (300 ms) answering every fifth write 429', route: 'kubernetes', services: N, removed: N - min + deletes, convergeMs, writes: metricSum(m, 'meshbridge_kube_writes_total', { op: 'apply' }), peakRssMiB: await rss.stop(), note: `${proxy.rejected()} answered 429 and retried after Retry-After; ${failed} writes failed`, ok: min >= N && deletes === 0 && failed === 0 };
    } finally {
      await mb.stop();
      await rss.stop();
    }
  } finally {
    proxy.close();
    await stop();
  }
}

