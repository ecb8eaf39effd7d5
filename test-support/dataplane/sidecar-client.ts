/**
 * An xDS client that poses as a sidecar (Envoy under pilot-agent) on istiod's plaintext xDS port,
 * so a test sees the config a real proxy would get. One ADS stream, state of the world:
 * CDS and LDS (wildcard) at start, then EDS for every EDS cluster and RDS for every route config
 * name the listeners' HttpConnectionManagers name, re-subscribed as those sets change. Every
 * response is ACKed (version_info + nonce echoed); one that does not decode is NACKed with the
 * previous version and recorded in `errors`.
 */
import * as grpc from '@grpc/grpc-js';
import { loadAdsService, type RawResponse, type StreamEnd } from '../xds/ads-service.js';
import { decodeAny, XDS_INCLUDE_DIRS } from './protos.js';
import { sidecarNode, sidecarNodeId, type SidecarIdentity } from './sidecar-node.js';
import { edsNames, rdsNames } from './subscriptions.js';
import { TYPE_URL, type Cluster, type ClusterLoadAssignment, type Listener, type RouteConfiguration, type XdsState } from './types.js';

export type { StreamEnd };

interface AdsCall {
  write(req: unknown): boolean;
  on(event: 'data', cb: (r: RawResponse) => void): this;
  on(event: 'status', cb: (s: grpc.StatusObject) => void): this;
  on(event: 'error', cb: (e: Error) => void): this;
  cancel(): void;
}

let adsService: grpc.ServiceClientConstructor | undefined;

function service(): grpc.ServiceClientConstructor {
  if (adsService !== undefined) return adsService;
  adsService = loadAdsService(XDS_INCLUDE_DIRS);
  return adsService;
}

export interface SidecarClientOptions extends SidecarIdentity {
  /** istiod's plaintext xDS address, host:port (Istiod.grpcAddress). */
  readonly address: string;
}

/** Per type: what was last accepted and what is subscribed. */
interface TypeState {
  version: string;
  nonce: string;
  names: readonly string[];
  responses: number;
}

const ORDER = [TYPE_URL.cluster, TYPE_URL.endpoint, TYPE_URL.listener, TYPE_URL.route] as const;

/**
 * Build, then start: the constructor does no I/O; `start()` opens the stream. `state()` is the
 * config as last ACKed (a new immutable object after every applied response).
 */
export class SidecarClient {
  readonly nodeId: string;
  /** Responses that failed to decode (and were NACKed), in order. */
  readonly errors: string[] = [];
  private readonly options: SidecarClientOptions;
  private client: grpc.Client | undefined;
  private call: AdsCall | undefined;
  private sentNode = false;
  private ended: StreamEnd | undefined;
  private current: XdsState = { listeners: [], routes: [], clusters: [], endpoints: [] };
  private readonly types = new Map<string, TypeState>();
  private waiters: Array<{ check: () => void }> = [];

  constructor(options: SidecarClientOptions) {
    this.options = options;
    this.nodeId = sidecarNodeId(options);
  }

