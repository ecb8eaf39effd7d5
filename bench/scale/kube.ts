/**
 * The scale bench's Kubernetes side: a real kube-apiserver + etcd from the test kit (Istio CRDs
 * applied) with a KubeClient of its own, emptied between setups, and its floor: one server-side
 * apply round trip.
 */
import { KubeClient } from '../../src/sinks/kubernetes/kube-client.js';
import { FIELD_MANAGER } from '../../src/sinks/kubernetes/sink.js';
import { loadPeers, type KubeApi } from '../../test-support/peers.js';
import { percentile } from '../harness.js';
import { conversionOptions } from './protocol.js';
import { sleep, type FloorResult } from './setups.js';

export interface Kube {
  readonly api: KubeApi;
  readonly client: KubeClient;
  readonly stop: () => Promise<void>;
}

/** The API server, or why there is none (BENCH_SCALE_KUBE=0, peers not built, a failed start). */
export async function startKube(): Promise<Kube | string> {
  if (process.env['BENCH_SCALE_KUBE'] === '0') return 'skipped (BENCH_SCALE_KUBE=0)';
  try {
    const peers = await loadPeers();
    const missing = (['etcd', 'kube-apiserver', 'istio-crds'] as const).filter((n) => !peers.peerAvailable(n));
    if (missing.length > 0) return `peers not built: ${missing.join(', ')} (test-support/peers/build-peers.sh)`;
    const api = await peers.startKubeApiserver({ authorization: 'AlwaysAllow' });
    await peers.applyIstioCrds(api);
    // Resources land in the conversion's namespace; the file floor writes to team0.
    for (const ns of [conversionOptions().namespace, 'team0']) await peers.ensureNamespace(api, ns);
    const client = new KubeClient({ kubeconfig: api.kubeconfigPath, qps: 1000, burst: 2000 });
    await client.init();
    return { api, client, stop: () => api.stop() };
  } catch (e) {
    return `kube-apiserver did not start: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
  }
}

export async function wipeKube(k: Kube): Promise<void> {
  await k.client.request({ method: 'DELETE', path: `/apis/networking.istio.io/v1/namespaces/${conversionOptions().namespace}/serviceentries` }).catch(() => undefined);
  // Wait until the collection is empty (deletes are asynchronous to the list).
  for (let t = 0; t < 120; t++) {
    const l = await k.client.request<{ items?: unknown[] }>({ method: 'GET', path: '/apis/networking.istio.io/v1/serviceentries', query: { limit: 1 } });
    if ((l.items?.length ?? 0) === 0) return;
    await sleep(500);
  }
}

/** Floor: one server-side apply of one changed ServiceEntry, round trip, measured directly. */
export async function ssaFloor(k: Kube): Promise<FloorResult> {
  const samples: number[] = [];
  for (let i = 0; i < 40; i++) {
    const t = performance.now();
    await k.client.request({
      method: 'PATCH',
      path: '/apis/networking.istio.io/v1/namespaces/team0/serviceentries/floor',
      query: { fieldManager: FIELD_MANAGER, force: true },
      body: {
        apiVersion: 'networking.istio.io/v1',
        kind: 'ServiceEntry',
        metadata: { name: 'floor', namespace: 'team0' },
        spec: { hosts: ['floor.bench.local'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'STATIC', endpoints: [{ address: `10.9.0.${i + 1}` }] },
      },
      contentType: 'application/apply-patch+yaml',
    });
    if (i >= 5) samples.push(performance.now() - t);
  }
  const s = samples.sort((a, b) => a - b);
  return { name: 'one server-side apply round trip (kube-apiserver + etcd)', n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), notes: 'PATCH apply-patch+yaml of one changed ServiceEntry, 5 warm-up' };
}
