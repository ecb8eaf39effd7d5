/**
 * The fault matrix (issue 10): `npm run faults` (`-- --short` in CI). Each scenario runs the real
 * Meshbridge CLI against real peers, injects one fault, and measures from the outside:
 * - removed: services (ServiceEntries of registry services) wrongly missing at an ADS client
 *   posing as istiod (MCP route) or deleted at the kube-apiserver (Kubernetes route), at any
 *   moment of the fault; the target is 0;
 * - converge: time from recovery until the client holds the expected state again;
 * - writes: Kubernetes writes (route kubernetes) or MCP pushes of ServiceEntries;
 * - peak RSS of Meshbridge (its own process_resident_memory_bytes, polled).
 * It prints a table and exits 1 when a scenario removed anything or failed. The table goes to
 * docs/reliability.md by hand with the commit it was measured on.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdsClient } from '../../test-support/xds/adsc.js';
import { loadPeers, type PeersModule } from '../../test-support/peers.js';
import { metricSum, startMeshbridge, writeServices, type MeshbridgeProcess } from '../../test-support/meshbridge.js';
import { javaUrlEncode, loadZookeeperPeers, ZkWriter } from '../../test-support/zookeeper.js';
import { apiserverPartition, apiserverThrottling, killMidApply, leaderFailover } from './kubernetes.js';
import { consulRestart, etcdCompaction, etcdRestart, eurekaRestart, nacosRestart, zkRestart } from './registry-restarts.js';
import { fileServices, mcpConfig, registryEntries, rssSampler, SE, SHORT, sleep, until, type Row } from '../../test-support/faults.js';

/** ZooKeeper: every provider's session ends at once (all ephemeral nodes go), they re-register 3 s later. */
async function zkProvidersExpire(peers: PeersModule): Promise<Row> {
  const zkPeers = await loadZookeeperPeers();
  const zk = await zkPeers.startZookeeper();
  const N = SHORT ? 50 : 500;
  const dir = await mkdtemp(join(tmpdir(), 'mb-fault-zk-'));
  const register = async (): Promise<ZkWriter> => {
    const w = await ZkWriter.connect(zk.connectString);
    for (let i = 0; i < N; i++) {
      const iface = `com.example.Svc${i}`;
      await w.mkdirp(`/dubbo/${iface}/providers`);
      for (const k of [1, 2]) {
        const url = `dubbo://10.${(i >> 8) & 255}.${i & 255}.${k}:20880/${iface}?application=app${i}&side=provider&interface=${iface}&methods=a`;
        await w.create(`/dubbo/${iface}/providers/${javaUrlEncode(url)}`);
      }
    }
    return w;
  };
  let w = await register();
  const { config, admin, xds } = await mcpConfig(dir, peers, `  - {name: zk, kind: zookeeper, namespace: faults, zookeeper: {servers: "${zk.connectString}", sessionTimeoutMs: 6000}}`);
  const mb = await startMeshbridge({ config, adminPort: admin });
  const rss = rssSampler(() => mb);
  const c = new AdsClient({ port: xds });
  try {
    c.subscribe([SE]);
    await until(() => registryEntries(c).at(-1) === N, 60_000, 'initial state');
    const from = c.responsesFor(SE).length;
    w.close(); // every provider session ends: ZooKeeper deletes all their nodes
    await sleep(3000);
    const t0 = Date.now();
    w = await register();
    const full = async (): Promise<boolean> => {
      const last = c.responsesFor(SE).at(-1);
      return last !== undefined && registryEntries(c).at(-1) === N && metricSum(await mb.metrics(), 'meshbridge_protect_held_services') === 0;
    };
    await until(full, 60_000, 'recovered');
    const convergeMs = Date.now() - t0;
    const seen = registryEntries(c, from);
    const removed = N - Math.min(N, ...seen);
    const pushes = c.responsesFor(SE).length - from;
    return { scenario: 'ZooKeeper: every provider session expires, re-registers after 3 s', route: 'mcp', services: N, removed, convergeMs, writes: pushes, peakRssMiB: await rss.stop(), note: 'held by the guard, released on recovery', ok: removed === 0 };
  } finally {
    c.close();
    w.close();
    await mb.stop();
    await rss.stop();
    await zk.stop();
  }
}


