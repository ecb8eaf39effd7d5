/**
 * A sidecar-posing xDS client of istiod for benches at scale (10,000 services and more). It makes
 * the same requests as SidecarClient (and a real Envoy): CDS and LDS wildcard, then EDS for every
 * EDS cluster and RDS for every HttpConnectionManager's route name, every response ACKed. But it
 * reads from the wire only what drives those subscriptions (cluster names and types, RDS names)
 * and keeps each ClusterLoadAssignment as bytes, decoded only when asked (`addresses`). So its own
 * cost stays small next to istiod's on the same cores: SidecarClient decodes every Cluster and
 * Listener into objects (proto-loader), which at 10k dominates every figure.
 *
 * Contract: build, then `start()` (the constructor does no I/O). `onEndpoints` listeners run once
 * per applied EDS response, with the receive time (performance.now(), taken before parsing) and
 * the cluster names it carried. EDS responses update the names they carry (SotW EDS may be
 * partial); CDS and LDS responses replace the whole set. A response that does not parse is NACKed
 * and recorded in `errors`.
 */
import { Client, credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { sidecarMetadata, sidecarNodeId } from './sidecar-node.js';
import type { SidecarClientOptions } from './sidecar-client.js';
import { TYPE_URL } from './types.js';
import { encodeStruct, fields, lenField, message, messages, str, varint } from './wire.js';

const passThrough = (b: Buffer): Buffer => b;
const EDS_DISCOVERY_TYPE = 3; // envoy.config.cluster.v3.Cluster.DiscoveryType.EDS

interface TypeState {
  version: string;
  nonce: string;
  responses: number;
  bytes: number;
  /** resource_names (3) of the current subscription, encoded once per change. */
  names: Buffer;
  count: number;
}

export interface LeanStats {
  readonly responses: number;
  readonly bytes: number;
  readonly version: string;
  readonly names: number;
}

export type EndpointsListener = (at: number, names: readonly string[]) => void;

/** The resources (Any.value) of a DiscoveryResponse and its header fields. */
function parseResponse(buf: Buffer): { version: string; typeUrl: string; nonce: string; resources: Buffer[] } {
  let version = '';
  let typeUrl = '';
  let nonce = '';
  const resources: Buffer[] = [];
  for (const f of fields(buf)) {
    if (f.bytes === undefined) continue;
    if (f.field === 1) version = f.bytes.toString('utf8');
    else if (f.field === 4) typeUrl = f.bytes.toString('utf8');
    else if (f.field === 5) nonce = f.bytes.toString('utf8');
    else if (f.field === 2) resources.push(message(f.bytes, 2) ?? Buffer.alloc(0));
  }
  return { version, typeUrl, nonce, resources };
}

/** EDS names of a CDS response: eds_cluster_config.service_name (3.2), else the name (1), of EDS clusters. */
function edsNamesOf(clusters: readonly Buffer[]): string[] {
  const out = new Set<string>();
  for (const c of clusters) {
    if (varint(c, 2) !== EDS_DISCOVERY_TYPE) continue;
    const eds = message(c, 3);
    const service = eds === undefined ? '' : str(eds, 2);
    out.add(service !== '' ? service : str(c, 1));
  }
  return [...out].sort();
}

/** RDS names of an LDS response: HCM rds.route_config_name of every filter chain (3) and default chain (25). */
function rdsNamesOf(listeners: readonly Buffer[]): string[] {
  const out = new Set<string>();
  for (const l of listeners) {
    for (const chain of [...messages(l, 3), ...messages(l, 25)]) {
      for (const filter of messages(chain, 3)) {
        const any = message(filter, 4);
        if (any === undefined || str(any, 1) !== TYPE_URL.hcm) continue;
        const rds = message(message(any, 2) ?? Buffer.alloc(0), 3);
        const name = rds === undefined ? '' : str(rds, 2);
        if (name !== '') out.add(name);
      }
    }
  }
  return [...out].sort();
}

/** Socket addresses (ip) of a ClusterLoadAssignment: endpoints(2).lb_endpoints(2).endpoint(1).address(1).socket_address(1).address(2). */
export function claAddresses(cla: Buffer): string[] {
  const out: string[] = [];
  for (const locality of messages(cla, 2)) {
    for (const lb of messages(locality, 2)) {
      const sock = message(message(message(lb, 1) ?? Buffer.alloc(0), 1) ?? Buffer.alloc(0), 1);
      if (sock !== undefined) out.push(str(sock, 2));
    }
  }
  return out;
}

export class LeanSidecar {
  readonly nodeId: string;
  readonly errors: string[] = [];
  private readonly options: SidecarClientOptions;
  private client: Client | undefined;
  private call: ClientDuplexStream<Buffer, Buffer> | undefined;
  private sentNode = false;
  private readonly types = new Map<string, TypeState>();
  private readonly cla = new Map<string, Buffer>();
  private edsWant = new Set<string>();
  private rdsWant = new Set<string>();
  private readonly routes = new Set<string>();
  private listeners: EndpointsListener[] = [];
  private closed = false;
  /** Why each re-opened stream ended (a real proxy reconnects too). */
  readonly reconnects: string[] = [];

  constructor(options: SidecarClientOptions) {
    this.options = options;
    this.nodeId = sidecarNodeId(options);
  }

  start(): this {
    if (this.client !== undefined) return this;
    this.client = new Client(this.options.address, credentials.createInsecure(), {
      'grpc.max_receive_message_length': 1024 * 1024 * 1024,
      // Envoy and istiod grow their HTTP/2 windows; grpc-js keeps 64 KiB unless told.
      'grpc-node.flow_control_window': 16 * 1024 * 1024,
    });
    this.open();
    return this;
  }

  /**
   * Opens a stream and (re)subscribes. Like Envoy, a stream that ends is re-opened after 200 ms
   * with the versions and names held, so a dropped connection costs a resync, not the run.
   */
  private open(): void {
    const call = this.client!.makeBidiStreamRequest('/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources', passThrough, passThrough);
    this.call = call;
    this.sentNode = false;
    call.on('data', (b: Buffer) => this.onResponse(b, performance.now()));
    let ended = false;
    const reopen = (why: string): void => {
      if (ended) return;
      ended = true;
      if (this.closed) return;
      this.reconnects.push(why);
      setTimeout(() => {
        if (!this.closed) this.open();
      }, 200).unref();
    };
    call.on('error', (e: Error) => reopen(e.message));
    call.on('end', () => reopen('stream ended'));
    const types = [...this.types.keys()];
    if (types.length === 0) {
      this.subscribe(TYPE_URL.cluster, []);
      this.subscribe(TYPE_URL.listener, []);
    } else {
      for (const t of types) {
        const st = this.types.get(t)!;
        st.nonce = '';
        this.send(t, st);
      }
    }
  }

  /** CDS and LDS answered, and every subscribed EDS and RDS name received. */
  warm(): boolean {
    const cds = this.types.get(TYPE_URL.cluster);
    const lds = this.types.get(TYPE_URL.listener);
    if ((cds?.responses ?? 0) === 0 || (lds?.responses ?? 0) === 0) return false;
    for (const n of this.edsWant) if (!this.cla.has(n)) return false;
    for (const n of this.rdsWant) if (!this.routes.has(n)) return false;
    return true;
  }

  /** Resolves once `warm()` and `cond()` hold (checked after every response and every 50 ms). */
  async waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
    const end = performance.now() + timeoutMs;
    while (!(this.warm() && cond())) {
      if (performance.now() > end) throw new Error(`lean sidecar ${this.nodeId}: not warm within ${timeoutMs} ms: ${JSON.stringify(this.stats())}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** EDS cluster names subscribed (from the last CDS response), sorted. */
  edsNames(): string[] {
    return [...this.edsWant].sort();
  }

  /** RDS names subscribed (from the last LDS response), sorted. */
  rdsNames(): string[] {
    return [...this.rdsWant].sort();
  }

  /** Endpoint IPs of a cluster's last ClusterLoadAssignment (decoded now), [] when none. */
  addresses(cluster: string): string[] {
    const b = this.cla.get(cluster);
    return b === undefined ? [] : claAddresses(b);
  }

  /** Number of ClusterLoadAssignments held. */
  assignments(): number {
    return this.cla.size;
  }

  /** Calls `cb` after every applied EDS response; returns the unsubscribe. */
  onEndpoints(cb: EndpointsListener): () => void {
    this.listeners.push(cb);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== cb);
    };
  }

  stats(): Record<string, LeanStats> {
    const out: Record<string, LeanStats> = {};
    for (const [t, s] of this.types) out[t.slice(t.lastIndexOf('.') + 1)] = { responses: s.responses, bytes: s.bytes, version: s.version, names: s.count };
    out['reconnects'] = { responses: this.reconnects.length, bytes: 0, version: this.reconnects.slice(-1)[0] ?? '', names: 0 };
    return out;
  }

  close(): void {
    this.closed = true;
    this.call?.cancel();
    this.client?.close();
  }

  private onResponse(buf: Buffer, at: number): void {
    let r: ReturnType<typeof parseResponse>;
    try {
      r = parseResponse(buf);
    } catch (e) {
      this.errors.push(`unparsable response: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    const s = this.types.get(r.typeUrl);
    if (s === undefined) return;
    const names: string[] = [];
    try {
      if (r.typeUrl === TYPE_URL.cluster) this.resubscribe(TYPE_URL.endpoint, edsNamesOf(r.resources), this.edsWant, (n) => this.cla.delete(n));
      else if (r.typeUrl === TYPE_URL.listener) this.resubscribe(TYPE_URL.route, rdsNamesOf(r.resources), this.rdsWant, (n) => this.routes.delete(n));
      else if (r.typeUrl === TYPE_URL.endpoint) {
        for (const cla of r.resources) {
          const name = str(cla, 1);
          this.cla.set(name, cla);
          names.push(name);
        }
      } else if (r.typeUrl === TYPE_URL.route) for (const rc of r.resources) this.routes.add(str(rc, 1));
    } catch (e) {
      const msg = `${r.typeUrl} ${r.version}: ${e instanceof Error ? e.message : String(e)}`;
      this.errors.push(msg);
      s.nonce = r.nonce;
      this.send(r.typeUrl, s, msg);
      return;
    }
    s.version = r.version;
    s.nonce = r.nonce;
    s.responses += 1;
    s.bytes += buf.length;
    this.send(r.typeUrl, s); // ACK
    if (names.length > 0) for (const l of this.listeners) l(at, names);
  }

  /** Re-subscribes `typeUrl` when the wanted names changed; forgets what is no longer wanted. */
  private resubscribe(typeUrl: string, want: readonly string[], have: Set<string>, forget: (n: string) => void): void {
    const same = want.length === have.size && want.every((n) => have.has(n));
    if (same) return;
    const next = new Set(want);
    for (const n of have) if (!next.has(n)) forget(n);
    have.clear();
    for (const n of next) have.add(n);
    if (this.types.has(typeUrl) || want.length > 0) this.subscribe(typeUrl, want);
  }

  private subscribe(typeUrl: string, names: readonly string[]): void {
    const s = this.types.get(typeUrl) ?? { version: '', nonce: '', responses: 0, bytes: 0, names: Buffer.alloc(0), count: 0 };
    s.names = Buffer.concat(names.map((n) => lenField(3, n)));
    s.count = names.length;
    this.types.set(typeUrl, s);
    this.send(typeUrl, s);
  }

  private send(typeUrl: string, s: TypeState, error?: string): void {
    const parts: Buffer[] = [lenField(1, s.version)];
    if (!this.sentNode) {
      this.sentNode = true;
      const { strings, labels } = sidecarMetadata(this.options);
      const node = Buffer.concat([
        lenField(1, this.nodeId),
        lenField(2, `${labels['app'] ?? this.options.pod}.${this.options.namespace}`),
        lenField(3, encodeStruct(strings, { LABELS: labels })),
        lenField(6, 'envoy'),
      ]);
      parts.push(lenField(2, node));
    }
    parts.push(s.names, lenField(4, typeUrl), lenField(5, s.nonce));
    // error_detail (6) is a google.rpc.Status: code 1 (varint; 3 = INVALID_ARGUMENT), message 2.
    if (error !== undefined) parts.push(lenField(6, Buffer.concat([Buffer.from([0x08, 3]), lenField(2, error)])));
    this.call?.write(Buffer.concat(parts));
  }
}
