import { readFile } from 'node:fs/promises';
import { ErrorCode, MeshbridgeError, describeError } from '../../errors/index.js';
import { Protocol, serviceKey, type Service } from '../../model/index.js';
import type { Logger } from '../../observability/index.js';
import { ServiceSetRegistry } from '../service-set.js';
import type { RegistryContext } from '../types.js';
import { CompactedError, EtcdClient, type KeyValue, type ListResult, type WatchEvent } from './client.js';
import { parseInstance, type InstanceRecord } from './instance.js';
import { buildLayout, LayoutError, type KeyLayout } from './layout.js';
import { buildService, ETCD_REGISTRY_KIND, serviceGroupKey, splitGroupKey } from './services.js';
import { sleep } from '../shared/sleep.js';

export interface EtcdRegistryOptions {
  /** Configured registry name: Service.registry and Endpoint.origin. */
  readonly name: string;
  readonly context: RegistryContext;
  readonly logger: Logger;
  /** `host:port`, `http://host:port` or `https://host:port` (all of one scheme). */
  readonly endpoints: readonly string[];
  /** Key prefix watched; a trailing `/` is added when missing. */
  readonly prefix: string;
  /** Template below the prefix (default `{service}/{instance}`); see layout.ts. */
  readonly layout?: string;
  /** Regular expression with named groups instead of `layout`. */
  readonly keyRegex?: string;
  /** PEM files, read at start (not in the constructor). */
  readonly tls?: { readonly caFile: string; readonly certFile?: string; readonly keyFile?: string };
  readonly auth?: { readonly username: string; readonly password: string };
  /** Deadline of connecting, each listing page and the watch's creation (default 5000). */
  readonly dialTimeoutMs?: number;
  /** HTTP/2 keepalive interval (default 30000). */
  readonly keepaliveMs?: number;
  /** Keys per listing page (default 1000). */
  readonly pageSize?: number;
  /** Reconnect backoff: first delay and cap, each with jitter (defaults 250 and 10000). */
  readonly reconnectInitialMs?: number;
  readonly reconnectMaxMs?: number;
  /** Protocol of ports no instance states and whose name implies none (default TCP). */
  readonly defaultProtocol?: Protocol;
}

/** What is held per etcd key: the parsed instance, or nothing when the value was skipped. */
interface Entry {
  readonly modRevision: number;
  readonly record: InstanceRecord | undefined;
}

/**
 * A registry whose instances are JSON values under one etcd key prefix, one key per instance
 * (docs/configuration.md "etcd", docs/mapping.md "etcd").
 *
 * Contract:
 * - The constructor does no I/O. `start(signal)` lists the prefix once (or fails trying) and
 *   resolves; the adapter then watches until `signal` aborts and closes its connections.
 * - Listing is linearizable at one revision R; the watch starts at R+1. The adapter remembers the
 *   last revision it has fully seen (the last event's mod_revision, or a progress notification)
 *   and, after any failure, re-opens the watch from that revision + 1: no change is missed and
 *   nothing is re-listed. When that revision is compacted, it lists again at the current
 *   revision (the full listing replaces the state; only differences are emitted) and watches on.
 * - While etcd is unreachable nothing is deleted: services are kept (stale), the failure is
 *   reported once (MB_REGISTRY_UNREACHABLE), and reconnects back off exponentially with jitter.
 * - Every key is parsed once per mod_revision: a bad value or a key outside the layout is
 *   reported once (MB_ENTRY_*) and skipped, while its neighbours sync. A deleted key removes its
 *   instance; a service without instances is removed.
 * - While idle the adapter sends nothing: no polling (HTTP/2 keepalive pings only).
 */
export class EtcdRegistry extends ServiceSetRegistry {
  private readonly o: EtcdRegistryOptions;
  private readonly log: Logger;
  private readonly prefix: string;
  private readonly layout: KeyLayout;
  private readonly defaultProtocol: Protocol;
  private signal: AbortSignal | undefined;
  private client: EtcdClient | undefined;
  /** Every key below the prefix, as last seen. */
  private readonly entries = new Map<string, Entry>();
  /** Service group key -> keys of its valid instances. */
  private readonly groups = new Map<string, Set<string>>();
  /** Service group key -> problem messages already reported for the built service. */
  private readonly reportedServiceProblems = new Map<string, Set<string>>();
  /** Every change up to this revision has been applied. 0: nothing listed yet. */
  private revision = 0;
  private lastFailure: string | undefined;
  private listings = 0;

  constructor(options: EtcdRegistryOptions) {
    super(options.name, ETCD_REGISTRY_KIND);
    this.o = options;
    this.prefix = options.prefix.endsWith('/') ? options.prefix : `${options.prefix}/`;
    try {
      this.layout = buildLayout({ layout: options.layout, keyRegex: options.keyRegex });
    } catch (e) {
      if (!(e instanceof LayoutError)) throw e;
      throw new MeshbridgeError(ErrorCode.CONFIG_INVALID, e.message, { details: { registry: options.name } });
    }
    this.defaultProtocol = options.defaultProtocol ?? Protocol.TCP;
    this.log = options.logger.child({ registry: options.name, kind: ETCD_REGISTRY_KIND, prefix: this.prefix });
  }

