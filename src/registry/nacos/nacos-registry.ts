import { ErrorCode, MeshbridgeError, describeError } from '../../errors/index.js';
import { serviceKey } from '../../model/index.js';
import type { Logger } from '../../observability/index.js';
import { ServiceSetRegistry } from '../service-set.js';
import type { AdapterCommon } from '../kind.js';
import type { NacosSourceConfig } from './spec.js';
import { Backoff, type BackoffOptions } from '../../util/backoff.js';
import { NacosAuth } from './auth.js';
import { ConnectResetError, NacosConnection, NacosRequestError, type ConnectionOptions, type NacosConnectionLike } from './connection.js';
import { NACOS_REGISTRY_KIND, lastRefTime, mapServiceInfo, refKey, type MapOptions, type ServiceRef } from './map.js';
import { fuzzyChanges, listServiceNames, nacosRef, notifyTarget, startFuzzyWatch } from './naming.js';
import type { NacosMessage } from './wire.js';
import { sleep } from '../shared/sleep.js';
import { runPool } from '../../util/pool.js';

/** Knobs that are not configuration (tests tune them). */
export interface NacosRegistryTuning {
  /** Idle time after which a HealthCheckRequest is sent (default 5000 ms). */
  readonly idleHealthCheckMs?: number;
  /** Reconnect backoff (default 500 ms doubling to 30 s, with jitter). */
  readonly backoff?: BackoffOptions;
  /** ServiceListRequest page size (default 10000: one big page). */
  readonly pageSize?: number;
  /**
   * Internal, for the adapter's unit tests: builds each session's connection from the options
   * the adapter derives (target, abilities, push and close handlers). Default: a real NacosConnection.
   */
  readonly connect?: (options: ConnectionOptions) => NacosConnectionLike;
}

/** The resolved `nacos:` settings (spec.ts) plus the common adapter wiring. */
export type NacosRegistryOptions = AdapterCommon & NacosSourceConfig & NacosRegistryTuning;

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000 };
const DEFAULT_IDLE_HEALTH_CHECK_MS = 5000;
const DEFAULT_PAGE_SIZE = 10_000;

interface Held {
  readonly ref: ServiceRef;
  refTime: number;
  problems: string;
  /** This service's name is already published from another group of the namespace. */
  duplicate: boolean;
}

const SUBSCRIBE_CONCURRENCY = 8;
const CLIENT_VERSION = 'Nacos-Meshbridge:v0.1.0';

/**
 * A Nacos 2.x/3.x naming registry, spoken over Nacos's gRPC protocol (docs/configuration.md).
 *
 * Contract:
 * - The constructor does no I/O. `start(signal)` connects and resolves after the first session
 *   finished its full sync or failed; it keeps running (reconnecting with jittered backoff) until
 *   `signal` aborts, then closes the channel and every timer.
 * - A session: ServerCheck + ConnectionSetup on one channel, then ServiceListRequest per
 *   namespace x group and SubscribeServiceRequest per service (whose answers and later
 *   NotifySubscriberRequest pushes carry the full instance list; a push older by lastRefTime
 *   than what is held is ignored). The service set is kept current by fuzzy watch (3.x) plus a
 *   periodic re-list, or by the re-list alone (2.x). Every reconnect re-lists and re-subscribes
 *   everything and converges; services gone from a complete listing are removed.
 * - Losing the server deletes nothing: the services are kept and marked stale
 *   (MB_REGISTRY_UNREACHABLE, reported once per distinct failure).
 * - Malformed instances are skipped with coded problems (reported once per distinct content);
 *   a service name present in two watched groups of one namespace is published once, from the
 *   group listed first (MB_ENTRY_DUPLICATE_SERVICE for the other).
 */
export class NacosRegistry extends ServiceSetRegistry {
  private readonly options: NacosRegistryOptions;
  private readonly log: Logger;
  private readonly auth: NacosAuth | undefined;
  private readonly mapOptions: MapOptions;
  private readonly held = new Map<string, Held>();
  /** Model service key -> refKey of the Nacos service that owns it. */
  private readonly owners = new Map<string, string>();
  private readonly counts = new Map<string, number>();
  private signal: AbortSignal | undefined;
  private conn: NacosConnectionLike | undefined;
  private serverIndex = 0;
  private redirect: string | undefined;
  private relistSoon: NodeJS.Timeout | undefined;
  private relisting: Promise<void> | undefined;

