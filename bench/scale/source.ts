/**
 * What a real registry source of the scale bench is (sources.ts starts one): the interface the
 * bench drives, and what the ZooKeeper and etcd sources share: the generated data (addresses,
 * interface names, as bench/data.ts), the predicted ServiceEntry version, floor rows.
 */
import { convert, hostFor } from '../../src/convert/index.js';
import type { Service } from '../../src/model/index.js';
import { percentile } from '../harness.js';
import { conversionOptions, type BridgeSource, type Change } from './protocol.js';

export const SourceKind = { ZOOKEEPER: 'zookeeper', ETCD: 'etcd' } as const;
export type SourceKind = (typeof SourceKind)[keyof typeof SourceKind];

export interface IdleCount {
  /** Requests the bridge sent to the registry over the interval (keepalive pings excluded). */
  readonly requests: number;
  readonly detail: string;
}

export interface RealSource {
  readonly kind: SourceKind;
  readonly bridgeSource: BridgeSource;
  /** Writes every service (variant 0) in bulk; resolves with the time it took and the write requests. */
  populate(): Promise<{ readonly ms: number; readonly requests: number }>;
  /** Sends change `c` (endpoint 0 of service c.svc moves to c.variant); settles on the registry's ack. */
  write(c: Change): Promise<void>;
  /** The ServiceEntry (namespace/name) and version the bridge should publish after `c`. */
  expected(c: Pick<Change, 'svc' | 'variant'>): { readonly name: string; readonly version: string };
  /** Starts counting the requests other clients than this one send; the result counts until it is called. */
  countRequests(): Promise<() => Promise<IdleCount>>;
  readonly notes: string;
  stop(): Promise<void>;
}

export interface FloorSample {
  readonly name: string;
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly notes: string;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/** Address of endpoint k of service i at `variant` (as bench/data.ts: variant > 0 moves endpoint 0 to 11.x.y.z). */
export function address(i: number, k: number, variant: number): string {
  return k === 0 && variant > 0 ? `11.${(variant >> 16) & 255}.${(variant >> 8) & 255}.${variant & 255}` : `10.${(i >> 8) & 255}.${i & 255}.${k + 1}`;
}

export function interfaceName(i: number): string {
  return `com.example.shop${i % 100}.OrderService${i}`;
}

/** ServiceEntry name (namespace/name) and content version the pipeline gives `s` (one registry, one service per host). */
export function versionOf(s: Service): { name: string; version: string } {
  const o = conversionOptions();
  const r = convert({ host: hostFor(s, o), primary: s, ports: s.ports, endpoints: s.endpoints, origins: [s.registry] }, o).resources[0];
  if (r === undefined) throw new Error(`conversion of ${s.name} gave no resource`);
  return { name: `${r.namespace}/${r.name}`, version: r.version };
}

export function floorOf(name: string, samples: readonly number[], notes: string): FloorSample {
  const s = samples.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const lost = samples.length - s.length;
  return { name, n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), notes: notes + (lost > 0 ? `; ${lost} never fired within 5 s` : '') };
}
