/**
 * rest-memory: what a large deployment holds at rest. The real CLI (`node dist/src/main.js run`)
 * as its own process, a file registry of SERVICES services x ENDPOINTS endpoints (one JSON file,
 * Dubbo-style: one TCP port, labels in two versions, three zones). MCP route: the xDS sink and an
 * ADS client of it holding every ServiceEntry (what istiod does). Kubernetes route: the Kubernetes
 * sink to a real kube-apiserver with Istio's CRDs. No registry change after the sync.
 *
 * Per case: start -> synced (the first complete response at the client; the last ServiceEntry
 * ADDED at a watch on the API server), then RSS (VmRSS) and heap used
 * (the admin server's `meshbridge_nodejs_heap_size_used_bytes`, V8's own count) at SAMPLES_S
 * seconds after it, and the peak (VmHWM). No forced GC: the process as it runs, so RSS depends
 * on when V8's memory reducer runs; heap used is the comparable figure between builds.
 *
 * Baseline in the same run: another build's CLI when BENCH_REST_BASELINE names its main.js (an
 * older commit's `dist/src/main.js`; its dist must sit beside that commit's `src/proto` and
 * `node_modules`), and a bare Node.js process (the runtime's floor).
 *
 * Env: BENCH_REST_SERVICES (default 10000), BENCH_REST_ENDPOINTS (default 10),
 * BENCH_REST_SAMPLES_S (default "15,30,60"), BENCH_REST_BASELINE (optional), BENCH_REST_ROUTES
 * (default "mcp,kubernetes").
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdsClient, ISTIOD_TYPE_URLS_V1 } from '../test-support/xds/adsc.js';
import { loadPeers, type KubeApi } from '../test-support/peers.js';
import { watchServiceEntries } from './footprint.js';
import { freePort } from '../test-support/cli.js';
import { cpuS, procStatus, sleep, stopChild } from './process-stats.js';
import { Compare, type Bench, type TableResult } from './harness.js';

const SERVICES = Number(process.env['BENCH_REST_SERVICES'] ?? 10_000);
const ENDPOINTS = Number(process.env['BENCH_REST_ENDPOINTS'] ?? 10);
const SAMPLES_S = (process.env['BENCH_REST_SAMPLES_S'] ?? '15,30,60').split(',').map(Number);
const BASELINE = process.env['BENCH_REST_BASELINE'];
const ROUTES = (process.env['BENCH_REST_ROUTES'] ?? 'mcp,kubernetes').split(',');
const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const SE_TYPE = ISTIOD_TYPE_URLS_V1.find((u) => u.endsWith('ServiceEntry')) ?? '';

interface Sample {
  readonly atS: number;
  readonly rssMiB: number;
  readonly heapUsedMiB: number | undefined;
}

interface Row {
  readonly case: string;
  readonly syncedMs: number | undefined;
  readonly entries: number;
  readonly cpuS: number;
  readonly samples: readonly Sample[];
  readonly peakMiB: number;
}

/** The registry file: deterministic, so two builds read the same bytes. */
function registryFile(): string {
  const zones = ['zone-a', 'zone-b', 'zone-c'];
  const services = [];
  for (let i = 0; i < SERVICES; i++) {
    const instances = [];
    for (let k = 0; k < ENDPOINTS; k++) {
      instances.push({
        address: `10.${(i >> 8) & 255}.${i & 255}.${k + 1}`,
        labels: { application: `app-${i}`, version: `v${k % 2}`, side: 'provider' },
        locality: `region-1/${zones[k % 3] ?? ''}`,
      });
    }
    services.push({
      name: `com.example.rest.Service${i}`,
      namespace: 'rest',
      attributes: { application: `app-${i}` },
      ports: [{ number: 20880, name: 'tcp-dubbo', protocol: 'TCP' }],
      instances,
    });
  }
  return JSON.stringify({ services });
}





async function heapUsedMiB(adminPort: number): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    const m = /^meshbridge_nodejs_heap_size_used_bytes (\S+)$/m.exec(text);
    return m === null ? undefined : Number(m[1]) / 1048576;
  } catch {
    return undefined;
  }
}


