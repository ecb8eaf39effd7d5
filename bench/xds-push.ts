/**
 * xds-push: 10,000 ServiceEntries (3 endpoints, 2 ports, labels; made by the real conversion)
 * served by a real XdsServer on 127.0.0.1:0 to an istiod-like ADS client (test-support/xds/adsc)
 * over loopback; then one resource changes per push.
 *
 * The figure is the server side of a push: `SnapshotStore.publish` is synchronous and, through
 * the server's snapshot listener, runs cache.retain, encodeKind (re-encoding what changed, one
 * copy into the kind's new frame), and the grpc-js write (the response written in place around the
 * frame, then copied by grpc-js into its message). The time until the client
 * has received and decoded the response is reported as a note (same process, so it includes the
 * client's protobuf decoding of all 10,000 resources).
 */
import type { Counter } from 'prom-client';
import { Metrics, silentLogger } from '../src/observability/index.js';
import { SnapshotStore, type IstioResource, type KindSnapshot } from '../src/snapshot/index.js';
import { ShardedXdsServer, XdsServer, shardOf } from '../src/sinks/xds/index.js';
import { ResourceCache, encodeResourceAny } from '../src/sinks/xds/resource-cache.js';
import { assembleResponse, frameResource } from '../src/sinks/xds/response-assembly.js';
import { contentHash } from '../src/util/hash.js';
import { AdsClient, ISTIOD_TYPE_URLS_V1 } from '../test-support/xds/adsc.js';
import { benchService, benchServices, resourcesOf, SERVICES } from './data.js';
import { Compare, Role, formatBytes, formatMs, median, runCase, timeSync, type Bench, type CaseResult } from './harness.js';

const SE_URL = 'networking.istio.io/v1/ServiceEntry';

async function counterValue(c: Counter): Promise<number> {
  return (await c.get()).values[0]?.value ?? 0;
}

/** A counter summed over its labels. */
async function counterSum(c: Counter<string>): Promise<number> {
  return (await c.get()).values.reduce((s, v) => s + v.value, 0);
}

/**
 * The resource list after the next one-resource change. Service i converts to exactly one
 * ServiceEntry (inline form), at index i.
 */
class Changes {
  private variant = 0;
  current: IstioResource[];
  constructor(base: readonly IstioResource[]) {
    this.current = [...base];
  }
  /** The resource the last next() changed. */
  last!: IstioResource;
  next(): IstioResource[] {
    this.variant += 1;
    const idx = (this.variant * 7919) % SERVICES;
    const [changed] = resourcesOf([benchService(idx, this.variant)]);
    if (changed === undefined) throw new Error('conversion gave no resource');
    this.last = changed;
    const next = [...this.current];
    next[idx] = changed;
    this.current = next;
    return next;
  }
  /** The same list with every metadata.version replaced: every cache entry misses. */
  bumped(list: readonly IstioResource[]): IstioResource[] {
    const tag = String(this.variant);
    return list.map((r) => ({ ...r, version: contentHash(`${r.version}/${tag}`) }));
  }
}

function kindOf(store: SnapshotStore): KindSnapshot {
  const ks = store.current()?.kinds.get('ServiceEntry');
  if (ks === undefined) throw new Error('no ServiceEntry kind in the snapshot');
  return ks;
}

