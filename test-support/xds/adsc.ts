import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadAdsService, type RawResponse, type StreamEnd } from './ads-service.js';
import { decodeMcpAny, type DecodedResource } from './istio-protos.js';

export type { StreamEnd };

/**
 * An ADS client that behaves like istiod's pkg/adsc MCP client: one StreamAggregatedResources
 * stream, first requests carry a junk nonce (a timestamp), every response is applied as the
 * full state of its type and ACKed by echoing version_info + nonce. Built from the envoy protos
 * shipped in @grpc/grpc-js-xds (independent of src/proto).
 */

const require = createRequire(import.meta.url);
const DEPS = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');

const AdsService = loadAdsService(['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(DEPS, d)));

/** istiod's initial MCP requests (1.23 type URLs): MeshConfig first, then every Istio type. */
export const ISTIOD_TYPE_URLS_V1ALPHA3 = [
  'core/v1alpha1/MeshConfig',
  'networking.istio.io/v1alpha3/ServiceEntry',
  'networking.istio.io/v1alpha3/WorkloadEntry',
  'networking.istio.io/v1alpha3/WorkloadGroup',
  'networking.istio.io/v1alpha3/DestinationRule',
  'networking.istio.io/v1alpha3/Gateway',
  'networking.istio.io/v1alpha3/Sidecar',
  'networking.istio.io/v1alpha3/VirtualService',
  'networking.istio.io/v1alpha3/EnvoyFilter',
  'networking.istio.io/v1beta1/ProxyConfig',
  'security.istio.io/v1beta1/AuthorizationPolicy',
  'security.istio.io/v1beta1/PeerAuthentication',
  'security.istio.io/v1beta1/RequestAuthentication',
  'telemetry.istio.io/v1alpha1/Telemetry',
  'extensions.istio.io/v1alpha1/WasmPlugin',
  'gateway.networking.k8s.io/v1/HTTPRoute',
] as const;

/** The same from Istio 1.24 (v1 where it exists). */
export const ISTIOD_TYPE_URLS_V1 = ISTIOD_TYPE_URLS_V1ALPHA3.map((u) =>
  u.replace(/^(networking|security)\.istio\.io\/v1(alpha3|beta1)\//, '$1.istio.io/v1/'),
);

export interface Response {
  readonly version_info: string;
  readonly type_url: string;
  readonly nonce: string;
  readonly resources: readonly DecodedResource[];
}

export interface AdsClientOptions {
  readonly port: number;
  readonly nodeId?: string;
  /** ACK every response like istiod (default true). */
  readonly autoAck?: boolean;
  /** Default plaintext, as istiod dials `xds://` without tlsSettings. */
  readonly credentials?: grpc.ChannelCredentials;
  /** Default 127.0.0.1; a TLS test dials the name in the certificate. */
  readonly host?: string;
}

export class AdsClient {
  readonly nodeId: string;
  /** Every response received, in order. */
  readonly received: Response[] = [];
  /** Applied state per type URL: name -> resource (full state semantics, like adsc). */
  readonly store = new Map<string, Map<string, DecodedResource>>();
  /** Resources istiod would have updated (new or version changed), per type URL. */
  readonly updates = new Map<string, number>();
  readonly ended: Promise<StreamEnd>;
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<unknown, RawResponse>;
  private readonly autoAck: boolean;
  private waiters: { pred: (r: Response) => boolean; from: number; resolve: (r: Response) => void }[] = [];
  private sentNode = false;

  constructor(options: AdsClientOptions) {
    this.nodeId = options.nodeId ?? `istiod-test-${Math.random().toString(36).slice(2, 8)}`;
    this.autoAck = options.autoAck ?? true;
    this.client = new AdsService(`${options.host ?? '127.0.0.1'}:${options.port}`, options.credentials ?? grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 512 * 1024 * 1024,
    });
    const c = this.client as unknown as { StreamAggregatedResources: () => grpc.ClientDuplexStream<unknown, RawResponse> };
    this.call = c.StreamAggregatedResources();
    this.ended = new Promise((resolve) => {
      this.call.on('status', (s: grpc.StatusObject) => resolve({ code: s.code, details: s.details }));
      this.call.on('error', () => undefined); // the status event carries it
    });
    this.call.on('data', (raw: RawResponse) => this.onResponse(raw));
  }

  /** istiod's start: one request per type, each with a junk (timestamp) nonce. */
  subscribe(typeUrls: readonly string[]): void {
    for (const t of typeUrls) this.send({ type_url: t, response_nonce: new Date().toString() });
  }

  send(req: { type_url: string; response_nonce?: string; version_info?: string; error_detail?: { code: number; message: string } }): void {
    const node = this.sentNode ? undefined : { id: this.nodeId, cluster: 'Kubernetes', user_agent_name: 'istiod-test', user_agent_version: '1.24' };
    this.sentNode = true;
    this.call.write({ ...req, ...(node !== undefined ? { node } : {}) });
  }

  /** The first response at or after index `from` matching pred. */
  next(pred: (r: Response) => boolean = () => true, from = 0, timeoutMs = 5000): Promise<Response> {
    const hit = this.received.slice(from).find(pred);
    if (hit !== undefined) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching response within ${timeoutMs} ms (have ${this.received.length})`)), timeoutMs);
      this.waiters.push({
        pred,
        from,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      });
    });
  }

  forType(typeUrl: string, from = 0, timeoutMs = 5000): Promise<Response> {
    return this.next((r) => r.type_url === typeUrl, from, timeoutMs);
  }

  /** Waits until every type URL got at least one response (istiod's readiness condition). */
  async allAnswered(typeUrls: readonly string[], timeoutMs = 5000): Promise<void> {
    await Promise.all(typeUrls.map((t) => this.forType(t, 0, timeoutMs)));
  }

  responsesFor(typeUrl: string): Response[] {
    return this.received.filter((r) => r.type_url === typeUrl);
  }

  /** Stops reading (HTTP/2 flow control then pushes back on the server). */
  pause(): void {
    this.call.pause();
  }

  resume(): void {
    this.call.resume();
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }

  private onResponse(raw: RawResponse): void {
    const r: Response = {
      version_info: raw.version_info,
      type_url: raw.type_url,
      nonce: raw.nonce,
      resources: raw.resources.map((a) => decodeMcpAny(a.type_url, a.value)),
    };
    this.apply(r);
    this.received.push(r);
    const index = this.received.length - 1;
    this.waiters = this.waiters.filter((w) => {
      if (index >= w.from && w.pred(r)) {
        w.resolve(r);
        return false;
      }
      return true;
    });
    if (this.autoAck) this.send({ type_url: r.type_url, response_nonce: r.nonce, version_info: r.version_info });
  }

  /** adsc handleMCP: full state; update only when metadata.version changed; delete the rest. */
  private apply(r: Response): void {
    const prev = this.store.get(r.type_url) ?? new Map<string, DecodedResource>();
    const next = new Map<string, DecodedResource>();
    let updates = this.updates.get(r.type_url) ?? 0;
    for (const res of r.resources) {
      if (res.name.split('/').length !== 2) throw new Error(`invalid name ${res.name}`);
      const old = prev.get(res.name);
      if (old === undefined || old.version !== res.version) updates += 1;
      next.set(res.name, old !== undefined && old.version === res.version ? old : res);
    }
    this.updates.set(r.type_url, updates);
    this.store.set(r.type_url, next);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
