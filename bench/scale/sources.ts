/**
 * Real registries as the scale bench's source: a ZooKeeper (Debian's, test-support/peers/zookeeper.mjs)
 * holding Dubbo interface-level providers, or an etcd (test-support/peers/peers.mjs) holding one JSON
 * instance per key. The bench process (not the bridge) populates the registry before the bridge
 * starts, writes every change as a provider would, counts the requests the bridge makes to the
 * registry, and predicts each change's ServiceEntry version with the adapters' own pure parse and
 * build functions (checked against the full sync: see scale.ts). Also the registries' own watch
 * latency floors, measured with bare clients.
 *
 * Contract: every peer binds 127.0.0.1 and is stopped by stop(); a missing peer is a reason
 * string, never an exception (the bench is not CI). Nothing here asserts on time.
 */
import { loadPeers } from '../../test-support/peers.js';
import { loadZookeeperPeers } from '../../test-support/zookeeper.js';
import { EtcdSource } from './etcd-source.js';
import { SourceKind, type RealSource } from './source.js';
import { ZkSource } from './zookeeper-source.js';

export { etcdWatchFloor } from './etcd-source.js';
export { SourceKind, type FloorSample, type IdleCount, type RealSource } from './source.js';
export { zookeeperWatchFloor } from './zookeeper-source.js';

/** Why `kind`'s peer cannot run here (undefined: it can). */
export async function sourceMissing(kind: SourceKind): Promise<string | undefined> {
  if (kind === SourceKind.ZOOKEEPER) return (await loadZookeeperPeers()).zookeeperPeerMissing('zookeeper');
  return (await loadPeers()).peerAvailable('etcd') ? undefined : 'etcd not built: run test-support/peers/build-peers.sh';
}

export async function startSource(kind: SourceKind, services: number, endpoints: number): Promise<RealSource> {
  return kind === SourceKind.ZOOKEEPER ? ZkSource.start(services, endpoints) : EtcdSource.start(services, endpoints);
}