async function grpcCases(base: readonly IstioResource[]): Promise<CaseResult[]> {
  const store = new SnapshotStore();
  store.publish(base);
  const metrics = new Metrics();
  const server = new XdsServer({
    address: '127.0.0.1:0',
    store,
    metrics,
    logger: silentLogger(),
    ready: () => true,
    readyPollMs: 10,
    shutdownGraceMs: 2000,
  });
  const abort = new AbortController();
  await server.start(abort.signal);
  const client = new AdsClient({ port: server.port(), nodeId: 'bench-istiod' });
  const changes = new Changes(base);
  try {
    client.subscribe(ISTIOD_TYPE_URLS_V1);
    await client.allAnswered(ISTIOD_TYPE_URLS_V1, 120_000);

    const results: CaseResult[] = [];
    for (const uncached of [false, true]) {
      const deliveries: number[] = [];
      let bytes = 0;
      let encodes = 0;
      const step = async (): Promise<bigint> => {
        const next = changes.next();
        const published = uncached ? changes.bumped(next) : next;
        // The client keeps every response it got; drop them (untimed) so 10,000 decoded
        // resources per push do not pile up and turn every GC into a full-heap walk.
        client.received.length = 0;
        const from = 0;
        const bytesBefore = await counterValue(metrics.xdsPushBytes);
        const encodesBefore = server.debugState().cache.encodes;
        const t0 = process.hrtime.bigint();
        const ns = timeSync(() => {
          store.publish(published);
        });
        const version = kindOf(store).version;
        await client.next((r) => r.type_url === SE_URL && r.version_info === version, from, 120_000);
        deliveries.push(Number(process.hrtime.bigint() - t0) / 1e6);
        bytes = (await counterValue(metrics.xdsPushBytes)) - bytesBefore;
        encodes = server.debugState().cache.encodes - encodesBefore;
        return ns;
      };
      results.push(
        await runCase({
          label: uncached ? 'push, every resource re-encoded (cache defeated)' : 'push after 1 change (cached encodings)',
          role: uncached ? Role.BASELINE : Role.SUBJECT,
          ...(uncached ? {} : { baseline: 'push, every resource re-encoded (cache defeated)' }),
          n: SERVICES,
          unit: 'ServiceEntries',
          warmup: uncached ? 1 : 3,
          iterations: uncached ? 8 : 15,
          step,
          notes: () => [
            `response ${formatBytes(bytes)}`,
            `${encodes} resource(s) encoded per push`,
            `delivered+decoded by client: median ${formatMs(median(deliveries.slice(uncached ? 1 : 3)))} ms`,
          ],
        }),
      );
    }
    // Subjects first in the table, baseline after: keep run order (the cached case must run
    // before the bumped versions are published), present baseline last.
    return results;
  } finally {
    client.close();
    abort.abort();
    await server.stopped();
  }
}

const SHARDS = 8;

/**
 * The cached push again with sinks.xds.shards 8 (ADR 0016): eight servers, one istiod-like client
 * per shard, as istiod keeps one stream per config source. Only the changed resource's shard
 * pushes; the figure includes splitting the snapshot into the shard stores.
 */
async function shardedCase(base: readonly IstioResource[]): Promise<CaseResult> {
  const store = new SnapshotStore();
  store.publish(base);
  const metrics = new Metrics();
  const server = new ShardedXdsServer({ address: '127.0.0.1:0', store, metrics, logger: silentLogger(), ready: () => true, readyPollMs: 10, shutdownGraceMs: 2000, shards: SHARDS });
  const abort = new AbortController();
  await server.start(abort.signal);
  const clients = server.ports().map((port) => new AdsClient({ port, nodeId: 'bench-istiod' }));
  const changes = new Changes(base);
  try {
    for (const c of clients) c.subscribe(ISTIOD_TYPE_URLS_V1);
    await Promise.all(clients.map((c) => c.allAnswered(ISTIOD_TYPE_URLS_V1, 120_000)));
    const deliveries: number[] = [];
    let bytes = 0;
    let pushes = 0;
    return await runCase({
      label: `push after 1 change, ${SHARDS} shards (cached encodings)`,
      role: Role.SUBJECT,
      baseline: 'push, every resource re-encoded (cache defeated)',
      n: SERVICES,
      unit: 'ServiceEntries',
      warmup: 3,
      iterations: 15,
      step: async () => {
        const next = changes.next();
        for (const c of clients) c.received.length = 0;
        const bytesBefore = await counterValue(metrics.xdsPushBytes);
        const pushesBefore = await counterSum(metrics.xdsPushes);
        const t0 = process.hrtime.bigint();
        const ns = timeSync(() => {
          store.publish(next);
        });
        const target = changes.last;
        const owner = clients[shardOf(target, SHARDS)];
        await owner?.next((r) => r.type_url === SE_URL && r.resources.some((x) => x.name === `${target.namespace}/${target.name}` && x.version === target.version), 0, 120_000);
        deliveries.push(Number(process.hrtime.bigint() - t0) / 1e6);
        bytes = (await counterValue(metrics.xdsPushBytes)) - bytesBefore;
        pushes = (await counterSum(metrics.xdsPushes)) - pushesBefore;
        return ns;
      },
      notes: () => [`response ${formatBytes(bytes)} (${pushes} push(es), one shard)`, `delivered+decoded by the shard's client: median ${formatMs(median(deliveries.slice(3)))} ms`],
    });
  } finally {
    for (const c of clients) c.close();
    abort.abort();
    await server.stopped();
  }
}

