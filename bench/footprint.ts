/**
 * footprint: what a small deployment pays. The real CLI (`node dist/src/main.js run`) is started
 * as its own process against a real ZooKeeper holding a few Dubbo services, on the Kubernetes
 * route (a real kube-apiserver with Istio's CRDs, the checkpoint in a ConfigMap, admin server on:
 * the chart's defaults) or the MCP route (an ADS client of Meshbridge's xDS server).
 *
 * Per case: start to first write (spawn until the first ServiceEntry is seen by a watch on the
 * API server, or the first MCP response carrying one), start to all written, RSS after the sync,
 * then an idle window (no registry change): CPU seconds per minute and RSS at its end (VmRSS) and
 * the peak (VmHWM), read from /proc. Baseline, same run: a bare Node.js process (`node -e` with
 * an interval timer), the runtime's own floor.
 *
 * Then, at the smallest size, CHANGES isolated changes (a Dubbo provider registering, then going
 * away, one ZooKeeper write each, 1 s apart): registry write -> the ServiceEntry's new content
 * at the watch / ADS client; p50/p99/max show any tail inside Meshbridge.
 *
 * Env: BENCH_FOOTPRINT_IDLE_S (default 60), BENCH_FOOTPRINT_SIZES (default "5,100"),
 * BENCH_FOOTPRINT_CHANGES (default 30).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { javaUrlEncode, loadZookeeperPeers, ZkWriter, type ZookeeperServer } from '../test-support/zookeeper.js';
import { loadPeers, type KubeApi } from '../test-support/peers.js';
import { AdsClient, ISTIOD_TYPE_URLS_V1 } from '../test-support/xds/adsc.js';
import { freePort } from '../test-support/cli.js';
import { cpuS, procStatus, sleep, stopChild } from './process-stats.js';
import { Compare, percentile, type Bench, type TableResult } from './harness.js';

const IDLE_S = Number(process.env['BENCH_FOOTPRINT_IDLE_S'] ?? 60);
const SIZES = (process.env['BENCH_FOOTPRINT_SIZES'] ?? '5,100').split(',').map(Number);
const PROVIDERS = 2;
const CHANGES = Number(process.env['BENCH_FOOTPRINT_CHANGES'] ?? 30);
const CHANGE_GAP_MS = 1000;
const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const SE_TYPE = ISTIOD_TYPE_URLS_V1.find((u) => u.endsWith('ServiceEntry')) ?? '';

interface Row {
  readonly case: string;
  readonly services: number;
  readonly firstWriteMs: number | undefined;
  readonly allWrittenMs: number | undefined;
  readonly startedLogMs: number | undefined;
  readonly rssSyncedMiB: number;
  readonly rssIdleMiB: number;
  readonly peakMiB: number;
  readonly idleCpuSPerMin: number;
  readonly startCpuS: number;
  /** Isolated changes, registry write -> seen (ms), when measured. */
  readonly changes?: readonly number[];
}

/** The provider URL of service `i`'s provider `k` (its port is 20880 + k). */
function providerUrl(i: number, k: number): string {
  const iface = `com.example.footprint.Service${i}`;
  return (
    `dubbo://127.0.${Math.floor(i / 250) + 1}.${(i % 250) + 1}:${20880 + k}/${iface}?anyhost=true&application=footprint-provider&dubbo=2.0.2` +
    `&interface=${iface}&methods=get,put&pid=4242&release=3.3.6&side=provider&timestamp=1700000000000`
  );
}

/**
 * Isolated changes to service 0: even ones register provider k = 100 + c (one create), odd ones
 * remove it again (one delete); `seen(port, present)` tells whether the observer holds that
 * state. Returns the latencies, ms.
 */
