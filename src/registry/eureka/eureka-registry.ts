import { ErrorCode, MeshbridgeError, describeError } from '../../errors/index.js';
import { serviceKey, type Service } from '../../model/index.js';
import type { Logger } from '../../observability/index.js';
import { ServiceSetRegistry } from '../service-set.js';
import { EurekaHttpClient, type EurekaRequestCounts } from './client.js';
import { mapInstance, serviceNamesOf, type HostFrom } from './instance.js';
import { LocalApps, type StoredInstance } from './local-apps.js';
import { EUREKA_REGISTRY_KIND, serviceFromStored, groupInstances, type BuildOptions } from './services.js';
import { parseApplications, type WireInstance } from './wire.js';
import { Backoff } from '../../util/backoff.js';
import type { AdapterCommon } from '../kind.js';
import type { EurekaSourceConfig } from './spec.js';
import { sleep } from '../shared/sleep.js';

/** Knobs that are not configuration (tests tune them). */
export interface EurekaRegistryTuning {
  /**
   * How long a server that looks restarted has to refill (default 120000 ms, longer than
   * Eureka's 90 s lease: by then every live client has re-registered). Meanwhile an empty full
   * listing is refused, and known instances a full listing lacks are kept (see `refill`).
   */
  readonly emptyHoldMs?: number;
}

/** The resolved `eureka:` settings (spec.ts) plus the common adapter wiring. */
export type EurekaRegistryOptions = AdapterCommon & EurekaSourceConfig & EurekaRegistryTuning;

/** An empty full listing is refused this long while instances are known (a restarted server). */
const EMPTY_HOLD_MS = 120_000;

/** What the adapter did, for tests and /debug: requests by kind and hash mismatches. */
export interface EurekaStats {
  readonly requests: Readonly<EurekaRequestCounts>;
  /** Delta answers whose apps hash did not match the local copy (each led to a full fetch). */
  readonly reconciliations: number;
  readonly instances: number;
}

/**
 * A Eureka registry, followed the way Eureka's own Java client does (DiscoveryClient): one full
 * `GET apps/`, then `GET apps/delta` every `intervalMs`. Eureka has no push or long poll; the
 * delta is its documented client protocol. Each delta is applied to the local copy
 * (ADDED/MODIFIED put, DELETED removes), then the local reconcile hash is compared with the
 * answer's `apps__hashcode`; on a mismatch the full registry is fetched again.
 *
 * Contract:
 * - The constructor does no I/O. `start(signal)` makes the first fetch (resolving after it,
 *   successful or not) and keeps following until `signal` aborts; then no timer or request is
 *   left.
 * - The local copy holds every instance (all statuses, malformed ones too, so the hash agrees);
 *   the published services are derived from it. Only services whose apps changed are rebuilt,
 *   and ServiceSetRegistry emits only real changes: a delta that changes nothing (the server
 *   repeats recent changes for about 3 minutes) emits nothing.
 * - A failed fetch (all servers unreachable, non-200, not JSON) deletes nothing: services are
 *   kept and marked stale, the failure is reported once until it changes or a fetch succeeds,
 *   and fetching backs off (interval x 2^n, at most 10 x interval, with jitter).
 * - A server that looks restarted (an empty full listing while instances are known, or, right
 *   after failed fetches, a full listing lacking known instances) deletes nothing while it
 *   refills, for up to `emptyHoldMs`: see `refill`.
 * - Malformed instances are skipped with a coded problem (MB_ENTRY_BAD_ADDRESS, MB_ENTRY_BAD_PORT,
 *   MB_ENTRY_INVALID), reported once per distinct content; their neighbours still sync.
 */
export class EurekaRegistry extends ServiceSetRegistry {
  private readonly options: EurekaRegistryOptions;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private readonly client: EurekaHttpClient;
  private readonly local: LocalApps;
  private readonly build: BuildOptions;
  private readonly intervalMs: number;
  private readonly hostFrom: HostFrom;
  private readonly groupsOfApp = new Map<string, Set<string>>();
  private readonly appsOfGroup = new Map<string, Set<string>>();
  private needFull = true;
  private failures = 0;
  private reconciliations = 0;
  private warnedUnreconcilable = false;
  /** Since when the server has been refilling (see `refill`); undefined: it is not. */
  private refillSince: number | undefined;
  /** The refill's partial listings were reported (MB_PROTECT_HELD, once per refill). */
  private refillReported = false;

