/**
 * Event-loop delay of the real Meshbridge CLI during a large initial sync, on both routes
 * (issue 10 case 11: nothing Meshbridge does may starve a registry session's heartbeats). A file
 * registry of N services x E endpoints -> `meshbridge run` -> (a) an ADS client (MCP route) or
 * (b) a real kube-apiserver (Kubernetes route, qps 500). Meshbridge's own
 * meshbridge_nodejs_eventloop_lag_max_seconds (the worst delay since the previous scrape) is
 * scraped every 500 ms from start until the sync is complete; the worst value is the figure to
 * compare with the shortest registry session timeout (ZooKeeper's minimum is 2 tickTimes, 4 s
 * by default; Meshbridge asks for 30 s; Nacos' gRPC health check 20 s).
 *
 * Usage: node dist/bench/loop-delay.js [services=10000] [endpoints=10]. Prints a table; records
 * nothing by itself (copy it to docs/benchmarks.md with the commit). Never asserts on time.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdsClient } from '../test-support/xds/adsc.js';
import { startKubeCluster } from '../test-support/kube.js';
import { loadPeers, type PeersModule } from '../test-support/peers.js';
import { metricSum, startMeshbridge, writeServices, type FileService, type MeshbridgeProcess } from '../test-support/meshbridge.js';

const N = Number(process.argv[2] ?? 10_000);
const E = Number(process.argv[3] ?? 10);
/** addresses mode of the registry (BENCH_ADDRESSES; default the product default). */
const ADDR = process.env['BENCH_ADDRESSES'] === undefined ? '' : `, addresses: ${process.env['BENCH_ADDRESSES']}`;
const ROUTES = (process.env['BENCH_ROUTES'] ?? 'mcp,kubernetes').split(',');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function services(): FileService[] {
  return Array.from({ length: N }, (_, i) => ({
    name: `svc-${i}`,
    namespace: 'shop',
    ports: [{ number: 20880, name: 'tcp-dubbo', protocol: 'TCP' }],
    instances: Array.from({ length: E }, (_, k) => ({ address: `10.${(i >> 8) & 255}.${i & 255}.${k + 1}`, weight: 1, labels: { app: `svc-${i}` } })),
  }));
}

interface Sample {
  readonly worstMs: number;
  readonly samples: number;
  readonly syncMs: number;
  readonly peakRssMiB: number;
}

async function scrapeUntil(mb: MeshbridgeProcess, done: () => Promise<boolean>): Promise<Sample> {
  const t0 = Date.now();
  let worst = 0;
  let rss = 0;
  let n = 0;
  for (;;) {
    try {
      const m = await mb.metrics();
      worst = Math.max(worst, metricSum(m, 'meshbridge_nodejs_eventloop_lag_max_seconds') * 1000);
      rss = Math.max(rss, metricSum(m, 'meshbridge_process_resident_memory_bytes'));
      n += 1;
    } catch {
      /* a scrape that timed out is itself a delay: counted by the next one */
    }
    if (await done()) break;
    await sleep(500);
  }
  return { worstMs: Math.round(worst), samples: n, syncMs: Date.now() - t0, peakRssMiB: Math.round(rss / 1048576) };
}

async function mcpRoute(peers: PeersModule, dir: string): Promise<Sample> {
  const [admin, xds] = (await peers.freePorts(2)) as [number, number];
  const config = join(dir, 'mcp.yaml');
  await writeFile(config, `registries:\n  - {name: files, kind: file, namespace: bench${ADDR}, file: {path: services.json}}\nsinks:\n  xds: {address: 127.0.0.1:${xds}}\nadmin: {address: 127.0.0.1:${admin}}\nlog: {level: warn}\n`);
  const mb = await startMeshbridge({ config, adminPort: admin, readyTimeoutMs: 300_000 });
  const c = new AdsClient({ port: xds });
  c.subscribe(['networking.istio.io/v1/ServiceEntry']);
  try {
    return await scrapeUntil(mb, () => Promise.resolve(c.responsesFor('networking.istio.io/v1/ServiceEntry').some((r) => r.resources.length >= N)));
  } finally {
    c.close();
    await mb.stop();
  }
}

async function kubeRoute(peers: PeersModule, dir: string): Promise<Sample> {
  const { api, stop } = await startKubeCluster({ namespaces: ['bench'] });
  try {
    const [admin] = (await peers.freePorts(1)) as [number];
    const config = join(dir, 'kube.yaml');
    await writeFile(
      config,
      `registries:\n  - {name: files, kind: file, namespace: bench${ADDR}, file: {path: services.json}}\nsinks:\n  kubernetes: {kubeconfig: ${api.kubeconfigPath}, qps: 500, burst: 500, concurrency: 16}\nadmin: {address: 127.0.0.1:${admin}}\nlog: {level: warn}\n`,
    );
    const mb = await startMeshbridge({ config, adminPort: admin, readyTimeoutMs: 300_000 });
    try {
      return await scrapeUntil(mb, async () => metricSum(await mb.metrics(), 'meshbridge_kube_writes_total', { op: 'apply', result: 'ok' }) >= N);
    } finally {
      await mb.stop();
    }
  } finally {
    await stop();
  }
}

const peers = await loadPeers();
const dir = await mkdtemp(join(tmpdir(), 'mb-loop-delay-'));
await writeServices(join(dir, 'services.json'), services());
const rows: string[] = [];
for (const [route, run] of [['mcp', mcpRoute], ['kubernetes', kubeRoute]] as const) {
  if (!ROUTES.includes(route)) continue;
  process.stderr.write(`[loop-delay] ${route} route, ${N} services x ${E} endpoints...\n`);
  const s = await run(peers, dir);
  rows.push(`| ${route} | ${N} x ${E} | ${s.syncMs} | ${s.worstMs} | ${s.samples} | ${s.peakRssMiB} |`);
}
process.stdout.write(
  ['| Route | Services x endpoints | Start -> synced (ms) | Worst event-loop delay (ms) | Scrapes | Peak RSS (MiB) |', '| --- | --- | ---: | ---: | ---: | ---: |', ...rows].join('\n') + '\n',
);