  /** The revision up to which every change has been applied (0 before the first listing). */
  appliedRevision(): number {
    return this.revision;
  }

  /** How many full listings were made: 1 plus one per compaction that forced a re-list. */
  listingCount(): number {
    return this.listings;
  }

  async start(signal: AbortSignal): Promise<void> {
    if (this.signal !== undefined) throw new MeshbridgeError(ErrorCode.INTERNAL, `registry ${this.name} started twice`);
    this.signal = signal;
    if (signal.aborted) return;
    let firstDone: () => void = () => undefined;
    const first = new Promise<void>((resolve) => (firstDone = resolve));
    void this.run(signal, firstDone).catch((e: unknown) => {
      this.o.context.report(new MeshbridgeError(ErrorCode.INTERNAL, `etcd registry stopped: ${describeError(e)}`, { cause: e }));
      firstDone();
    });
    await first;
  }

  private async run(signal: AbortSignal, firstDone: () => void): Promise<void> {
    let attempt = 0;
    let needList = true;
    try {
      while (!signal.aborted) {
        try {
          const client = (this.client ??= await this.buildClient());
          if (needList) {
            const listing = await client.list(this.prefix, this.o.pageSize ?? 1000);
            if (signal.aborted) break;
            this.applyListing(listing);
            needList = false;
            this.recovered();
            firstDone();
          } else {
            await client.probe(this.prefix);
          }
          if (signal.aborted) break;
          await client.watch(
            this.prefix,
            this.revision + 1,
            {
              onCreated: () => {
                attempt = 0;
                this.recovered();
                this.log.debug({ from: this.revision + 1 }, 'watching');
              },
              onEvents: (events) => this.applyEvents(events),
              onProgress: (revision) => {
                this.revision = Math.max(this.revision, revision);
              },
            },
            signal,
          );
        } catch (e) {
          if (signal.aborted) break;
          if (e instanceof CompactedError) {
            this.log.info({ from: this.revision + 1, compactRevision: e.compactRevision }, 'watch revision compacted; listing again');
            needList = true;
            continue;
          }
          this.failed(e);
          firstDone();
          // A fresh client per reconnect: TLS files are read again (rotated certificates), the
          // auth token is renewed, and no gRPC channel is left in its own reconnect backoff.
          this.client?.close();
          this.client = undefined;
          await sleep(this.backoff(attempt++), signal);
        }
      }
    } finally {
      this.client?.close();
      this.client = undefined;
      firstDone();
    }
  }

  private async buildClient(): Promise<EtcdClient> {
    const tls = this.o.tls;
    let pem: { ca: Buffer; cert?: Buffer; key?: Buffer } | undefined;
    if (tls !== undefined) {
      const read = async (file: string, what: string): Promise<Buffer> => {
        try {
          return await readFile(file);
        } catch (e) {
          throw new MeshbridgeError(ErrorCode.SOURCE_READ, `cannot read ${what}: ${describeError(e)}`, { path: file, cause: e });
        }
      };
      pem = {
        ca: await read(tls.caFile, 'tls.caFile'),
        ...(tls.certFile !== undefined ? { cert: await read(tls.certFile, 'tls.certFile') } : {}),
        ...(tls.keyFile !== undefined ? { key: await read(tls.keyFile, 'tls.keyFile') } : {}),
      };
    }
    return new EtcdClient({
      endpoints: this.o.endpoints,
      ...(pem !== undefined ? { tls: pem } : {}),
      ...(this.o.auth !== undefined ? { auth: this.o.auth } : {}),
      requestTimeoutMs: this.o.dialTimeoutMs ?? 5000,
      keepaliveMs: this.o.keepaliveMs ?? 30_000,
      reconnectMaxMs: this.o.reconnectMaxMs ?? 10_000,
    });
  }

  private backoff(attempt: number): number {
    const initial = this.o.reconnectInitialMs ?? 250;
    const max = this.o.reconnectMaxMs ?? 10_000;
    const d = Math.min(max, initial * 2 ** Math.min(attempt, 20));
    return d / 2 + Math.random() * (d / 2);
  }

  /** A full listing: every key re-evaluated (unchanged ones from cache), state replaced. */
  private applyListing(listing: ListResult): void {
    const seen = new Set<string>();
    for (const kv of listing.kvs) {
      seen.add(kv.key);
      this.put(kv, undefined);
    }
    for (const key of [...this.entries.keys()]) if (!seen.has(key)) this.drop(key, undefined);
    this.revision = listing.revision;
    this.listings++;
    const services: Service[] = [];
    for (const group of [...this.groups.keys()]) {
      const s = this.build(group);
      if (s !== undefined) services.push(s);
    }
    this.replaceAll(services);
    const st = this.status();
    this.log.info({ revision: this.revision, keys: listing.kvs.length, services: st.services, endpoints: st.endpoints }, 'etcd prefix listed');
  }