async function isolatedChanges(zk: ZookeeperServer, seen: (port: number, present: boolean) => boolean): Promise<number[]> {
  const w = await ZkWriter.connect(zk.connectString);
  const lat: number[] = [];
  try {
    const dir = '/dubbo/com.example.footprint.Service0/providers';
    for (let c = 0; c < CHANGES; c++) {
      const k = 100 + Math.floor(c / 2);
      const node = `${dir}/${javaUrlEncode(providerUrl(0, k))}`;
      const present = c % 2 === 0;
      const t0 = performance.now();
      if (present) await w.create(node, undefined, false);
      else await w.remove(node);
      await until(() => seen(20880 + k, present), 30_000, `change ${c} seen`);
      lat.push(performance.now() - t0);
      await sleep(CHANGE_GAP_MS);
    }
  } finally {
    w.close();
  }
  return lat;
}




/** Interface-level Dubbo providers as persistent nodes, as a Dubbo 3 provider writes them (ephemeral there). */
async function populate(zk: ZookeeperServer, from: number, to: number): Promise<void> {
  const w = await ZkWriter.connect(zk.connectString);
  try {
    for (let i = from; i < to; i++) {
      const iface = `com.example.footprint.Service${i}`;
      await w.mkdirp(`/dubbo/${iface}/providers`);
      for (let k = 0; k < PROVIDERS; k++) await w.create(`/dubbo/${iface}/providers/${javaUrlEncode(providerUrl(i, k))}`, undefined, false);
    }
  } finally {
    w.close();
  }
}

/** Streams a watch on ServiceEntries in `namespace`; calls `onAdded` per ADDED event and `onEvent` with every event line. */
export function watchServiceEntries(api: KubeApi, namespace: string, onAdded: () => void, onEvent: (line: string) => void = () => undefined): () => void {
  const req = request(new URL(`/apis/networking.istio.io/v1/namespaces/${namespace}/serviceentries?watch=1`, api.url), {
    ca: api.ca,
    headers: { authorization: `Bearer ${api.token}`, accept: 'application/json' },
  });
  req.on('response', (res) => {
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.includes('"type":"ADDED"')) onAdded();
        onEvent(line);
      }
    });
  });
  req.on('error', () => undefined);
  req.end();
  return () => req.destroy();
}

interface Started {
  readonly child: ChildProcess;
  readonly t0: number;
  startedLogAt: number | undefined;
}

