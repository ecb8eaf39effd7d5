/**
 * scale: end-to-end figures at 1,000 services / 10,000 endpoints and 10,000 / 100,000, in one
 * registry and spread over three: full sync, isolated changes, a burst, steady churn and a no-op
 * resync, measured from the registry change (stamped in the bridge process) to (a) a lean
 * istiod-like ADS client and (b) a watch client of a real kube-apiserver (test-support peers),
 * with the bridges' usual strategies (no debounce; poll and rewrite everything) as baselines in
 * the same run, and the floors (one server-side apply round trip; the file registry's own
 * notification latency; ZooKeeper's and etcd's own watch latency) measured directly.
 * Setups with a real source (Z1-mb: ZooKeeper, E1-mb: etcd; sources.ts) read the registry
 * through Meshbridge's own adapter; this process populates it before the bridge starts, writes
 * and stamps every change right before sending it, and counts the bridge's requests while idle.
 *
 * Contract: measures and reports; never asserts on time. Peers missing: the Kubernetes columns
 * are left empty, real-source setups are skipped, and the run says so. Environment knobs:
 * BENCH_SCALE_CHURN_S (default 60; baselines that cannot keep up run shorter, see allSetups),
 * BENCH_SCALE_SETUPS (comma-separated setup ids, default all), BENCH_SCALE_KUBE=0 (skip the
 * Kubernetes route).
 */
import { Compare, type Bench, type CaseResult, type TableResult } from '../harness.js';
import { fileFloor, registryFloors } from './floors.js';
import { ssaFloor, startKube } from './kube.js';
import { runSetup } from './scenarios.js';
import { DEFAULT_CHURN_S, MAX_DELAY_MS, POLL_MS, QUIET_MS, allSetups, empty, setupLabel, type FloorResult, type ScaleReport, type ScenarioResult } from './setups.js';
import { scaleTable } from './table.js';

function uniqueVariant(): () => number {
  let v = 0;
  return () => (v = (v + 1) % 0xffffff || 1);
}

export async function runScale(): Promise<ScaleReport> {
  const churnSeconds = Number(process.env['BENCH_SCALE_CHURN_S'] ?? DEFAULT_CHURN_S);
  const only = process.env['BENCH_SCALE_SETUPS']?.split(',').filter((x) => x !== '');
  const setups = allSetups().filter((s) => only === undefined || only.includes(s.id));
  const k = setups.some((s) => s.kube) ? await startKube() : 'not needed by the selected setups';
  const kube = typeof k === 'string' ? undefined : k;
  const results: ScenarioResult[] = [];
  const floors: FloorResult[] = [];
  const nextVariant = uniqueVariant();
  try {
    floors.push(await fileFloor());
    if (kube !== undefined) floors.push(await ssaFloor(kube));
    floors.push(...(await registryFloors(setups)));
    for (const s of setups) {
      process.stderr.write(`scale: ${setupLabel(s)} ...\n`);
      try {
        results.push(...(await runSetup(s, kube, churnSeconds, nextVariant)));
      } catch (e) {
        results.push({ ...empty(s, 'FAILED'), notes: e instanceof Error ? e.message : String(e) });
      }
    }
  } finally {
    await kube?.stop();
  }
  return {
    churnSeconds,
    quietPeriodMs: QUIET_MS,
    maxDelayMs: MAX_DELAY_MS,
    pollMs: POLL_MS,
    kubeAvailable: typeof k === 'string' ? k : 'yes',
    results,
    floors,
  };
}

let last: ScaleReport | undefined;

export const scaleBench: Bench = {
  name: 'scale',
  title: 'End to end at 1k/10k and 10k/100k services/endpoints: propagation, writes, sync, push, memory, against baselines',
  description:
    'A bridge process (bench/scale/bridge.ts, forked with --expose-gc) runs FakeRegistries (1 or 3) holding the generated services (10 endpoints each), ' +
    "Meshbridge's Pipeline (quiet period 100 ms, max delay 1,000 ms: the defaults), the XdsServer and, for the Kubernetes route, the KubernetesSink " +
    'writing to a real kube-apiserver + etcd started from test-support/peers/peers.mjs (Istio CRDs applied; client qps 500, concurrency 8). The bench process ' +
    'observes: a lean istiod-like ADS client (bench/scale/raw-ads.ts: subscribes to every Istio type, ACKs, reads only metadata name/version) and a watch ' +
    'on serviceentries. Every change (one endpoint of one service moves) is stamped in the bridge right before the registry holds it; latency is until the ' +
    "observer sees that entry's new content version (a later version of the same entry counts: it contains the change). Scenarios: full sync, isolated " +
    'changes one at a time, a burst of 10,000 changes at once, steady churn of 1,000 endpoint changes/s, a no-op resync (a full re-list with equal content, ' +
    'then a flush). Baselines, same run, same data: `no-debounce` (one full flush, push and reconcile per registry event) and `poll` (every 5 s: ' +
    're-list, convert everything, publish, and server-side apply every object). Floors: one server-side apply round trip, and the file registry\'s own ' +
    'notification latency. CPU s and RSS are the bridge process\'s; push build is the synchronous xDS work of one publish (retain, encode what changed, ' +
    'assemble, grpc-js write) for one ADS stream. Real registries (bench/scale/sources.ts): `Z1-mb` reads 1,000 Dubbo interfaces x 10 providers from a ' +
    "real ZooKeeper (test-support/peers/zookeeper.mjs) and `E1-mb` 1,000 services x 10 instances (one JSON value per key) from a real etcd, each through Meshbridge's " +
    'own adapter; the bench process populates the registry before the bridge starts (ZooKeeper: one multi request per service; etcd: txns of 100 puts), ' +
    'then writes every change itself (ZooKeeper: one multi removing a provider node and creating its replacement; etcd: one put), stamped right before ' +
    'it is sent. These setups add an idle scenario: 10 s without changes, counting the requests the bridge makes to the registry (ZooKeeper: the `cons` ' +
    "four-letter word, the last client xid of the bridge's session, pings apart; etcd: /metrics grpc_server_msg_received_total by method); " +
    "a no-op resync does not apply to them. Extra floors: ZooKeeper's own watch latency (a bare client's getChildren watch firing after another " +
    "session creates or deletes a child) and etcd's (put -> watch event at another client).",
  compare: Compare.TIME,
  async run(): Promise<readonly CaseResult[]> {
    last = await runScale();
    return [];
  },
  table(): TableResult | undefined {
    return last === undefined ? undefined : scaleTable(last);
  },
};
