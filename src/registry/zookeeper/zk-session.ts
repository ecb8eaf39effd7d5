import zookeeper from 'node-zookeeper-client';
import type { Client, Event as ZkEvent, Exception as ZkException, State } from 'node-zookeeper-client';

/**
 * The one place that talks to node-zookeeper-client: a session with promise-returning reads that
 * never throw, watches as plain callbacks, and connection states as a small union.
 */

export type SessionState = 'connected' | 'disconnected' | 'expired' | 'auth-failed';

export type ReadFailure = 'connection-loss' | 'session-expired' | 'no-auth' | 'other';

export type ReadResult<T> =
  | { readonly type: 'ok'; readonly value: T }
  | { readonly type: 'no-node' }
  | { readonly type: 'error'; readonly failure: ReadFailure; readonly message: string };

/** A fired one-shot watch. */
export type Watcher = () => void;

export interface SessionOptions {
  /** `host:port[,host:port...][/chroot]`. */
  readonly connectString: string;
  readonly sessionTimeoutMs: number;
  /** Digest credentials, sent on every (re)connect. */
  readonly digest?: { readonly username: string; readonly password: string };
  /** Called on every state change, in order. Not called after `close()`. */
  readonly onState: (state: SessionState) => void;
}

export interface ZkSession {
  getChildren(path: string, watcher: Watcher): Promise<ReadResult<string[]>>;
  getData(path: string, watcher: Watcher): Promise<ReadResult<Buffer>>;
  /** Sets a watch that fires when the node is created, changed or deleted. */
  exists(path: string, watcher: Watcher): Promise<ReadResult<boolean>>;
  /** Reads sent on this session (each arms at most one watch). */
  readonly reads: number;
  close(): void;
}

/**
 * Opens a session (connects in the background; the client retries its servers by itself until
 * `close()`). Contract: one watch per (path, kind, watcher function) — the client deduplicates by
 * function identity, so callers pass the same function for the same path. After 'expired' or
 * 'auth-failed' the session is dead: close it and open a new one.
 */
export function openSession(o: SessionOptions): ZkSession {
  const client: Client = zookeeper.createClient(o.connectString, { sessionTimeout: o.sessionTimeoutMs, spinDelay: 1000, retries: 0 });
  let closed = false;
  let reads = 0;
  // The client's watcher functions, one per caller function, so its dedup by identity holds.
  const wrapped = new WeakMap<Watcher, (e: ZkEvent) => void>();
  const wrap = (w: Watcher): ((e: ZkEvent) => void) => {
    let f = wrapped.get(w);
    if (f === undefined) {
      f = () => {
        if (!closed) w();
      };
      wrapped.set(w, f);
    }
    return f;
  };
  client.on('state', (state: State) => {
    if (closed) return;
    const S = zookeeper.State;
    if (state === S.SYNC_CONNECTED || state === S.CONNECTED_READ_ONLY) o.onState('connected');
    else if (state === S.DISCONNECTED) o.onState('disconnected');
    else if (state === S.EXPIRED) o.onState('expired');
    else if (state === S.AUTH_FAILED) o.onState('auth-failed');
  });
  if (o.digest !== undefined) client.addAuthInfo('digest', Buffer.from(`${o.digest.username}:${o.digest.password}`));
  client.connect();

  // Reads not answered yet: close() settles them (the client drops requests it never sent).
  const outstanding = new Set<(r: ReadResult<never>) => void>();
  const track = <T>(start: (resolve: (r: ReadResult<T>) => void) => void): Promise<ReadResult<T>> => {
    reads++;
    if (closed) return Promise.resolve({ type: 'error', failure: 'connection-loss', message: 'session closed' });
    return new Promise<ReadResult<T>>((resolve) => {
      const done = (r: ReadResult<T>): void => {
        if (!outstanding.delete(done)) return;
        resolve(r);
      };
      outstanding.add(done);
      start(done);
    });
  };

  const settle = <T>(resolve: (r: ReadResult<T>) => void, error: Error | ZkException | null, value: T): void => {
    if (error === null || error === undefined) {
      resolve({ type: 'ok', value });
      return;
    }
    const code = typeof (error as ZkException).getCode === 'function' ? (error as ZkException).getCode() : undefined;
    const E = zookeeper.Exception;
    if (code === E.NO_NODE) resolve({ type: 'no-node' });
    else {
      const failure: ReadFailure =
        code === E.CONNECTION_LOSS || code === E.OPERATION_TIMEOUT
          ? 'connection-loss'
          : code === E.SESSION_EXPIRED
            ? 'session-expired'
            : code === E.NO_AUTH || code === E.AUTH_FAILED
              ? 'no-auth'
              : 'other';
      resolve({ type: 'error', failure, message: error.toString() });
    }
  };

  return {
    getChildren(path, watcher) {
      return track<string[]>((done) => client.getChildren(path, wrap(watcher), (e, children) => settle(done, e, children)));
    },
    getData(path, watcher) {
      return track<Buffer>((done) => client.getData(path, wrap(watcher), (e, data) => settle(done, e, data ?? Buffer.alloc(0))));
    },
    exists(path, watcher) {
      return track<boolean>((done) => client.exists(path, wrap(watcher), (e, stat) => settle(done, e, stat !== null && stat !== undefined)));
    },
    get reads() {
      return reads;
    },
    close() {
      if (closed) return;
      closed = true;
      client.removeAllListeners();
      client.close();
      for (const done of [...outstanding]) done({ type: 'error', failure: 'connection-loss', message: 'session closed' });
    },
  };
}