/** Samples `pid` at SAMPLES_S seconds after `t0` (ms, performance.now()). */
async function sample(pid: number, t0: number, heap: () => Promise<number | undefined>): Promise<Sample[]> {
  const out: Sample[] = [];
  for (const s of SAMPLES_S) {
    const wait = t0 + s * 1000 - performance.now();
    if (wait > 0) await sleep(wait);
    out.push({ atS: s, rssMiB: procStatus(pid).rss, heapUsedMiB: await heap() });
  }
  return out;
}

async function mcpCase(label: string, main: string, file: string, dir: string): Promise<Row> {
  const xds = await freePort();
  const admin = await freePort();
  const config = join(dir, `${label.replace(/\W+/g, '-')}.yaml`);
  await writeFile(
    config,
    `registries:
  - name: rest
    kind: file
    namespace: rest
    file: {path: ${JSON.stringify(file)}}
sinks:
  xds: {address: "127.0.0.1:${xds}"}
admin: {address: "127.0.0.1:${admin}"}
log: {level: warn}
`,
  );
  const t0 = performance.now();
  const child = spawn(process.execPath, [main, 'run', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-4000)));
  let ads: AdsClient | undefined;
  try {
    const end = Date.now() + 180_000;
    let entries = 0;
    while (ads === undefined) {
      if (Date.now() > end || child.exitCode !== null) throw new Error(`rest-memory: ${label} served no ServiceEntries: ${stderr}`);
      const c = new AdsClient({ port: xds });
      c.subscribe([SE_TYPE]);
      const got = await Promise.race([c.next((r) => r.type_url === SE_TYPE && r.resources.length >= SERVICES, 0, 180_000).catch(() => undefined), c.ended.then(() => undefined)]);
      if (got === undefined) {
        c.close();
        await sleep(50);
        continue;
      }
      entries = got.resources.length;
      ads = c;
    }
    const synced = performance.now();
    const pid = child.pid ?? 0;
    const samples = await sample(pid, synced, () => heapUsedMiB(admin));
    return { case: label, syncedMs: synced - t0, entries, cpuS: cpuS(pid), samples, peakMiB: procStatus(pid).hwm };
  } finally {
    ads?.close();
    await stopChild(child);
  }
}

/**
 * The Kubernetes route: the same registry into its own namespace of a real kube-apiserver (qps
 * 1,000 so the sync is not the client's rate limit). Synced: the last ServiceEntry ADDED at a
 * watch, once no more came for 3 s.
 */
async function kubernetesCase(label: string, main: string, file: string, dir: string, api: KubeApi, ns: string): Promise<Row> {
  const peers = await loadPeers();
  await peers.ensureNamespace(api, ns);
  const admin = await freePort();
  const config = join(dir, `${label.replace(/\W+/g, '-')}.yaml`);
  await writeFile(
    config,
    `instance: ${ns}
registries:
  - name: rest
    kind: file
    namespace: ${ns}
    file: {path: ${JSON.stringify(file)}}
sinks:
  kubernetes: {kubeconfig: ${JSON.stringify(api.kubeconfigPath)}, qps: 1000, burst: 1000}
admin: {address: "127.0.0.1:${admin}"}
log: {level: warn}
`,
  );
  let added = 0;
  let lastAdded = 0;
  const unwatch = watchServiceEntries(api, ns, () => {
    added++;
    lastAdded = performance.now();
  });
  await sleep(300);
  const t0 = performance.now();
  const child = spawn(process.execPath, [main, 'run', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-4000)));
  try {
    const end = Date.now() + 600_000;
    while (added < SERVICES || performance.now() - lastAdded < 3000) {
      if (Date.now() > end || child.exitCode !== null) throw new Error(`rest-memory: ${label} wrote ${added} ServiceEntries: ${stderr}`);
      await sleep(100);
    }
    const pid = child.pid ?? 0;
    const samples = await sample(pid, lastAdded, () => heapUsedMiB(admin));
    return { case: label, syncedMs: lastAdded - t0, entries: added, cpuS: cpuS(pid), samples, peakMiB: procStatus(pid).hwm };
  } finally {
    unwatch();
    await stopChild(child);
  }
}

