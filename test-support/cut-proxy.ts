import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of etcd, so a test decides exactly when the adapter is cut off
 * (its connections dropped, new ones refused) and when it may reconnect — independent of the
 * adapter's backoff timing.
 */
export class CutProxy {
  private readonly sockets = new Set<Socket>();
  private blocked = false;
  connections = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<CutProxy> {
    const ref: { proxy?: CutProxy } = {};
    const server = createServer((client) => {
      const proxy = ref.proxy;
      if (proxy === undefined || proxy.blocked) {
        client.destroy();
        return;
      }
      proxy.connections++;
      const upstream = connect(targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        proxy.sockets.add(s);
        s.on('close', () => proxy.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    ref.proxy = new CutProxy(server, typeof addr === 'object' && addr !== null ? addr.port : 0);
    return ref.proxy;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Drops every connection and refuses new ones until unblock(). */
  block(): void {
    this.blocked = true;
    for (const s of this.sockets) s.destroy();
  }

  unblock(): void {
    this.blocked = false;
  }

  async close(): Promise<void> {
    this.block();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