  /** Opens the ADS stream and subscribes to CDS and LDS. Idempotent. */
  start(): this {
    if (this.call !== undefined) return this;
    const Ads = service();
    this.client = new Ads(this.options.address, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 512 * 1024 * 1024 });
    const c = this.client as unknown as { StreamAggregatedResources: () => AdsCall };
    const call = c.StreamAggregatedResources();
    this.call = call;
    call.on('data', (r) => this.onResponse(r));
    call.on('error', () => undefined); // 'status' carries it
    call.on('status', (s) => {
      this.ended = { code: s.code, details: s.details };
      this.notify();
    });
    this.subscribe(TYPE_URL.cluster, []);
    this.subscribe(TYPE_URL.listener, []);
    return this;
  }

  /** The config as last applied. */
  state(): XdsState {
    return this.current;
  }

  /** Version and response count per type URL (for diagnostics). */
  versions(): Record<string, { version: string; responses: number; names: number }> {
    const out: Record<string, { version: string; responses: number; names: number }> = {};
    for (const [t, s] of this.types) out[t] = { version: s.version, responses: s.responses, names: s.names.length };
    return out;
  }

  /** Whether CDS and LDS were answered and every subscribed EDS/RDS name was received. */
  warm(state: XdsState = this.current): boolean {
    const cds = this.types.get(TYPE_URL.cluster);
    const lds = this.types.get(TYPE_URL.listener);
    if (cds === undefined || cds.responses === 0 || lds === undefined || lds.responses === 0) return false;
    const cla = new Set(state.endpoints.map((e) => e.cluster_name));
    const rc = new Set(state.routes.map((r) => r.name));
    return edsNames(state.clusters).every((n) => cla.has(n)) && rdsNames(state.listeners).every((n) => rc.has(n));
  }

  /**
   * Resolves with the first state (the current one included) for which `predicate` holds, checked
   * after every applied response. Rejects after `timeoutMs`, or when the stream ends, with the
   * versions received and any decode errors in the message.
   */
  waitFor(predicate: (state: XdsState) => boolean, timeoutMs = 30_000): Promise<XdsState> {
    return new Promise((resolve, reject) => {
      const waiter = {
        check: (): void => {
          let ok = false;
          try {
            ok = predicate(this.current);
          } catch (e) {
            done();
            reject(e instanceof Error ? e : new Error(String(e)));
            return;
          }
          if (ok) {
            done();
            resolve(this.current);
          } else if (this.ended !== undefined) {
            done();
            reject(new Error(`sidecar ${this.nodeId}: stream ended (${this.ended.code} ${this.ended.details}) before the condition held; ${this.describe()}`));
          }
        },
      };
      const done = (): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`sidecar ${this.nodeId}: condition not met within ${timeoutMs} ms; ${this.describe()}`));
      }, timeoutMs);
      this.waiters.push(waiter);
      waiter.check();
    });
  }

  /** Ends the stream and the channel. */
  close(): void {
    this.call?.cancel();
    this.client?.close();
  }

  private describe(): string {
    const v = JSON.stringify(this.versions());
    return `versions ${v}${this.errors.length > 0 ? `; errors: ${this.errors.join('; ')}` : ''}`;
  }

  private send(typeUrl: string, s: TypeState, error?: string): void {
    const node = this.sentNode ? {} : { node: sidecarNode(this.options) };
    this.sentNode = true;
    this.call?.write({
      ...node,
      type_url: typeUrl,
      version_info: s.version,
      response_nonce: s.nonce,
      resource_names: [...s.names],
      ...(error !== undefined ? { error_detail: { code: 3, message: error } } : {}),
    });
  }

  private subscribe(typeUrl: string, names: readonly string[]): void {
    const s = this.types.get(typeUrl) ?? { version: '', nonce: '', names: [], responses: 0 };
    s.names = names;
    this.types.set(typeUrl, s);
    this.send(typeUrl, s);
  }

  private onResponse(raw: RawResponse): void {
    const s = this.types.get(raw.type_url);
    if (s === undefined) return; // not asked for
    let decoded: unknown[];
    try {
      decoded = raw.resources.map((a) => decodeAny(a.type_url, a.value));
    } catch (e) {
      const msg = `${raw.type_url} version ${raw.version_info}: ${e instanceof Error ? e.message : String(e)}`;
      this.errors.push(msg);
      s.nonce = raw.nonce;
      this.send(raw.type_url, s, msg);
      this.notify();
      return;
    }
    s.version = raw.version_info;
    s.nonce = raw.nonce;
    s.responses += 1;
    this.apply(raw.type_url, decoded);
    this.send(raw.type_url, s); // ACK
    this.resubscribe();
    this.notify();
  }

  /** CDS and LDS are full state; EDS and RDS responses update the names they carry. */
  private apply(typeUrl: string, resources: unknown[]): void {
    const c = this.current;
    if (typeUrl === TYPE_URL.cluster) this.current = { ...c, clusters: resources as Cluster[] };
    else if (typeUrl === TYPE_URL.listener) this.current = { ...c, listeners: resources as Listener[] };
    else if (typeUrl === TYPE_URL.endpoint) this.current = { ...c, endpoints: mergeByName(c.endpoints, resources as ClusterLoadAssignment[], (r) => r.cluster_name) };
    else if (typeUrl === TYPE_URL.route) this.current = { ...c, routes: mergeByName(c.routes, resources as RouteConfiguration[], (r) => r.name) };
  }

  /** Subscribes EDS/RDS to the names the current clusters/listeners need; forgets the rest. */
  private resubscribe(): void {
    for (const typeUrl of ORDER) {
      let want: string[];
      if (typeUrl === TYPE_URL.endpoint) want = edsNames(this.current.clusters);
      else if (typeUrl === TYPE_URL.route) want = rdsNames(this.current.listeners);
      else continue;
      const s = this.types.get(typeUrl);
      const have = s?.names ?? [];
      if (sameNames(have, want)) continue;
      if (s === undefined && want.length === 0) continue;
      const keep = new Set(want);
      const c = this.current;
      this.current =
        typeUrl === TYPE_URL.endpoint
          ? { ...c, endpoints: c.endpoints.filter((e) => keep.has(e.cluster_name)) }
          : { ...c, routes: c.routes.filter((r) => keep.has(r.name)) };
      this.subscribe(typeUrl, want);
    }
  }

  private notify(): void {
    for (const w of [...this.waiters]) w.check();
  }
}

/** Opens a sidecar's ADS stream to istiod (`new SidecarClient(options).start()`). */
export function startSidecar(options: SidecarClientOptions): SidecarClient {
  return new SidecarClient(options).start();
}

function mergeByName<T>(prev: readonly T[], next: readonly T[], name: (r: T) => string): T[] {
  const byName = new Map(prev.map((r) => [name(r), r] as const));
  for (const r of next) byName.set(name(r), r);
  return [...byName.values()];
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((n) => s.has(n));
}