async function floorCase(): Promise<Row> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    const t0 = performance.now();
    const samples = await sample(child.pid ?? 0, t0, () => Promise.resolve(undefined));
    return { case: 'floor: bare node -e', syncedMs: undefined, entries: 0, cpuS: cpuS(child.pid ?? 0), samples, peakMiB: procStatus(child.pid ?? 0).hwm };
  } finally {
    await stopChild(child);
  }
}

let last: Row[] | undefined;

export const restMemory: Bench = {
  name: 'rest-memory',
  title: `At rest at ${SERVICES.toLocaleString('en-US')} services x ${ENDPOINTS} endpoints: RSS and heap of the real CLI on both routes`,
  description:
    'The real CLI (`meshbridge run`) as its own process: a file registry (one JSON file, Dubbo-style services, one TCP port, labels in two versions, three zones). ' +
    'MCP route: the xDS sink and an ADS client holding every ServiceEntry; synced at the first complete response. Kubernetes route: the Kubernetes sink to a real kube-apiserver with Istio\'s CRDs (qps 1,000), its own namespace per build; synced at the last ServiceEntry ADDED at a watch. ' +
    'Then RSS (VmRSS), heap used (the admin metrics) and peak (VmHWM) at fixed times after the sync, with no change and no forced GC. ' +
    'Baselines, same run: a bare Node.js process, and another build of the CLI when BENCH_REST_BASELINE names its main.js.',
  compare: Compare.MEMORY,
  async run() {
    const dir = await mkdtemp(join(tmpdir(), 'mb-rest-memory-'));
    try {
      const file = join(dir, 'registry.json');
      await writeFile(file, registryFile());
      last = [await floorCase()];
      const builds: Array<readonly [string, string]> = [];
      if (BASELINE !== undefined && BASELINE !== '') builds.push(['baseline build', BASELINE]);
      builds.push(['this build', MAIN]);
      if (ROUTES.includes('mcp')) {
        for (const [label, main] of builds) {
          process.stdout.write(`  rest-memory: ${label}, MCP route ...\n`);
          last.push(await mcpCase(`${label}, MCP route`, main, file, dir));
        }
      }
      if (ROUTES.includes('kubernetes')) {
        const api = await (await loadPeers()).startKubeApiserver({ authorization: 'AlwaysAllow' });
        try {
          await (await loadPeers()).applyIstioCrds(api);
          let n = 0;
          for (const [label, main] of builds) {
            process.stdout.write(`  rest-memory: ${label}, Kubernetes route ...\n`);
            last.push(await kubernetesCase(`${label}, Kubernetes route`, main, file, dir, api, `rest-${n++}`));
          }
        } finally {
          await api.stop();
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return [];
  },
  table(): TableResult | undefined {
    if (last === undefined) return undefined;
    const f = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(1));
    return {
      preamble: [
        `${SERVICES.toLocaleString('en-US')} services x ${ENDPOINTS} endpoints; samples ${SAMPLES_S.join(' / ')} s after the first complete response; target (issue 13): RSS at rest <= 160 MB.`,
        ...(BASELINE !== undefined && BASELINE !== '' ? [`Baseline build: ${BASELINE}.`] : []),
      ],
      tables: [
        {
          title: 'The real CLI at rest',
          header: ['case', 'ServiceEntries', 'start -> synced ms', 'CPU s', ...SAMPLES_S.map((s) => `RSS MiB @${s} s`), ...SAMPLES_S.map((s) => `heap used MiB @${s} s`), 'peak MiB'],
          rows: last.map((r) => [
            r.case,
            String(r.entries),
            r.syncedMs === undefined ? '-' : r.syncedMs.toFixed(0),
            r.cpuS.toFixed(2),
            ...r.samples.map((s) => f(s.rssMiB)),
            ...r.samples.map((s) => f(s.heapUsedMiB)),
            f(r.peakMiB),
          ]),
        },
      ],
      data: { services: SERVICES, endpoints: ENDPOINTS, baseline: BASELINE ?? null, rows: last },
    };
  },
};
