/**
 * Fault scenarios of the registries themselves (MCP route): each registry kind's server is
 * restarted under a running Meshbridge (ZooKeeper, etcd, Consul, Nacos, Eureka) and etcd's
 * history is compacted under a watch that is behind. Nothing may be removed at the ADS client;
 * a change after the recovery must arrive.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdsClient } from '../xds/support/adsc.js';
import type { PeersModule } from '../support/peers.js';
import { startMeshbridge } from '../support/meshbridge.js';
import { javaUrlEncode, loadZookeeperPeers, ZkWriter } from '../zookeeper/peers.js';
import { mcpConfig, registryEntries, rssSampler, SE, SHORT, until, type Row } from './support.js';

/** ZooKeeper server restart (sessions survive): nothing removed; a change after it arrives. */
export async function zkRestart(peers: PeersModule): Promise<Row> {
  const zkPeers = await loadZookeeperPeers();
  const zk = await zkPeers.startZookeeper();
  const N = SHORT ? 20 : 200;
  const dir = await mkdtemp(join(tmpdir(), 'mb-fault-zkr-'));
  const w = await ZkWriter.connect(zk.connectString);
  for (let i = 0; i < N; i++) {
    const iface = `com.example.R${i}`;
    await w.mkdirp(`/dubbo/${iface}/providers`);
    await w.create(`/dubbo/${iface}/providers/${javaUrlEncode(`dubbo://10.9.${i >> 8}.${i & 255}:20880/${iface}?side=provider&interface=${iface}`)}`, undefined, false);
  }
  const { config, admin, xds } = await mcpConfig(dir, peers, `  - {name: zk, kind: zookeeper, namespace: faults, zookeeper: {servers: "${zk.connectString}", sessionTimeoutMs: 6000}}`);
  const mb = await startMeshbridge({ config, adminPort: admin });
  const rss = rssSampler(() => mb);
  const c = new AdsClient({ port: xds });
  try {
    c.subscribe([SE]);
    await until(() => registryEntries(c).at(-1) === N, 60_000, 'initial state');
    const from = c.responsesFor(SE).length;
    await zk.restart();
    const t0 = Date.now();
    const w2 = await ZkWriter.connect(zk.connectString);
    const iface = 'com.example.AfterRestart';
    await w2.mkdirp(`/dubbo/${iface}/providers`);
    await w2.create(`/dubbo/${iface}/providers/${javaUrlEncode(`dubbo://10.8.0.1:20880/${iface}?side=provider&interface=${iface}`)}`, undefined, false);
    await until(() => registryEntries(c).at(-1) === N + 1, 60_000, 'a change after the restart');
    const convergeMs = Date.now() - t0;
    w2.close();
    const removed = N - Math.min(N, ...registryEntries(c, from));
    return { scenario: 'ZooKeeper server restart', route: 'mcp', services: N, removed, convergeMs, writes: c.responsesFor(SE).length - from, peakRssMiB: await rss.stop(), note: 'converge: restart -> a new provider visible', ok: removed === 0 };
  } finally {
    c.close();
    w.close();
    await mb.stop();
    await rss.stop();
    await zk.stop();
  }
}