  constructor(options: NacosRegistryOptions) {
    super(options.name, NACOS_REGISTRY_KIND);
    this.options = options;
    this.log = options.logger.child({ registry: options.name, kind: NACOS_REGISTRY_KIND });
    this.mapOptions = {
      registry: options.name,
      source: `nacos://${options.servers[0] ?? ''}`,
      clusterAsSubzone: options.clusterAsSubzone,
      defaultProtocol: options.defaultProtocol,
    };
    this.auth =
      options.auth !== undefined
        ? new NacosAuth({ httpAddress: () => this.httpAddress(), credentials: options.auth, timeoutMs: options.requestTimeoutMs })
        : undefined;
  }

  /** Requests sent so far, by Nacos request type (diagnostics and the idle tests). */
  requestCounts(): Readonly<Record<string, number>> {
    return Object.fromEntries(this.counts);
  }

  async start(signal: AbortSignal): Promise<void> {
    if (!this.claimStart(signal)) return;
    this.signal = signal;
    await this.superviseUntilFirst(signal, (e) => this.options.context.report(e), (firstDone) => this.run(signal, firstDone));
  }

  private async run(signal: AbortSignal, firstDone: () => void): Promise<void> {
    const backoff = new Backoff(this.options.backoff ?? DEFAULT_BACKOFF);
    while (!signal.aborted) {
      let redirected = false;
      try {
        const reason = await this.session(signal, () => {
          backoff.reset();
          firstDone();
        });
        if (signal.aborted) break;
        if (reason instanceof ConnectResetError) {
          this.redirect = reason.server;
          this.log.info({ server: reason.server }, 'server asked for a reconnect');
          redirected = true;
        } else {
          this.failed(reason);
        }
      } catch (e) {
        if (signal.aborted) break;
        this.failed(e);
      }
      firstDone();
      // A server asking for a reconnect names where to go: at once, and the backoff starts over.
      if (redirected) backoff.reset();
      else await sleep(backoff.next(), signal);
    }
    firstDone();
  }

  private failed(e: unknown): void {
    const err = new MeshbridgeError(ErrorCode.REGISTRY_UNREACHABLE, `Nacos ${this.httpAddress()}: ${describeError(e)}`, {
      cause: e,
      details: { registry: this.name },
    });
    this.sourceFailed(err, (x) => this.options.context.report(x));
    // The next attempt goes to the next configured server (a reset's redirect is used once).
    this.redirect = undefined;
    this.serverIndex += 1;
  }

  private httpAddress(): string {
    if (this.redirect !== undefined) return this.redirect;
    return this.options.servers[this.serverIndex % this.options.servers.length] ?? '';
  }

  private grpcTarget(): string {
    const http = this.httpAddress();
    const i = http.lastIndexOf(':');
    const host = http.slice(0, i);
    const port = Number(http.slice(i + 1));
    return `${host}:${this.options.grpcPort ?? port + 1000}`;
  }