  /** One watch response: events in revision order; affected services rebuilt once each. */
  private applyEvents(events: readonly WatchEvent[]): void {
    const touched = new Set<string>();
    for (const ev of events) {
      if (ev.type === 'put') this.put(ev.kv, touched);
      else this.drop(ev.key, touched);
      this.revision = Math.max(this.revision, ev.type === 'put' ? ev.kv.modRevision : ev.modRevision);
    }
    for (const group of touched) {
      const s = this.build(group);
      if (s !== undefined) this.upsert(s);
      else {
        const [namespace, name] = splitGroupKey(group);
        this.remove(serviceKey({ registry: this.name, name, ...(namespace !== '' ? { namespace } : {}) }));
      }
    }
    this.markSyncedNow();
  }

  private put(kv: KeyValue, touched: Set<string> | undefined): void {
    const old = this.entries.get(kv.key);
    if (old !== undefined && old.modRevision === kv.modRevision) return; // already applied
    const record = this.parse(kv);
    this.entries.set(kv.key, { modRevision: kv.modRevision, record });
    const oldGroup = old?.record !== undefined ? serviceGroupKey(old.record) : undefined;
    const newGroup = record !== undefined ? serviceGroupKey(record) : undefined;
    if (oldGroup !== undefined && oldGroup !== newGroup) {
      this.groups.get(oldGroup)?.delete(kv.key);
      touched?.add(oldGroup);
    }
    if (newGroup !== undefined) {
      let keys = this.groups.get(newGroup);
      if (keys === undefined) this.groups.set(newGroup, (keys = new Set()));
      keys.add(kv.key);
      touched?.add(newGroup);
    }
  }

  private drop(key: string, touched: Set<string> | undefined): void {
    const old = this.entries.get(key);
    if (old === undefined) return;
    this.entries.delete(key);
    if (old.record === undefined) return;
    const group = serviceGroupKey(old.record);
    this.groups.get(group)?.delete(key);
    touched?.add(group);
  }

  private parse(kv: KeyValue): InstanceRecord | undefined {
    const match = kv.key.startsWith(this.prefix) ? this.layout.match(kv.key.slice(this.prefix.length)) : undefined;
    if (match === undefined) {
      this.o.context.report(
        new MeshbridgeError(ErrorCode.ENTRY_INVALID, `key does not match the layout ${this.prefix}${this.layout.source}; ignored`, {
          path: kv.key,
          details: { registry: this.name, key: kv.key },
        }),
      );
      return undefined;
    }
    const r = parseInstance({ registry: this.name, key: kv.key, modRevision: kv.modRevision, match, value: kv.value });
    for (const p of r.problems) this.o.context.report(p);
    return r.record;
  }

  /** Builds one service from its group; reports each service-level problem once. */
  private build(group: string): Service | undefined {
    const keys = this.groups.get(group);
    const records: InstanceRecord[] = [];
    for (const k of keys ?? []) {
      const r = this.entries.get(k)?.record;
      if (r !== undefined) records.push(r);
    }
    if (records.length === 0) {
      this.groups.delete(group);
      this.reportedServiceProblems.delete(group);
      return undefined;
    }
    const result = buildService(records, { registry: this.name, defaultProtocol: this.defaultProtocol });
    const before = this.reportedServiceProblems.get(group) ?? new Set<string>();
    const now = new Set<string>();
    for (const p of result.problems) {
      now.add(p.message);
      if (!before.has(p.message)) this.o.context.report(p);
    }
    this.reportedServiceProblems.set(group, now);
    return result.service;
  }

  private recovered(): void {
    if (this.lastFailure !== undefined) this.log.info({ revision: this.revision }, 'etcd reachable again');
    this.lastFailure = undefined;
    this.clearError();
    if (this.hasSynced()) this.markSyncedNow();
  }

  /** Keeps every service; reports a failure once until it changes or the adapter recovers. */
  private failed(e: unknown): void {
    const error =
      e instanceof MeshbridgeError
        ? e
        : new MeshbridgeError(ErrorCode.REGISTRY_UNREACHABLE, `etcd ${this.o.endpoints.join(',')}: ${describeError(e)}`, {
            cause: e,
            details: { registry: this.name },
          });
    const key = `${error.code} ${error.message}`;
    if (key !== this.lastFailure) {
      this.lastFailure = key;
      this.o.context.report(error);
      this.log.warn({ code: error.code, synced: this.hasSynced(), revision: this.revision }, `${error.message}; keeping the last known state`);
    }
    this.markDisconnected(error);
  }
}


/** Factory for the composition root: builds (no I/O) an etcd registry. */
export function createEtcdRegistry(options: EtcdRegistryOptions): EtcdRegistry {
  return new EtcdRegistry(options);
}
