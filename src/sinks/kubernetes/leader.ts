import type { Logger } from '../../observability/index.js';
import { apiError, type KubeClient } from './kube-client.js';

export interface LeaderElectionOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly name: string;
  /** Unique per replica (pod name, or hostname + pid). */
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly logger: Logger;
  readonly onChange?: (leader: boolean) => void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}
interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does.
 *
 * Contract:
 * - `isLeader()` is true only while this replica holds the lease AND its last successful renew,
 *   timed from when that request was sent, is younger than `renewDeadlineMs`: a replica that cannot renew stops counting itself leader at
 *   once, without waiting for the next loop tick, well before another replica can take over
 *   (leaseDurationMs > renewDeadlineMs).
 * - Another replica's lease counts as expired only `leaseDurationMs` after this replica last saw
 *   it change (local clock; no cross-machine clock comparison).
 * - On abort, a held lease is released (holder cleared) so a standby takes over promptly.
 */
export class LeaderElector {
  private readonly options: LeaderElectionOptions;
  private lastRenew = 0;
  private holding = false;
  private observed: { holder: string; renewTime: string; at: number } | undefined;

  constructor(options: LeaderElectionOptions) {
    if (options.leaseDurationMs <= options.renewDeadlineMs) throw new RangeError('leaseDurationMs must exceed renewDeadlineMs');
    this.options = options;
  }

  isLeader(): boolean {
    return this.holding && Date.now() - this.lastRenew < this.options.renewDeadlineMs;
  }

  start(signal: AbortSignal): void {
    void this.loop(signal);
  }

  private path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.options.namespace}/leases/${this.options.name}`;
  }

  private async loop(signal: AbortSignal): Promise<void> {
    let wasLeader = false;
    while (!signal.aborted) {
      try {
        await this.tryAcquireOrRenew(signal);
      } catch (e) {
        if (signal.aborted) break;
        this.options.logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'leader election: lease request failed');
      }
      const now = this.isLeader();
      if (now !== wasLeader) {
        wasLeader = now;
        this.options.logger.info({ identity: this.options.identity, lease: `${this.options.namespace}/${this.options.name}` }, now ? 'became leader' : 'lost leadership');
        this.options.onChange?.(now);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, this.options.retryPeriodMs);
        signal.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
      });
      // A renew that kept failing past the deadline ends leadership even if no request returned.
      if (!this.isLeader() && wasLeader) {
        wasLeader = false;
        this.holding = false;
        this.options.logger.warn({ identity: this.options.identity }, 'lost leadership: renew deadline passed');
        this.options.onChange?.(false);
      }
    }
    if (this.holding) await this.release();
    if (wasLeader) this.options.onChange?.(false);
    this.holding = false;
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<void> {
    const now = new Date();
    let lease: Lease | undefined;
    try {
      lease = await this.options.client.request<Lease>({ method: 'GET', path: this.path(), signal });
    } catch (e) {
      if (apiError(e)?.status !== 404) throw e;
    }
    const spec = this.specFor(now, lease?.spec);
    if (lease === undefined) {
      try {
        const sent = Date.now();
        await this.options.client.request({
          method: 'POST',
          path: `/apis/coordination.k8s.io/v1/namespaces/${this.options.namespace}/leases`,
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.options.name, namespace: this.options.namespace }, spec },
          signal,
        });
        this.won(sent);
      } catch (e) {
        if (apiError(e)?.status === 409) return void (this.holding = false);
        throw e;
      }
      return;
    }
    const holder = lease.spec?.holderIdentity ?? '';
    const renewTime = lease.spec?.renewTime ?? '';
    if (this.observed?.holder !== holder || this.observed.renewTime !== renewTime) {
      this.observed = { holder, renewTime, at: Date.now() };
    }
    const mine = holder === this.options.identity;
    const expired = holder === '' || Date.now() - this.observed.at > this.options.leaseDurationMs;
    if (!mine && !expired) {
      this.holding = false;
      return;
    }
    try {
      const sent = Date.now();
      await this.options.client.request({
        method: 'PUT',
        path: this.path(),
        body: { ...lease, spec },
        signal,
      });
      this.won(sent);
    } catch (e) {
      if (apiError(e)?.status === 409) return void (this.holding = false);
      throw e;
    }
  }

  private specFor(now: Date, old: LeaseSpec | undefined): LeaseSpec {
    const mine = old?.holderIdentity === this.options.identity;
    return {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: Math.ceil(this.options.leaseDurationMs / 1000),
      acquireTime: mine && old?.acquireTime !== undefined ? old.acquireTime : micro(now),
      renewTime: micro(now),
      leaseTransitions: (old?.leaseTransitions ?? 0) + (mine || old === undefined ? 0 : 1),
    };
  }

  /**
   * A create or renew succeeded. Its time is when the request was sent, not when the answer
   * came: the lease may have been visible to other replicas from then on, so the deadline runs
   * from then (a slow answer must not extend leadership).
   */
  private won(sent: number): void {
    this.holding = true;
    this.lastRenew = sent;
  }

  private async release(): Promise<void> {
    try {
      const lease = await this.options.client.request<Lease>({ method: 'GET', path: this.path() });
      if (lease.spec?.holderIdentity !== this.options.identity) return;
      await this.options.client.request({
        method: 'PUT',
        path: this.path(),
        body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 } },
      });
      this.options.logger.info({ identity: this.options.identity }, 'released lease');
    } catch (e) {
      this.options.logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'could not release lease');
    }
  }
}

/** RFC 3339 with microseconds, the MicroTime format Lease fields use. */
function micro(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