  /** One connection's life; resolves with why it ended (or throws while setting up). */
  private async session(signal: AbortSignal, onSynced: () => void): Promise<Error> {
    await this.auth?.ensure(signal);
    let closedWith: (e: Error) => void = () => undefined;
    const closed = new Promise<Error>((resolve) => (closedWith = resolve));
    const conn = (this.options.connect ?? ((o: ConnectionOptions) => new NacosConnection(o)))({
      target: this.grpcTarget(),
      clientVersion: CLIENT_VERSION,
      labels: { source: 'sdk', module: 'naming', AppName: 'meshbridge' },
      abilities: { fuzzyWatch: this.options.fuzzyWatch },
      requestTimeoutMs: this.options.requestTimeoutMs,
      idleHealthCheckMs: this.options.idleHealthCheckMs ?? DEFAULT_IDLE_HEALTH_CHECK_MS,
      headers: () => this.auth?.headers() ?? {},
      onPush: (m) => this.onPush(m),
      onClosed: (e) => closedWith(e),
      onRequestSent: (t) => this.counts.set(t, (this.counts.get(t) ?? 0) + 1),
    });
    const onAbort = () => closedWith(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    this.conn = conn;
    let timer: NodeJS.Timeout | undefined;
    try {
      await conn.open();
      await this.listAndSubscribe(conn, true);
      this.sourceRecovered();
      this.log.info({ server: this.httpAddress(), services: this.status().services, endpoints: this.status().endpoints }, 'nacos registry synced');
      onSynced();
      const fuzzy = this.options.fuzzyWatch && (await startFuzzyWatch((t, b) => this.request(conn, t, b), this.options.namespaces, this.options.groups, this.log));
      const interval = fuzzy ? this.options.fuzzyRelistIntervalMs : this.options.relistIntervalMs;
      const tick = () => {
        timer = setTimeout(() => {
          this.relist(conn).then(tick, (e: unknown) => closedWith(e instanceof Error ? e : new Error(String(e))));
        }, interval);
      };
      tick();
      return await closed;
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (timer !== undefined) clearTimeout(timer);
      if (this.relistSoon !== undefined) clearTimeout(this.relistSoon);
      this.relistSoon = undefined;
      conn.close();
      if (this.conn === conn) this.conn = undefined;
    }
  }

  /** A request with one re-login on errorCode 403 (expired or revoked token). */
  private async request(conn: NacosConnectionLike, type: string, body: object): Promise<Record<string, unknown>> {
    try {
      return await conn.request(type, body);
    } catch (e) {
      if (!(e instanceof NacosRequestError && e.errorCode === 403 && this.auth !== undefined && this.signal !== undefined)) throw e;
      this.auth.invalidate();
      await this.auth.ensure(this.signal);
      return await conn.request(type, body);
    }
  }

  /**
   * Lists every namespace x group; subscribes what is new (everything when `all`, as after a
   * reconnect the new connection has no subscriptions) and removes what is gone. Only a complete
   * listing removes anything: a failed request throws before any removal.
   */
  private async listAndSubscribe(conn: NacosConnectionLike, all: boolean): Promise<void> {
    const wanted = new Map<string, ServiceRef>();
    for (const namespace of this.options.namespaces) {
      for (const group of this.options.groups) {
        for (const name of await listServiceNames((t, b) => this.request(conn, t, b), namespace, group, this.options.pageSize ?? DEFAULT_PAGE_SIZE)) {
          const ref = { namespace, group, name };
          wanted.set(refKey(ref), ref);
        }
      }
    }
    const todo = [...wanted].filter(([k]) => all || !this.held.has(k)).map(([, r]) => r);
    await runPool(todo, SUBSCRIBE_CONCURRENCY, (ref) => this.subscribe(conn, ref));
    for (const key of [...this.held.keys()]) {
      if (!wanted.has(key)) {
        const h = this.held.get(key);
        this.drop(key);
        if (h !== undefined) void this.request(conn, 'SubscribeServiceRequest', { ...nacosRef(h.ref), clusters: '', subscribe: false }).catch(() => undefined);
      }
    }
    this.markSyncedNow();
  }

  private async subscribe(conn: NacosConnectionLike, ref: ServiceRef): Promise<void> {
    const res = await this.request(conn, 'SubscribeServiceRequest', { ...nacosRef(ref), clusters: '', subscribe: true });
    this.apply(ref, res['serviceInfo']);
  }

  private relist(conn: NacosConnectionLike): Promise<void> {
    this.relisting ??= (async () => {
      try {
        if (this.auth !== undefined && this.signal !== undefined) await this.auth.ensure(this.signal);
        await this.listAndSubscribe(conn, false);
      } finally {
        this.relisting = undefined;
      }
    })();
    return this.relisting;
  }

  /** Re-list shortly (fuzzy watch said a service went away: confirm before removing). */
  private scheduleRelist(): void {
    if (this.relistSoon !== undefined) return;
    this.relistSoon = setTimeout(() => {
      this.relistSoon = undefined;
      const conn = this.conn;
      if (conn !== undefined) this.relist(conn).catch((e: unknown) => this.log.warn({ err: describeError(e) }, 're-list failed'));
    }, 200);
  }

  private inScope(ref: ServiceRef): boolean {
    return this.options.namespaces.includes(ref.namespace) && this.options.groups.includes(ref.group);
  }

  private onPush(m: NacosMessage): void {
    if (m.type === 'NotifySubscriberRequest') {
      const { namespace: ns, group, name, info } = notifyTarget(m.body);
      if (ns !== undefined) {
        const ref = { namespace: ns, group, name };
        if (this.held.has(refKey(ref))) this.apply(ref, info);
        return;
      }
      // Nacos 3.x pushes carry no namespace (its SDK keeps one connection per namespace). Where
      // one watched namespace holds group@@name the push is that one's; where several do, each is
      // asked for its current list (SubscribeServiceRequest answers with it).
      const candidates = this.options.namespaces.map((n) => ({ namespace: n, group, name })).filter((r) => this.held.has(refKey(r)));
      if (candidates.length === 1 && candidates[0] !== undefined) this.apply(candidates[0], info);
      else if (candidates.length > 1 && this.conn !== undefined) {
        const conn = this.conn;
        for (const r of candidates) {
          this.subscribe(conn, r).catch((e: unknown) => this.log.warn({ service: refKey(r), err: describeError(e) }, 're-reading a pushed service failed; the re-list retries'));
        }
      }
      return;
    }
    for (const { ref, changed } of fuzzyChanges(m)) {
      if (!this.inScope(ref)) continue;
      const conn = this.conn;
      if (changed === 'ADD_SERVICE' && !this.held.has(refKey(ref)) && conn !== undefined) {
        this.subscribe(conn, ref).catch((e: unknown) => {
          this.log.warn({ service: refKey(ref), err: describeError(e) }, 'subscribe after fuzzy-watch add failed; the re-list retries');
        });
      } else if (changed === 'DELETE_SERVICE' && this.held.has(refKey(ref))) {
        this.scheduleRelist();
      }
    }
  }

  /** Applies one full instance list; ignores one older (lastRefTime) than what is held. */
  private apply(ref: ServiceRef, info: unknown): void {
    const key = refKey(ref);
    const t = lastRefTime(info);
    const h = this.held.get(key);
    if (h !== undefined && t < h.refTime) return;
    const { value: service, problems } = mapServiceInfo(ref, info, this.mapOptions);
    const entry: Held = h ?? { ref, refTime: t, problems: '', duplicate: false };
    entry.refTime = t;
    this.held.set(key, entry);
    const mk = serviceKey(service);
    const owner = this.owners.get(mk);
    const ownerEntry = owner !== undefined && owner !== key ? this.held.get(owner) : undefined;
    if (ownerEntry !== undefined) {
      // Subscriptions answer in any order: the group listed first in the config wins.
      const groupRank = (g: string) => this.options.groups.indexOf(g);
      if (groupRank(ref.group) >= groupRank(ownerEntry.ref.group)) {
        this.reportDuplicate(entry, ownerEntry.ref.group);
        return;
      }
      this.reportDuplicate(ownerEntry, ref.group);
    }
    entry.duplicate = false;
    this.owners.set(mk, key);
    const sig = problems.map((p) => `${p.code} ${p.path ?? ''} ${p.message}`).join('\n');
    if (sig !== entry.problems) {
      entry.problems = sig;
      for (const p of problems) this.options.context.report(p);
    }
    this.upsert(service);
  }

  private reportDuplicate(entry: Held, winnerGroup: string): void {
    if (entry.duplicate) return;
    entry.duplicate = true;
    const ref = entry.ref;
    this.options.context.report(
      new MeshbridgeError(
        ErrorCode.ENTRY_DUPLICATE_SERVICE,
        `service "${ref.name}" of namespace ${ref.namespace} is also in group ${winnerGroup}; ` +
          `group ${ref.group} is skipped (one registry publishes one service per name and namespace)`,
        { path: `${this.mapOptions.source}/${ref.namespace}/${ref.group}/${ref.name}`, details: { registry: this.name } },
      ),
    );
  }

  private drop(key: string): void {
    const h = this.held.get(key);
    if (h === undefined) return;
    this.held.delete(key);
    const mk = serviceKey({ registry: this.name, namespace: h.ref.namespace, name: h.ref.name });
    if (this.owners.get(mk) === key) {
      this.owners.delete(mk);
      this.remove(mk);
      // A same-named service of another group that was skipped as a duplicate can take over.
      for (const [k, other] of this.held) {
        if (other.duplicate && other.ref.namespace === h.ref.namespace && other.ref.name === h.ref.name) {
          other.refTime = -1;
          other.duplicate = false;
          const conn = this.conn;
          if (conn !== undefined) void this.subscribe(conn, other.ref).catch(() => this.held.delete(k));
          break;
        }
      }
    }
  }
}

/** Factory for the composition root: builds (no I/O) a Nacos registry. */
export function createNacosRegistry(options: NacosRegistryOptions): NacosRegistry {
  return new NacosRegistry(options);
}
