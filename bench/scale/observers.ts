/**
 * The bench's side of the measurement: what each change should look like once published
 * (expected name and version, by the same conversion), a tracker per observer resolving changes
 * as their versions arrive, and the two observers: a lean istiod-like ADS client and a watch on
 * the kube-apiserver's serviceentries.
 */
import { convert, hostFor } from '../../src/convert/index.js';
import type { KubeClient, WatchEvent } from '../../src/sinks/kubernetes/kube-client.js';
import { ContentHashAnnotation } from '../../src/snapshot/index.js';
import { ISTIOD_TYPE_URLS_V1 } from '../../test-support/xds/adsc.js';
import { conversionOptions, scaleService, type BridgeConfig, type Change } from './protocol.js';
import { RawAdsClient, nowMs, type RawResponse } from './raw-ads.js';
import { SE_URL, sleep } from './setups.js';

/** Tracks expected (name, version) per change and resolves changes as versions arrive. */
export class Tracker {
  private readonly byVersion = new Map<string, { id: number; name: string }>();
  private readonly pending = new Map<string, number[]>();
  readonly arrived = new Map<number, number>();
  expect(id: number, name: string, version: string): void {
    this.byVersion.set(version, { id, name });
    let p = this.pending.get(name);
    if (p === undefined) this.pending.set(name, (p = []));
    p.push(id);
  }
  seen(name: string, version: string, at: number): void {
    const hit = this.byVersion.get(version);
    if (hit === undefined || hit.name !== name) return;
    const p = this.pending.get(name);
    if (p === undefined) return;
    // A later change of the same entry supersedes earlier ones: they arrived with it.
    let k = 0;
    while (k < p.length && (p[k] ?? Infinity) <= hit.id) {
      const id = p[k] ?? 0;
      if (!this.arrived.has(id)) this.arrived.set(id, at);
      k++;
    }
    p.splice(0, k);
  }
  open(): number {
    let n = 0;
    for (const p of this.pending.values()) n += p.length;
    return n;
  }
}

/** Expected ServiceEntry name (namespace/name) and version of a change, by the same conversion. */
export function expected(cfg: Pick<BridgeConfig, 'endpoints'>, c: Pick<Change, 'reg' | 'svc' | 'variant'>): { name: string; version: string } {
  const o = conversionOptions();
  const s = scaleService(cfg, c.reg, c.svc, c.variant);
  const r = convert({ host: hostFor(s, o), primary: s, ports: s.ports, endpoints: s.endpoints, origins: [s.registry] }, o).resources[0];
  if (r === undefined) throw new Error('conversion gave no resource');
  return { name: `${r.namespace}/${r.name}`, version: r.version };
}

/** The ADS observer: every ServiceEntry response is kept (for push bytes) and fed to the tracker. */
export class AdsObserver {
  /** When the client was created (epoch ms). */
  readonly connectAt = nowMs();
  /** The first ServiceEntry response (the full state). */
  readonly first: Promise<RawResponse>;
  private pushes: RawResponse[] = [];
  private readonly seenVersions = new Map<string, string>();
  private readonly client: RawAdsClient;

  constructor(port: number, tracker: Tracker) {
    let firstFull: ((r: RawResponse) => void) | undefined;
    this.first = new Promise<RawResponse>((resolve) => (firstFull = resolve));
    this.client = new RawAdsClient(port, (r) => {
      if (r.typeUrl !== SE_URL) return;
      this.pushes.push(r);
      for (const [name, v] of r.resources) {
        if (this.seenVersions.get(name) !== v) {
          this.seenVersions.set(name, v);
          tracker.seen(name, v, r.at);
        }
      }
      firstFull?.(r);
      firstFull = undefined;
    });
    this.client.subscribe(ISTIOD_TYPE_URLS_V1);
  }

  /** Forgets the responses so far: pushMiB() counts from here. */
  resetPushes(): void {
    this.pushes = [];
  }

  /** MiB of the ServiceEntry responses since the last resetPushes(). */
  pushMiB(): number {
    return this.pushes.reduce((x, r) => x + r.bytes, 0) / 2 ** 20;
  }

  close(): void {
    this.client.close();
  }
}

/** The Kubernetes observer: a watch on every serviceentry, re-opened until stopped. */
export class KubeWatch {
  /** namespace/name -> content hash of what the API server holds. */
  readonly seen = new Map<string, string>();
  private readonly abort = new AbortController();

  constructor(client: KubeClient, tracker: Tracker) {
    const onEvent = (e: WatchEvent): void => {
      const at = nowMs();
      const o = e.object as { metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> } };
      const name = `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
      const v = o.metadata?.annotations?.[ContentHashAnnotation];
      if (e.type === 'DELETED' || v === undefined) {
        this.seen.delete(name);
        return;
      }
      this.seen.set(name, v);
      tracker.seen(name, v, at);
    };
    void (async () => {
      while (!this.abort.signal.aborted) {
        await client.watch('/apis/networking.istio.io/v1/serviceentries', {}, onEvent, this.abort.signal).catch(() => sleep(200));
      }
    })();
  }

  stop(): void {
    this.abort.abort();
  }
}
