import { readFile } from 'node:fs/promises';
import { backoffDelay, type BackoffOptions } from '../../util/backoff.js';
import type { AdapterCommon } from '../kind.js';
import { ReportOnce } from '../report-once.js';
import { readPemFiles } from '../shared/pem-files.js';
import type { ConsulSourceConfig } from './spec.js';
import { ErrorCode, MeshbridgeError, describeError } from '../../errors/index.js';
import { serviceKey } from '../../model/index.js';
import type { Logger } from '../../observability/index.js';
import { registerSecret } from '../../observability/redact.js';
import { ServiceSetRegistry } from '../service-set.js';
import { sleep, Slots } from './blocking.js';
import { serviceFromHealth, CONSUL_REGISTRY_KIND, parseCatalogServices, type BuildOptions } from './entries.js';
import { ConsulHttp, type ConsulHttpLike, type ConsulHttpOptions, type ConsulTlsMaterial } from './http.js';
import { whenAborted } from '../../util/abort.js';
import { runBlockingWatch } from './watch.js';

/** Knobs that are not configuration (tests tune them). */
export interface ConsulRegistryTuning {
  /** Retry backoff (default 500 ms doubling to 30 s, with jitter). */
  readonly backoff?: BackoffOptions;
  /** Timeout of non-blocking requests (default 10000). */
  readonly requestTimeoutMs?: number;
  /**
   * Internal, for the adapter's unit tests: builds the HTTP client from the options `start`
   * derives (address, TLS material, sockets, token). Default: a real ConsulHttp.
   */
  readonly connect?: (options: ConsulHttpOptions) => ConsulHttpLike;
}

/** The resolved `consul:` settings (spec.ts) plus the common adapter wiring. */
export type ConsulRegistryOptions = AdapterCommon & ConsulSourceConfig & ConsulRegistryTuning;

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000 };
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** One watched service of one datacenter. */
interface ServiceWatch {
  readonly abort: AbortController;
  /** It has answered once (applied or found empty). */
  synced: boolean;
  /** Key of the service held for it, once one was built. */
  key: string | undefined;
}

interface Datacenter {
  readonly dc: string;
  catalogSynced: boolean;
  readonly services: Map<string, ServiceWatch>;
}

/**
 * A Consul registry: one blocking query on /v1/catalog/services per datacenter for the set of
 * services, and one blocking query on /v1/health/service/<name> per service for its instances
 * (docs/configuration.md "consul", docs/mapping.md "consul"). No polling: while nothing changes,
 * each watch makes one request per `waitSeconds`.
 *
 * Contract:
 * - The constructor does no I/O. `start(signal)` reads the token and TLS files, starts the
 *   watches and resolves once the first full listing is done or the first attempt failed; the
 *   watches run until `signal` aborts, then every request, socket and timer is released.
 * - hasSynced(): every datacenter's catalog answered once and every listed service's health
 *   answered once.
 * - A service leaves only when the catalog of its datacenter no longer lists it. A service whose
 *   instances all fail its checks stays, its endpoints marked unhealthy (so conversion publishes
 *   it with no endpoints, unless includeUnhealthy). An empty health answer for a listed service
 *   (a deregistration racing the catalog, or an ACL filter) changes nothing.
 * - While Consul is unreachable nothing is deleted: services stay (stale), the outage is
 *   reported once (MB_REGISTRY_UNREACHABLE), and each watch backs off with jitter and resumes
 *   with its last index. An index that goes backwards (restart, snapshot restore) re-reads in
 *   full; the full answer replaces the state and only differences are emitted.
 * - Bad instances are skipped with coded problems (entries.ts) while the rest of the service
 *   and the other services sync; problems are reported when the service's answer changes.
 */
export class ConsulRegistry extends ServiceSetRegistry {
  private readonly options: ConsulRegistryOptions;
  private readonly backoff: BackoffOptions;
  private readonly requestTimeoutMs: number;
  private readonly log: Logger;
  private readonly slots: Slots;
  private readonly dcs = new Map<string, Datacenter>();
  private signal: AbortSignal | undefined;
  private token: string | undefined;
  /** Datacenters ('' before they are known) whose last request failed to reach Consul. */
  private readonly outages = new Set<string>();
  private readonly reported: ReportOnce;
  private firstAttempt: (() => void) | undefined;

  constructor(options: ConsulRegistryOptions) {
    super(options.name, CONSUL_REGISTRY_KIND);
    this.options = options;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.reported = new ReportOnce((e) => options.context.report(e));
    this.log = options.logger.child({ registry: options.name, kind: CONSUL_REGISTRY_KIND, address: options.address });
    this.slots = new Slots(options.maxConcurrentWatches);
    this.token = options.token;
  }

  async start(signal: AbortSignal): Promise<void> {
    if (!this.claimStart(signal)) return;
    this.signal = signal;
    await this.superviseUntilFirst(signal, (e) => this.options.context.report(e), (firstDone) => {
      this.firstAttempt = firstDone;
      return this.run(signal);
    });
  }