/** kill -9 of Meshbridge; the registry answers 10 % when it is back: the checkpoint holds the rest. */
async function restartPartial(peers: PeersModule): Promise<Row> {
  const N = SHORT ? 100 : 1000;
  const dir = await mkdtemp(join(tmpdir(), 'mb-fault-restart-'));
  const services = join(dir, 'services.yaml');
  const all = fileServices(N);
  await writeServices(services, all);
  const { config, admin, xds } = await mcpConfig(
    dir,
    peers,
    `  - {name: files, kind: file, namespace: faults, file: {path: services.yaml, pollIntervalMs: 500}}`,
    'checkpoint: {path: state/checkpoint.json, intervalSeconds: 1}\n',
  );
  let mb: MeshbridgeProcess | undefined = await startMeshbridge({ config, adminPort: admin });
  const rss = rssSampler(() => mb);
  let c = new AdsClient({ port: xds });
  try {
    c.subscribe([SE]);
    await until(() => registryEntries(c).at(-1) === N, 30_000, 'initial state');
    await sleep(1500); // a checkpoint was written
    await mb.kill();
    c.close();
    await writeServices(services, all.slice(0, N / 10));
    const t0 = Date.now();
    mb = await startMeshbridge({ config, adminPort: admin });
    c = new AdsClient({ port: xds });
    c.subscribe([SE]);
    await until(() => c.responsesFor(SE).length > 0, 30_000, 'answered after the restart');
    const readyMs = Date.now() - t0;
    await sleep(3000); // the registry's partial view has been judged
    const removed = N - Math.min(N, ...registryEntries(c));
    const held = metricSum(await mb.metrics(), 'meshbridge_protect_held_services');
    return { scenario: 'kill -9 of Meshbridge; registry back with 10 %', route: 'mcp', services: N, removed, convergeMs: readyMs, writes: c.responsesFor(SE).length, peakRssMiB: await rss.stop(), note: `served from the checkpoint ${readyMs} ms after start; ${held} held`, ok: removed === 0 && held === N - N / 10 };
  } finally {
    c.close();
    await mb?.stop();
    await rss.stop();
  }
}

/** A registry that never syncs: the others are published after startup.syncTimeoutSeconds. */
async function neverSyncs(peers: PeersModule): Promise<Row> {
  const N = 50;
  const dir = await mkdtemp(join(tmpdir(), 'mb-fault-never-'));
  await writeServices(join(dir, 'services.yaml'), fileServices(N));
  const [closed] = (await peers.freePorts(1)) as [number];
  const { config, admin, xds } = await mcpConfig(
    dir,
    peers,
    `  - {name: files, kind: file, namespace: faults, file: {path: services.yaml}}
  - {name: broken, kind: etcd, namespace: faults, etcd: {endpoints: ["127.0.0.1:${closed}"]}}`,
    'startup: {syncTimeoutSeconds: 3}\n',
  );
  const t0 = Date.now();
  const mb = await startMeshbridge({ config, adminPort: admin, readyTimeoutMs: 30_000 });
  const readyMs = Date.now() - t0;
  const c = new AdsClient({ port: xds });
  try {
    c.subscribe([SE]);
    await until(() => registryEntries(c).at(-1) === N, 10_000, 'the synced registry published');
    return { scenario: 'one registry never syncs (etcd unreachable)', route: 'mcp', services: N, removed: 0, convergeMs: readyMs, writes: c.responsesFor(SE).length, peakRssMiB: Math.round(metricSum(await mb.metrics(), 'meshbridge_process_resident_memory_bytes') / 1048576), note: `ready after ${readyMs} ms (timeout 3 s)`, ok: true };
  } finally {
    c.close();
    await mb.stop();
  }
}

