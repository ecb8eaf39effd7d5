import type { Logger } from '../../observability/index.js';
import type { Backoff } from '../../util/backoff.js';
import type { SessionOptions, SessionState, ZkSession } from './zk-session.js';

export interface SessionSupervisorOptions {
  readonly connectString: string;
  readonly sessionTimeoutMs: number;
  readonly digest: { readonly username: string; readonly password: string } | undefined;
  /** Opens a session (the real client; a fake in unit tests). */
  readonly open: (o: SessionOptions) => ZkSession;
  /** Shared with the adapter's read retries; reset on every connect. */
  readonly backoff: Backoff;
  readonly logger: Logger;
  /** Connected; `full`: a new session, every watch is gone and every node must be read again. */
  readonly onConnected: (full: boolean) => void;
  /**
   * The connection is down (reads paused); `message` says why and what happens next, `always`
   * asks for a report even if one was made in this outage (a failed authentication).
   */
  readonly onDown: (message: string, always: boolean) => void;
}

/**
 * ZooKeeper session supervision: one live session at a time, reopened after it expired, failed
 * authentication, or could not connect for two session timeouts (the client hangs on a
 * connection that was accepted and never answered), each after a backoff.
 *
 * Contract: `start(signal)` opens the first session and returns; after `signal` aborts no timer
 * or session is left. State callbacks come only from the current session. The supervisor never
 * touches the adapter's services: losing a session deletes nothing.
 */
export class SessionSupervisor {
  private session: ZkSession | undefined;
  private sessions = 0;
  private readsOfClosedSessions = 0;
  private live = false;
  /** The next 'connected' is a new session: every node must be read (all watches are gone). */
  private needFullRead = true;
  private signal: AbortSignal | undefined;
  private sessionTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SessionSupervisorOptions) {}

  start(signal: AbortSignal): void {
    this.signal = signal;
    signal.addEventListener('abort', () => this.shutdown(), { once: true });
    this.openNewSession();
  }

  /** The session to read on, while connected. */
  current(): ZkSession | undefined {
    return this.live ? this.session : undefined;
  }

  connected(): boolean {
    return this.live;
  }

  /** Sessions opened and reads sent over all of them (each arms at most one watch). */
  stats(): { readonly sessions: number; readonly reads: number } {
    return { sessions: this.sessions, reads: this.readsOfClosedSessions + (this.session?.reads ?? 0) };
  }

  private openNewSession(): void {
    if (this.signal?.aborted !== false) return;
    this.sessions++;
    this.needFullRead = true;
    const o = this.options;
    const session = o.open({
      connectString: o.connectString,
      sessionTimeoutMs: o.sessionTimeoutMs,
      ...(o.digest !== undefined ? { digest: o.digest } : {}),
      onState: (s) => {
        if (this.session === session) this.onState(s);
      },
    });
    this.session = session;
    this.armWatchdog();
  }

  /** Not connected for two session timeouts: the session is expired on the server anyway. */
  private armWatchdog(): void {
    clearTimeout(this.connectTimer);
    const wait = 2 * this.options.sessionTimeoutMs;
    this.connectTimer = setTimeout(() => {
      if (this.live || this.signal?.aborted !== false) return;
      this.options.onDown(`cannot reach ${this.options.connectString} for ${wait} ms; keeping the last known services, opening a new session`, false);
      this.retire();
      this.reopenLater();
    }, wait);
  }

  private onState(s: SessionState): void {
    switch (s) {
      case 'connected': {
        clearTimeout(this.connectTimer);
        this.live = true;
        this.options.backoff.reset();
        const full = this.needFullRead;
        this.needFullRead = false;
        this.options.logger.info({ full, sessions: this.sessions }, full ? 'zookeeper session established; listing everything' : 'zookeeper reconnected; listing again');
        this.options.onConnected(full);
        break;
      }
      case 'disconnected':
        if (!this.live) break;
        this.live = false;
        this.armWatchdog();
        this.options.onDown(`lost the connection to ${this.options.connectString}; keeping the last known services, reconnecting`, false);
        break;
      case 'expired':
      case 'auth-failed':
        this.live = false;
        clearTimeout(this.connectTimer);
        this.retire();
        this.options.onDown(
          s === 'expired'
            ? 'zookeeper session expired; keeping the last known services, opening a new session'
            : `authentication failed at ${this.options.connectString} (check zookeeper.auth); retrying`,
          s === 'auth-failed',
        );
        this.reopenLater();
        break;
    }
  }

  private reopenLater(): void {
    clearTimeout(this.sessionTimer);
    this.sessionTimer = setTimeout(() => this.openNewSession(), this.options.backoff.next());
  }

  private retire(): void {
    if (this.session === undefined) return;
    this.readsOfClosedSessions += this.session.reads;
    this.session.close();
    this.session = undefined;
  }

  private shutdown(): void {
    this.live = false;
    for (const t of [this.sessionTimer, this.connectTimer]) clearTimeout(t);
    this.retire();
  }
}