  constructor(options: EurekaRegistryOptions) {
    super(options.name, EUREKA_REGISTRY_KIND);
    this.options = options;
    this.intervalMs = options.intervalMs;
    this.backoff = new Backoff({ initialMs: 2 * options.intervalMs, maxMs: 10 * options.intervalMs });
    this.hostFrom = options.hostFrom;
    this.log = options.logger.child({ registry: options.name, kind: EUREKA_REGISTRY_KIND });
    this.client = new EurekaHttpClient({
      serviceUrls: options.serviceUrls,
      timeoutMs: options.timeoutMs,
      ...(options.auth !== undefined ? { auth: options.auth } : {}),
    });
    this.build = {
      registry: options.name,
      hostFrom: this.hostFrom,
      statuses: new Set(options.statuses.map((s) => s.toUpperCase())),
    };
    this.local = new LocalApps({
      map: (inst) => mapInstance(inst, `eureka ${options.name}`),
      onProblem: (inst) => {
        for (const p of inst.mapped.problems) this.options.context.report(p);
      },
    });
  }

  stats(): EurekaStats {
    return { requests: { ...this.client.counts }, reconciliations: this.reconciliations, instances: this.local.instanceCount() };
  }

  async start(signal: AbortSignal): Promise<void> {
    if (!this.claimStart(signal)) return;
    await this.pollOnce(signal);
    void this.loop(signal);
  }