function spawnCli(config: string): Started {
  const child = spawn(process.execPath, [MAIN, 'run', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const s: Started = { child, t0: performance.now(), startedLogAt: undefined };
  // The logger writes JSON lines to stdout or stderr (log.destination); either carries the line.
  for (const stream of [child.stdout, child.stderr]) {
    let out = '';
    stream?.setEncoding('utf8').on('data', (c: string) => {
      if (s.startedLogAt !== undefined) return;
      out = (out + c).slice(-4096);
      if (out.includes('meshbridge started')) s.startedLogAt = performance.now();
    });
  }
  return s;
}


async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`footprint: timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Samples the process after its sync and over the idle window. */
async function measure(label: string, services: number, s: Started, first: () => number | undefined, all: () => number | undefined): Promise<Row> {
  const pid = s.child.pid ?? 0;
  await sleep(2000); // the first sync's garbage settles (no forced GC: this is the process as run)
  const startCpu = cpuS(pid);
  const synced = procStatus(pid);
  await sleep(IDLE_S * 1000);
  const idleCpu = cpuS(pid) - startCpu;
  const idle = procStatus(pid);
  const rel = (t: number | undefined): number | undefined => (t === undefined ? undefined : t - s.t0);
  return {
    case: label,
    services,
    firstWriteMs: rel(first()),
    allWrittenMs: rel(all()),
    startedLogMs: rel(s.startedLogAt),
    rssSyncedMiB: synced.rss,
    rssIdleMiB: idle.rss,
    peakMiB: idle.hwm,
    idleCpuSPerMin: (idleCpu * 60) / IDLE_S,
    startCpuS: startCpu,
  };
}

async function kubernetesCase(api: KubeApi, zk: ZookeeperServer, services: number, dir: string, ns: string, changes: boolean): Promise<Row> {
  const peers = await loadPeers();
  await peers.ensureNamespace(api, ns);
  const config = join(dir, `k8s-${services}.yaml`);
  await writeFile(
    config,
    `instance: fp${services}
registries:
  - name: dubbo
    kind: zookeeper
    namespace: ${ns}
    zookeeper: {servers: "${zk.connectString}"}
sinks:
  kubernetes: {kubeconfig: ${JSON.stringify(api.kubeconfigPath)}}
checkpoint: {configMap: {namespace: ${ns}, name: fp-${services}}}
admin: {address: "127.0.0.1:0"}
log: {level: info}
`,
  );
  let firstAt: number | undefined;
  let allAt: number | undefined;
  let added = 0;
  // Service 0's ServiceEntry as last seen (its endpoints hold the provider ports).
  let service0 = '';
  const unwatch = watchServiceEntries(
    api,
    ns,
    () => {
      added++;
      firstAt ??= performance.now();
      if (added >= services) allAt ??= performance.now();
    },
    (line) => {
      if (line.includes('"hosts":["com.example.footprint.service0"')) service0 = line;
    },
  );
  await sleep(300); // the watch is open
  const s = spawnCli(config);
  try {
    await until(() => allAt !== undefined, 120_000, `${services} ServiceEntries in ${ns}`);
    const row = await measure('kubernetes route', services, s, () => firstAt, () => allAt);
    if (!changes) return row;
    return { ...row, changes: await isolatedChanges(zk, (port, present) => new RegExp(`\\b${port}\\b`).test(service0) === present) };
  } finally {
    unwatch();
    await stopChild(s.child);
  }
}

async function mcpCase(zk: ZookeeperServer, services: number, dir: string): Promise<Row> {
  const port = await freePort();
  const config = join(dir, `mcp-${services}.yaml`);
  await writeFile(
    config,
    `registries:
  - name: dubbo
    kind: zookeeper
    namespace: footprint
    zookeeper: {servers: "${zk.connectString}"}
sinks:
  xds: {address: "127.0.0.1:${port}"}
admin: {address: "127.0.0.1:0"}
log: {level: info}
`,
  );
  const s = spawnCli(config);
  let firstAt: number | undefined;
  let allAt: number | undefined;
  let ads: AdsClient | undefined;
  try {
    // Dials until the server listens (a call to a closed port ends at once); the first response
    // carrying a ServiceEntry is the first write.
    const end = Date.now() + 60_000;
    while (firstAt === undefined) {
      if (Date.now() > end) throw new Error('footprint: the MCP route served no ServiceEntry');
      const c = new AdsClient({ port });
      c.subscribe([SE_TYPE]);
      const got = await Promise.race([
        c.next((r) => r.type_url === SE_TYPE && r.resources.length > 0, 0, 60_000).catch(() => undefined),
        c.ended.then(() => undefined),
      ]);
      if (got === undefined) {
        c.close();
        await sleep(10);
        continue;
      }
      firstAt = performance.now();
      ads = c;
    }
    await ads?.next((r) => r.type_url === SE_TYPE && r.resources.length >= services, 0, 60_000);
    allAt = performance.now();
    return await measure('MCP route', services, s, () => firstAt, () => allAt);
  } finally {
    ads?.close();
    await stopChild(s.child);
  }
}

async function floorCase(): Promise<Row> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000); console.log("up")'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const s: Started = { child, t0: performance.now(), startedLogAt: undefined };
  let up: number | undefined;
  child.stdout?.once('data', () => (up = performance.now()));
  try {
    await until(() => up !== undefined, 10_000, 'bare node');
    return await measure('baseline: bare node -e', 0, s, () => up, () => up);
  } finally {
    await stopChild(child);
  }
}


let last: Row[] | undefined;

/** Nearest-rank percentile of unsorted samples (the harness's), 0 when there are none. */
function pct(s: readonly number[], p: number): number {
  return s.length === 0 ? 0 : percentile([...s].sort((x, y) => x - y), p);
}

function changeTable(rows: readonly Row[]): { title: string; header: string[]; rows: string[][] }[] {
  const measured = rows.filter((r) => r.changes !== undefined && r.changes.length > 0);
  if (measured.length === 0) return [];
  return [
    {
      title: `Isolated changes through the real CLI (${CHANGES}, ${CHANGE_GAP_MS} ms apart): ZooKeeper write -> the ServiceEntry's new content at a watch on the API server`,
      header: ['case', 'services', 'n', 'p50 ms', 'p99 ms', 'max ms', 'over 300 ms'],
      rows: measured.map((r) => {
        const c = r.changes ?? [];
        return [r.case, String(r.services), String(c.length), pct(c, 50).toFixed(0), pct(c, 99).toFixed(0), Math.max(...c).toFixed(0), String(c.filter((x) => x > 300).length)];
      }),
    },
  ];
}