/** The same comparison without gRPC and without the snapshot build: encoding only. */
async function encodeCases(base: readonly IstioResource[]): Promise<CaseResult[]> {
  const store = new SnapshotStore();
  store.publish(base);
  const cache = new ResourceCache();
  cache.encodeKind(kindOf(store));
  const changes = new Changes(base);
  let bytes = 0;
  const cached = await runCase({
    label: 'encode only: ResourceCache after 1 change + assembleResponse',
    role: Role.SUBJECT,
    baseline: 'encode only: encodeResourceAny for all + assembleResponse',
    n: SERVICES,
    unit: 'ServiceEntries',
    warmup: 3,
    iterations: 20,
    step: () => {
      store.publish(changes.next()); // untimed: snapshot build
      const snap = store.current();
      if (snap === undefined) throw new Error('no snapshot');
      const ks = kindOf(store);
      return timeSync(() => {
        cache.retain(snap);
        const enc = cache.encodeKind(ks);
        bytes = assembleResponse({ versionInfo: ks.version, typeUrl: SE_URL, nonce: 'n1', resources: enc.block }).length;
      });
    },
    notes: () => [`response ${formatBytes(bytes)}`],
  });
  const uncached = await runCase({
    label: 'encode only: encodeResourceAny for all + assembleResponse',
    role: Role.BASELINE,
    n: SERVICES,
    unit: 'ServiceEntries',
    warmup: 1,
    iterations: 8,
    step: () => {
      store.publish(changes.next());
      const ks = kindOf(store);
      const now = Date.now();
      return timeSync(() => {
        const fields: Buffer[] = [];
        let total = 0;
        for (const r of ks.resources.values()) {
          const f = frameResource(encodeResourceAny(r, now));
          fields.push(f);
          total += f.length;
        }
        bytes = assembleResponse({ versionInfo: ks.version, typeUrl: SE_URL, nonce: 'n1', resources: Buffer.concat(fields, total) }).length;
      });
    },
    notes: () => [`response ${formatBytes(bytes)}`],
  });
  return [cached, uncached];
}

export const xdsPush: Bench = {
  name: 'xds-push',
  title: 'xDS push of 10,000 ServiceEntries after one change',
  description:
    'A real XdsServer on 127.0.0.1:0 serves a snapshot of 10,000 ServiceEntries (3 endpoints, 2 ports, labels; made by the real conversion) ' +
    'to an istiod-like ADS client (test-support/xds/adsc.ts) subscribed to every Istio type. Each iteration changes one ServiceEntry and publishes; ' +
    'the figure is the synchronous server side of the push (snapshot build, cache.retain, encodeKind into a new frame, the response written in place around it, grpc-js write). ' +
    'Baseline: the same push with every metadata.version bumped, so every resource misses the cache and is encoded afresh, as a server without ' +
    'the per-resource cache would. The "encode only" pair isolates encoding from the snapshot build and gRPC: ResourceCache after one change vs ' +
    'a plain encodeResourceAny loop over all 10,000 resources. Why: istiod gets the full state on every push (state of the world), so ' +
    'without the cache a one-endpoint change costs a full re-encode.',
  compare: Compare.TIME,
  async run() {
    const base = resourcesOf(benchServices());
    const grpc = await grpcCases(base);
    const sharded = await shardedCase(base);
    const enc = await encodeCases(base);
    return [...grpc, sharded, ...enc];
  },
};