  private async loop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(this.nextDelay(), signal);
      if (signal.aborted) return;
      await this.pollOnce(signal);
    }
  }

  /** interval after a success; after n failures interval x 2^n (at most 10 x), with jitter. */
  private nextDelay(): number {
    if (this.failures === 0) {
      this.backoff.reset();
      return this.intervalMs;
    }
    return this.backoff.next();
  }

  private async pollOnce(signal: AbortSignal): Promise<void> {
    try {
      if (this.needFull) await this.fetchFull(signal);
      else await this.fetchDelta(signal);
      this.failures = 0;
      this.sourceRecovered();
    } catch (e) {
      if (signal.aborted) return;
      this.failed(e);
    }
  }

  private async fetchFull(signal: AbortSignal): Promise<void> {
    const body = await this.client.get('apps/', signal);
    if (signal.aborted) return;
    const apps = parseApplications(body, `${this.client.currentUrl()}apps/`);
    const kept = this.refill(apps.instances);
    this.local.replace(kept.length === 0 ? apps.instances : [...apps.instances, ...kept.map((k) => k.wire)]);
    // While instances are kept the copy is not the server's: read it in full again next time.
    this.needFull = kept.length > 0;
    const mine = this.local.hashCode();
    if (kept.length === 0 && apps.hashCode !== undefined && apps.hashCode !== mine && !this.warnedUnreconcilable) {
      // Duplicate instance ids: every delta will mismatch and cause a full fetch, as in Eureka's client.
      this.warnedUnreconcilable = true;
      this.log.warn({ server: apps.hashCode, local: mine }, 'a full listing does not match its own apps hash (duplicate instance ids?)');
    }
    this.groupsOfApp.clear();
    this.appsOfGroup.clear();
    const services: Service[] = [];
    const all: StoredInstance[] = [];
    for (const app of this.local.appNames()) this.index(app, all);
    for (const [name, members] of groupInstances(all, this.hostFrom)) {
      const s = serviceFromStored(name, members, this.build);
      if (s !== undefined) services.push(s);
    }
    const before = this.hasSynced();
    this.replaceAll(services);
    const st = this.status();
    this.log.info(
      { server: this.client.currentUrl(), apps: this.groupsOfApp.size, instances: this.local.instanceCount(), services: st.services, endpoints: st.endpoints, hash: mine },
      before ? 'eureka full registry re-read' : 'eureka registry synced',
    );
  }

  private async fetchDelta(signal: AbortSignal): Promise<void> {
    const body = await this.client.get('apps/delta', signal);
    if (signal.aborted) return;
    const delta = parseApplications(body, `${this.client.currentUrl()}apps/delta`);
    const dirty = this.local.applyDelta(delta.instances);
    const mine = this.local.hashCode();
    if (delta.hashCode !== mine) {
      this.reconciliations++;
      this.needFull = true;
      this.log.info({ server: delta.hashCode, local: mine }, 'eureka apps hash differs after the delta; fetching the full registry');
      await this.fetchFull(signal);
      return;
    }
    if (dirty.size > 0) {
      this.rebuild(dirty);
      this.log.debug({ apps: [...dirty], changes: delta.instances.length }, 'eureka delta applied');
    }
    this.markSyncedNow();
  }

  /**
   * A restarted Eureka server (Spring Cloud's opens for traffic at once) starts empty and refills
   * as its clients re-register, each on its next heartbeat (30 s apart by default): a read in
   * that time sees anything from none to all of them. Instances missing from such a read are not
   * gone, and a partial read judged as a normal change would remove them (a read at 60 % loses
   * 40 %, below the core's protect threshold). So when the server looks restarted, it has
   * `emptyHoldMs` from then on to refill:
   * - an empty listing while instances are known is refused (MB_PROTECT_HELD; services kept,
   *   stale);
   * - a listing lacking known instances is merged: what it lists goes through, the known
   *   instances it lacks are kept (returned here); reported once (MB_PROTECT_HELD).
   * The refill ends when a listing holds every known instance, or `emptyHoldMs` after it began:
   * then the listing is applied as it is. A server looks restarted when it answers empty, or
   * when a listing lacking known instances is the first success after failed fetches (the
   * server was down; a partition that outlasted the delta window looks the same and only delays
   * its removals). Otherwise a listing replaces the copy (the ordinary reconciliation).
   */
  private refill(listed: readonly WireInstance[]): StoredInstance[] {
    const present = new Set(listed.map((i) => `${i.app}/${i.id}`));
    const missing: StoredInstance[] = [];
    for (const app of this.local.appNames()) for (const inst of this.local.instancesOf(app)) if (!present.has(`${inst.wire.app}/${inst.wire.id}`)) missing.push(inst);
    if (missing.length === 0 || (this.refillSince === undefined && this.failures === 0 && listed.length > 0)) {
      if (this.refillSince !== undefined) this.log.info({ instances: listed.length }, 'eureka server refilled: every known instance is listed again');
      this.endRefill();
      return [];
    }
    const now = Date.now();
    this.refillSince ??= now;
    const holdMs = this.options.emptyHoldMs ?? EMPTY_HOLD_MS;
    if (now - this.refillSince >= holdMs) {
      this.log.warn({ refillingForMs: now - this.refillSince, listed: listed.length, missing: missing.length }, 'eureka has not listed every known instance again within emptyHoldMs; applying its listing');
      this.endRefill();
      return [];
    }
    if (listed.length === 0) {
      this.needFull = true;
      throw new MeshbridgeError(
        ErrorCode.PROTECT_HELD,
        `eureka answered an empty registry while ${this.local.instanceCount()} instances are known (a restarted server?); keeping them for up to ${holdMs} ms`,
        { details: { registry: this.name } },
      );
    }
    if (!this.refillReported) {
      this.refillReported = true;
      const error = new MeshbridgeError(
        ErrorCode.PROTECT_HELD,
        `eureka lists ${listed.length} instances but not ${missing.length} known ones (a restarted server refilling?); keeping those while its clients register again, for up to ${holdMs} ms`,
        { details: { registry: this.name, missing: missing.length } },
      );
      this.options.context.report(error);
    }
    return missing;
  }

  private endRefill(): void {
    this.refillSince = undefined;
    this.refillReported = false;
  }

  /** Re-derives the services that the apps in `dirty` belonged to or now belong to. */
  private rebuild(dirty: ReadonlySet<string>): void {
    const affected = new Set<string>();
    for (const app of dirty) {
      for (const g of this.groupsOfApp.get(app) ?? []) {
        affected.add(g);
        const apps = this.appsOfGroup.get(g);
        apps?.delete(app);
        if (apps?.size === 0) this.appsOfGroup.delete(g);
      }
      this.groupsOfApp.delete(app);
      for (const g of this.index(app, undefined)) affected.add(g);
    }
    for (const g of [...affected].sort()) {
      const members: StoredInstance[] = [];
      for (const app of this.appsOfGroup.get(g) ?? []) {
        for (const inst of this.local.instancesOf(app)) if (serviceNamesOf(inst.wire, this.hostFrom).includes(g)) members.push(inst);
      }
      const s = serviceFromStored(g, members, this.build);
      if (s !== undefined) this.upsert(s);
      else this.remove(serviceKey({ registry: this.name, name: g }));
    }
  }

  /** Records which services `app`'s instances belong to; returns them (and collects the instances). */
  private index(app: string, collect: StoredInstance[] | undefined): Set<string> {
    const groups = new Set<string>();
    for (const inst of this.local.instancesOf(app)) {
      collect?.push(inst);
      for (const g of serviceNamesOf(inst.wire, this.hostFrom)) groups.add(g);
    }
    if (groups.size > 0) this.groupsOfApp.set(app, groups);
    for (const g of groups) {
      let apps = this.appsOfGroup.get(g);
      if (apps === undefined) this.appsOfGroup.set(g, (apps = new Set()));
      apps.add(app);
    }
    return groups;
  }

  /** Keeps every service; reports a failure once until it changes or a fetch succeeds. */
  private failed(e: unknown): void {
    this.failures++;
    const error =
      e instanceof MeshbridgeError
        ? e
        : new MeshbridgeError(ErrorCode.REGISTRY_UNREACHABLE, `eureka fetch failed: ${describeError(e)}`, { cause: e, details: { registry: this.name } });
    this.sourceFailed(error, (x) => this.options.context.report(x));
  }
}


/** Factory for the composition root: builds (no I/O) a Eureka registry. */
export function createEurekaRegistry(options: EurekaRegistryOptions): EurekaRegistry {
  return new EurekaRegistry(options);
}