export const footprint: Bench = {
  name: 'footprint',
  title: 'Small deployments: start to first write, RSS and idle CPU of the real CLI (5 and 100 Dubbo services)',
  description:
    'The real CLI (`meshbridge run`) as its own process; a real ZooKeeper holding interface-level Dubbo providers (2 per service, persistent nodes written before the start). ' +
    'Kubernetes route: the chart\'s defaults (Kubernetes sink to a real kube-apiserver with Istio\'s CRDs, checkpoint in a ConfigMap, admin server on); first write is the first ServiceEntry ADDED event on a watch opened before the spawn. ' +
    'MCP route: the xDS sink and admin; first write is the first MCP response carrying a ServiceEntry at an ADS client dialing from the spawn on. ' +
    `Then ${IDLE_S} s without changes: CPU seconds (utime+stime from /proc) per minute, RSS (VmRSS) at the end, peak (VmHWM). No forced GC: the process as it runs. ` +
    'Baseline, same run: a bare Node.js process with an interval timer (the runtime\'s floor).',
  compare: Compare.MEMORY,
  async run() {
    const zkPeers = await loadZookeeperPeers();
    const peers = await loadPeers();
    const dir = await mkdtemp(join(tmpdir(), 'mb-footprint-'));
    const zk = await zkPeers.startZookeeper();
    const api = await peers.startKubeApiserver({ authorization: 'AlwaysAllow' });
    try {
      await peers.applyIstioCrds(api);
      last = [await floorCase()];
      let populated = 0;
      for (const n of SIZES) {
        if (n > populated) {
          await populate(zk, populated, n);
          populated = n;
        }
        process.stdout.write(`  footprint: ${n} services, kubernetes route ...\n`);
        last.push(await kubernetesCase(api, zk, n, dir, `fp-${n}`, n === SIZES[0] && CHANGES > 0));
        process.stdout.write(`  footprint: ${n} services, MCP route ...\n`);
        last.push(await mcpCase(zk, n, dir));
      }
    } finally {
      await api.stop();
      await zk.stop();
      await rm(dir, { recursive: true, force: true });
    }
    return [];
  },
  table(): TableResult | undefined {
    if (last === undefined) return undefined;
    const ms = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(0));
    const mib = (x: number): string => x.toFixed(1);
    return {
      preamble: [`Idle window ${IDLE_S} s; ${PROVIDERS} providers per service; targets (issue 13) at 5-100 services: RSS <= 64 MiB, idle CPU <= 0.1 s per minute, start to first write <= 1 s.`],
      tables: [
        {
          title: 'The real CLI, start to first write, memory and idle CPU',
          header: ['case', 'services', 'start -> first write ms', 'start -> all written ms', 'start -> "started" log ms', 'CPU s to sync', 'RSS synced MiB', 'RSS idle MiB', 'peak MiB', 'idle CPU s / min'],
          rows: last.map((r) => [
            r.case,
            String(r.services),
            ms(r.firstWriteMs),
            ms(r.allWrittenMs),
            ms(r.startedLogMs),
            r.startCpuS.toFixed(2),
            mib(r.rssSyncedMiB),
            mib(r.rssIdleMiB),
            mib(r.peakMiB),
            r.idleCpuSPerMin.toFixed(3),
          ]),
        },
        ...changeTable(last),
      ],
      data: { idleSeconds: IDLE_S, rows: last },
    };
  },
};
