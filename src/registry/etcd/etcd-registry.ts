import { backoffDelay, type BackoffOptions } from '../../util/backoff.js';
import type { AdapterCommon } from '../kind.js';
import { readPemFiles } from '../shared/pem-files.js';
import type { EtcdSourceConfig } from './spec.js';
import { ErrorCode, MeshbridgeError, describeError } from '../../errors/index.js';
import { serviceKey, type Protocol, type Service } from '../../model/index.js';
import type { Logger } from '../../observability/index.js';
import { ServiceSetRegistry } from '../service-set.js';
import type { ListingProgress } from '../types.js';
import { CompactedError, EtcdClient, type EtcdClientLike, type EtcdClientOptions, type KeyValue, type ListResult, type WatchEvent } from './client.js';
import { parseInstance, type InstanceRecord } from './instance.js';
import { buildLayout, LayoutError, type KeyLayout } from './layout.js';
import { serviceFromInstances, ETCD_REGISTRY_KIND, serviceGroupKey, splitGroupKey } from './services.js';
import { sleep } from '../shared/sleep.js';

/** Knobs that are not configuration (tests tune them). */
export interface EtcdRegistryTuning {
  /** Keys per listing page (default 1000). */
  readonly pageSize?: number;
  /** Reconnect backoff (default 250 ms doubling to 10 s, with jitter). */
  readonly backoff?: BackoffOptions;
  /**
   * Internal, for the adapter's unit tests: builds a client from the options the adapter derives
   * (TLS files read afresh for each one). Default: a real EtcdClient.
   */
  readonly connect?: (options: EtcdClientOptions) => EtcdClientLike;
}

/** The resolved `etcd:` settings (spec.ts) plus the common adapter wiring. */
export type EtcdRegistryOptions = AdapterCommon & EtcdSourceConfig & EtcdRegistryTuning;

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 10_000 };
const DEFAULT_PAGE_SIZE = 1000;

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
  private readonly options: EtcdRegistryOptions;
  private readonly backoff: BackoffOptions;
  private readonly log: Logger;
  private readonly prefix: string;
  private readonly layout: KeyLayout;
  private readonly defaultProtocol: Protocol;
  private client: EtcdClientLike | undefined;
  /** Every key below the prefix, as last seen. */
  private readonly entries = new Map<string, Entry>();
  /** Service group key -> keys of its valid instances. */
  private readonly groups = new Map<string, Set<string>>();
  /** Service group key -> problem messages already reported for the built service. */
  private readonly reportedServiceProblems = new Map<string, Set<string>>();
  /** Every change up to this revision has been applied. 0: nothing listed yet. */
  private revision = 0;
  private listings = 0;
  /** Keys read so far by the listing in progress (status().progress before the first sync). */
  private keysListed = 0;

  constructor(options: EtcdRegistryOptions) {
    super(options.name, ETCD_REGISTRY_KIND);
    this.options = options;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.prefix = options.prefix.endsWith('/') ? options.prefix : `${options.prefix}/`;
    try {
      this.layout = buildLayout({ layout: options.layout, keyRegex: options.keyRegex });
    } catch (e) {
      if (!(e instanceof LayoutError)) throw e;
      throw new MeshbridgeError(ErrorCode.CONFIG_INVALID, e.message, { details: { registry: options.name } });
    }
    this.defaultProtocol = options.defaultProtocol;
    this.log = options.logger.child({ registry: options.name, kind: ETCD_REGISTRY_KIND, prefix: this.prefix });
  }

  /** The revision up to which every change has been applied (0 before the first listing). */
  appliedRevision(): number {
    return this.revision;
  }

  /** While the first listing runs: the keys its pages brought so far. */
  protected override listingProgress(): ListingProgress {
    return { listed: this.keysListed, unit: 'keys' };
  }

  /** How many full listings were made: 1 plus one per compaction that forced a re-list. */
  listingCount(): number {
    return this.listings;
  }

  async start(signal: AbortSignal): Promise<void> {
    if (!this.claimStart(signal)) return;
    await this.superviseUntilFirst(signal, (e) => this.options.context.report(e), (firstDone) => this.run(signal, firstDone));
  }

  private async run(signal: AbortSignal, firstDone: () => void): Promise<void> {
    let attempt = 0;
    let needList = true;
    try {
      while (!signal.aborted) {
        try {
          const client = (this.client ??= await this.buildClient());
          if (needList) {
            const listing = await client.list(this.prefix, this.options.pageSize ?? DEFAULT_PAGE_SIZE, (keys) => (this.keysListed = keys));
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
          await sleep(backoffDelay(attempt++, this.backoff), signal);
        }
      }
    } finally {
      this.client?.close();
      this.client = undefined;
      firstDone();
    }
  }

  private async buildClient(): Promise<EtcdClientLike> {
    const tls = this.options.tls;
    const files = tls !== undefined ? await readPemFiles(tls, 'etcd tls') : undefined;
    const pem = files?.ca !== undefined ? { ...files, ca: files.ca } : undefined; // caFile is required with tls
    return (this.options.connect ?? ((o: EtcdClientOptions) => new EtcdClient(o)))({
      endpoints: this.options.endpoints,
      ...(pem !== undefined ? { tls: pem } : {}),
      ...(this.options.auth !== undefined ? { auth: this.options.auth } : {}),
      requestTimeoutMs: this.options.requestTimeoutMs,
      keepaliveMs: this.options.keepaliveMs,
      reconnectMaxMs: this.backoff.maxMs,
    });
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
      this.options.context.report(
        new MeshbridgeError(ErrorCode.ENTRY_INVALID, `key does not match the layout ${this.prefix}${this.layout.source}; ignored`, {
          path: kv.key,
          details: { registry: this.name, key: kv.key },
        }),
      );
      return undefined;
    }
    const r = parseInstance({ registry: this.name, key: kv.key, modRevision: kv.modRevision, match, value: kv.value });
    for (const p of r.problems) this.options.context.report(p);
    return r.value;
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
    const result = serviceFromInstances(records, { registry: this.name, defaultProtocol: this.defaultProtocol });
    const before = this.reportedServiceProblems.get(group) ?? new Set<string>();
    const now = new Set<string>();
    for (const p of result.problems) {
      now.add(p.message);
      if (!before.has(p.message)) this.options.context.report(p);
    }
    this.reportedServiceProblems.set(group, now);
    return result.value;
  }

  private recovered(): void {
    if (this.sourceRecovered()) this.log.info({ revision: this.revision }, 'etcd reachable again');
    if (this.hasSynced()) this.markSyncedNow();
  }

  /** Keeps every service; reports a failure once until it changes or the adapter recovers. */
  private failed(e: unknown): void {
    const error =
      e instanceof MeshbridgeError
        ? e
        : new MeshbridgeError(ErrorCode.REGISTRY_UNREACHABLE, `etcd ${this.options.endpoints.join(',')}: ${describeError(e)}`, {
            cause: e,
            details: { registry: this.name },
          });
    this.sourceFailed(error, (x) => this.options.context.report(x));
  }
}


/** Factory for the composition root: builds (no I/O) an etcd registry. */
export function createEtcdRegistry(options: EtcdRegistryOptions): EtcdRegistry {
  return new EtcdRegistry(options);
}