/** 20 istiod streams connect at once; then one stops reading while the registry churns. */
async function stormAndStall(peers: PeersModule): Promise<Row[]> {
  const N = SHORT ? 1000 : 5000;
  const dir = await mkdtemp(join(tmpdir(), 'mb-fault-storm-'));
  const services = join(dir, 'services.yaml');
  await writeServices(services, fileServices(N));
  const { config, admin, xds } = await mcpConfig(dir, peers, `  - {name: files, kind: file, namespace: faults, file: {path: services.yaml, pollIntervalMs: 200}}`);
  const mb = await startMeshbridge({ config, adminPort: admin });
  const rows: Row[] = [];
  try {
    let rss = rssSampler(() => mb);
    const t0 = Date.now();
    const clients = Array.from({ length: 20 }, () => new AdsClient({ port: xds }));
    for (const c of clients) c.subscribe([SE]);
    await until(() => clients.every((c) => registryEntries(c).at(-1) === N), 60_000, 'every stream has the full state');
    const stormMs = Date.now() - t0;
    rows.push({ scenario: 'istiod reconnect storm: 20 streams at once', route: 'mcp', services: N, removed: 0, convergeMs: stormMs, writes: 20, peakRssMiB: await rss.stop(), note: 'every stream got the full state', ok: true });
    for (const c of clients.slice(1)) c.close();
    const stalled = clients[0]!;
    stalled.pause();
    rss = rssSampler(() => mb);
    const edits = SHORT ? 10 : 30;
    for (let i = 0; i < edits; i++) {
      const list = fileServices(N);
      list[i] = { ...list[i]!, instances: [{ address: `10.250.0.${i + 1}`, weight: 1, labels: {} }] };
      await writeServices(services, list);
      await sleep(400);
    }
    const deferred = metricSum(await mb.metrics(), 'meshbridge_xds_pushes_deferred_total');
    const peak = await rss.stop();
    stalled.resume();
    rows.push({ scenario: `stalled istiod: one stream stops reading for ${edits} changes`, route: 'mcp', services: N, removed: 0, convergeMs: undefined, writes: edits, peakRssMiB: peak, note: `${deferred} pushes deferred (one response in flight)`, ok: true });
    stalled.close();
  } finally {
    await mb.stop();
  }
  return rows;
}

async function main(): Promise<void> {
  const peers = await loadPeers();
  const rows: Row[] = [];
  const scenarios: Array<[string, () => Promise<Row | Row[]>]> = [
    ['zk-providers-expire', () => zkProvidersExpire(peers)],
    ['zk-restart', () => zkRestart(peers)],
    ['etcd-restart', () => etcdRestart(peers)],
    ['etcd-compaction', () => etcdCompaction(peers)],
    ['consul-restart', () => consulRestart(peers)],
    ['nacos-restart', () => nacosRestart(peers)],
    ['eureka-restart', () => eurekaRestart(peers)],
    ['restart-partial', () => restartPartial(peers)],
    ['never-syncs', () => neverSyncs(peers)],
    ['storm-and-stall', () => stormAndStall(peers)],
    ['kill-mid-apply', () => killMidApply(peers)],
    ['apiserver-partition', () => apiserverPartition(peers)],
    ['leader-failover', () => leaderFailover(peers)],
    ['apiserver-throttling', () => apiserverThrottling(peers)],
  ];
  const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  for (const [name, run] of scenarios) {
    if (only.length > 0 && !only.includes(name)) continue;
    process.stderr.write(`[faults] ${name}...\n`);
    const t0 = Date.now();
    try {
      const r = await run();
      rows.push(...(Array.isArray(r) ? r : [r]));
    } catch (e) {
      rows.push({ scenario: name, route: '-', services: 0, removed: -1, convergeMs: undefined, writes: 0, peakRssMiB: 0, note: `FAILED: ${e instanceof Error ? e.message : String(e)}`, ok: false });
    }
    process.stderr.write(`[faults] ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  const lines = [
    `| Fault | Route | Services | Wrongly removed | Converge (ms) | Writes / pushes | Peak RSS (MiB) | Note |`,
    `| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |`,
    ...rows.map((r) => `| ${r.scenario} | ${r.route} | ${r.services} | ${r.removed} | ${r.convergeMs ?? '-'} | ${r.writes} | ${r.peakRssMiB} | ${r.ok ? '' : '**FAIL** '}${r.note} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  process.exit(rows.every((r) => r.ok) ? 0 : 1);
}

await main();