  private async run(signal: AbortSignal): Promise<void> {
    const tls = await this.retry(signal, () => this.readTls());
    if (tls === undefined) return;
    if (this.options.tokenFile !== undefined && (await this.retry(signal, () => this.readToken())) === undefined) return;
    const http = (this.options.connect ?? ((o: ConsulHttpOptions) => new ConsulHttp(o)))({
      address: this.options.address,
      ...(tls !== null ? { tls } : {}),
      maxSockets: this.slots.size + 1,
      token: () => this.token,
    });
    signal.addEventListener('abort', () => http.close(), { once: true });
    const dcs = await this.retry(signal, () => this.datacenters(http, signal));
    if (dcs === undefined) return;
    this.log.info({ datacenters: dcs, healthFilter: this.options.healthFilter }, 'watching consul');
    for (const dc of dcs) {
      const state: Datacenter = { dc, catalogSynced: false, services: new Map() };
      this.dcs.set(dc, state);
      void this.watchCatalog(http, state, signal).catch((e: unknown) => this.bug(e));
    }
  }

  /** Runs `fn` until it succeeds (reporting failures as outages) or `signal` aborts (undefined). */
  private async retry<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        const v = await fn();
        if (signal.aborted) return undefined;
        this.reachable('');
        return v;
      } catch (e) {
        if (signal.aborted) return undefined;
        this.failed('', e instanceof MeshbridgeError ? e : new MeshbridgeError(ErrorCode.REGISTRY_UNREACHABLE, describeError(e), { cause: e }), undefined);
        await sleep(backoffDelay(attempt, this.backoff), signal);
      }
    }
    return undefined;
  }

  private async readTls(): Promise<ConsulTlsMaterial | null> {
    const t = this.options.tls;
    if (t === undefined) return null;
    return {
      ...(await readPemFiles(t, 'consul tls')),
      ...(t.serverName !== undefined ? { serverName: t.serverName } : {}),
      ...(t.insecureSkipVerify !== undefined ? { insecureSkipVerify: t.insecureSkipVerify } : {}),
    };
  }

  private async readToken(): Promise<true> {
    const file = this.options.tokenFile;
    if (file === undefined) return true;
    try {
      this.token = (await readFile(file, 'utf8')).trim();
      registerSecret(this.token); // outputs redact it (observability/redact.ts)
      return true;
    } catch (e) {
      throw new MeshbridgeError(ErrorCode.SOURCE_READ, `cannot read the consul token file: ${describeError(e)}`, { path: file, cause: e });
    }
  }

  private async datacenters(http: ConsulHttpLike, signal: AbortSignal): Promise<string[]> {
    const configured = this.options.datacenters;
    if (configured.length > 0) return [...configured];
    const res = await http.get(http.url('v1/catalog/datacenters', {}), { signal, timeoutMs: this.requestTimeoutMs });
    if (res.status !== 200) throw new MeshbridgeError(ErrorCode.REGISTRY_UNREACHABLE, `GET /v1/catalog/datacenters: HTTP ${res.status}: ${res.body.trim().slice(0, 200)}`);
    const list = JSON.parse(res.body) as unknown;
    const local: unknown = Array.isArray(list) ? (list as unknown[])[0] : undefined;
    if (typeof local !== 'string' || local.length === 0) throw new MeshbridgeError(ErrorCode.SOURCE_PARSE, 'GET /v1/catalog/datacenters: no datacenter in the answer');
    return [local];
  }

  private query(dc: string): Record<string, string | undefined> {
    return { dc, ns: this.options.namespace, partition: this.options.partition };
  }

  private watchOptions(http: ConsulHttpLike, path: string, dc: string, signal: AbortSignal) {
    return {
      http,
      path,
      query: this.query(dc),
      waitSeconds: this.options.waitSeconds,
      shortWaitSeconds: this.options.oversubscribedWaitSeconds,
      slots: this.slots,
      signal,
      backoff: this.backoff,
      minIntervalMs: 50,
      requestTimeoutMs: this.requestTimeoutMs,
    };
  }

  private async watchCatalog(http: ConsulHttpLike, state: Datacenter, signal: AbortSignal): Promise<void> {
    await runBlockingWatch(this.watchOptions(http, 'v1/catalog/services', state.dc, signal), {
      onAnswer: (body) => this.applyCatalog(http, state, body, signal),
      onReachable: () => this.reachable(state.dc),
      onFailure: (e, status) => this.failed(state.dc, e, status),
    });
    for (const w of state.services.values()) w.abort.abort();
  }

  private applyCatalog(http: ConsulHttpLike, state: Datacenter, body: unknown, signal: AbortSignal): void {
    const catalog = parseCatalogServices(body, `consul ${state.dc}: /v1/catalog/services`);
    if (catalog.value === undefined) {
      for (const p of catalog.problems) this.reportOnce(p);
      return;
    }
    const skip = new Set(this.options.skipServices);
    const names = new Set(catalog.value.filter((n) => !skip.has(n)));
    for (const [name, w] of state.services) {
      if (names.has(name)) continue;
      w.abort.abort();
      state.services.delete(name);
      if (w.key !== undefined) this.remove(w.key);
      this.log.debug({ dc: state.dc, service: name }, 'service left the catalog');
    }
    for (const name of names) {
      if (state.services.has(name)) continue;
      if (!/^[^/?#]+$/.test(name)) {
        this.reportOnce(new MeshbridgeError(ErrorCode.ENTRY_INVALID, 'service name cannot be used in an API path; skipped', { path: `consul ${state.dc}: ${JSON.stringify(name)}`, details: { registry: this.name, datacenter: state.dc } }));
        continue;
      }
      const abort = new AbortController();
      // One listener on the shared signal for all watches (util/abort.ts): no MaxListeners warning.
      const unsubscribe = whenAborted(signal, () => abort.abort());
      const w: ServiceWatch = { abort, synced: false, key: undefined };
      state.services.set(name, w);
      void runBlockingWatch(this.watchOptions(http, `v1/health/service/${encodeURIComponent(name)}`, state.dc, abort.signal), {
        onAnswer: (b) => this.applyHealth(state, name, w, b),
        onReachable: () => this.reachable(state.dc),
        onFailure: (e, status) => this.failed(state.dc, e, status),
      })
        .catch((e: unknown) => this.bug(e))
        .finally(unsubscribe);
    }
    state.catalogSynced = true;
    this.checkSynced();
  }

  private applyHealth(state: Datacenter, name: string, w: ServiceWatch, body: unknown): void {
    if (w.abort.signal.aborted) return; // left the catalog meanwhile
    const built = serviceFromHealth(name, body, this.buildOptions(state.dc));
    if (built.value === undefined) {
      for (const p of built.problems) this.reportOnce(p);
      return;
    }
    for (const p of built.problems) this.options.context.report(p);
    if (Array.isArray(body) && body.length === 0) {
      // Listed but no instances: the catalog's next answer decides (never delete on an empty answer).
      w.synced = true;
      this.checkSynced();
      return;
    }
    const key = serviceKey(built.value);
    if (w.key !== undefined && w.key !== key) this.remove(w.key);
    w.key = key;
    this.upsert(built.value);
    w.synced = true;
    this.checkSynced();
  }

  private buildOptions(dc: string): BuildOptions {
    return {
      registry: this.name,
      datacenter: dc,
      healthFilter: this.options.healthFilter,
      defaultProtocol: this.options.defaultProtocol,
      tagsAsLabels: this.options.tagsAsLabels,
      tagPrefix: this.options.tagPrefix,
      nodeMetaPrefix: this.options.nodeMetaPrefix,
    };
  }

  private checkSynced(): void {
    if (this.hasSynced()) {
      this.markSyncedNow();
      return;
    }
    if (this.dcs.size === 0) return;
    for (const d of this.dcs.values()) {
      if (!d.catalogSynced) return;
      for (const w of d.services.values()) if (!w.synced) return;
    }
    this.markSyncedNow();
    const st = this.status();
    this.log.info({ services: st.services, endpoints: st.endpoints }, 'consul registry synced');
    this.firstAttempt?.();
    this.firstAttempt = undefined;
  }

  /** A request to `dc` succeeded: its outage is over; the registry is connected when none is left. */
  private reachable(dc: string): void {
    if (!this.outages.delete(dc)) return;
    this.log.info({ dc }, 'consul reachable again');
    if (this.outages.size > 0) return;
    this.reported.clearAll();
    this.clearError();
    if (this.hasSynced()) this.markSyncedNow();
  }

  private failed(dc: string, e: MeshbridgeError, status: number | undefined): void {
    if (this.signal?.aborted === true) return;
    if (status === 403 && this.options.tokenFile !== undefined) void this.readToken().catch(() => undefined);
    if (e.code === ErrorCode.REGISTRY_UNREACHABLE && (status === undefined || status >= 500 || status === 429)) {
      // Consul (or the path to this datacenter) is down or overloaded: one report per outage and
      // datacenter, not one per watch.
      if (!this.outages.has(dc)) {
        this.outages.add(dc);
        this.options.context.report(this.hasSynced() ? new MeshbridgeError(e.code, `${e.reason}; keeping the last known services`, { cause: e, ...(e.path !== undefined ? { path: e.path } : {}), details: { registry: this.name, datacenter: dc } }) : e);
      }
      this.markDisconnected(e);
    } else {
      // Refused (403), malformed answer, ...: this watch retries; the others are unaffected.
      this.reportOnce(e);
    }
    this.firstAttempt?.();
    this.firstAttempt = undefined;
  }

  private bug(e: unknown): void {
    this.options.context.report(new MeshbridgeError(ErrorCode.INTERNAL, `consul watch failed: ${describeError(e)}`, { cause: e }));
  }

  /** Reports a problem once until the next recovery (a retrying watch would repeat it). */
  private reportOnce(e: MeshbridgeError): void {
    this.reported.problem(`${e.code} ${e.message}`, e);
  }
}

/** Factory for the composition root: builds (no I/O) a Consul registry. */
export function createConsulRegistry(options: ConsulRegistryOptions): ConsulRegistry {
  return new ConsulRegistry(options);
}
