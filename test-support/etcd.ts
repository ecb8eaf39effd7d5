/**
 * A real etcd for the etcd adapter's tests: the binary test-support/peers/build-peers.sh caches
 * (peers.mjs peerPath('etcd')), started here rather than by peers.mjs startEtcd() because these
 * tests need what that helper does not offer: a stop and restart on the same ports with the same
 * data dir, TLS with client certificates, and auth. Binds and advertises 127.0.0.1 only.
 *
 * Writes go through etcd's JSON gateway (/v3/kv/...) with fetch, so no test imports the etcd
 * client library (src/registry/etcd is its only importer).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPeers } from './peers.js';
import { makeCerts, type TlsFiles } from './tls.js';


export interface EtcdPeerOptions {
  /** Serve TLS and require client certificates. */
  readonly tls?: boolean;
}

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

export class EtcdPeer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private token: string | undefined;

  private constructor(
    readonly bin: string,
    readonly dir: string,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly tls: TlsFiles | undefined,
  ) {}

  static async start(o: EtcdPeerOptions = {}): Promise<EtcdPeer> {
    const peers = await loadPeers();
    const dir = await mkdtemp(join(tmpdir(), 'meshbridge-etcd-adapter-'));
    const [clientPort, peerPort] = await peers.freePorts(2);
    const tls = o.tls === true ? await makeCerts(dir) : undefined;
    const p = new EtcdPeer(peers.peerPath('etcd'), dir, clientPort!, peerPort!, tls);
    await p.resume();
    return p;
  }

  get scheme(): string {
    return this.tls !== undefined ? 'https' : 'http';
  }

  get endpoint(): string {
    return `${this.scheme}://127.0.0.1:${this.clientPort}`;
  }

  get logFile(): string {
    return join(this.dir, 'etcd.log');
  }

  logTail(lines = 40): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts (or restarts) etcd on the same ports and data dir; resolves when it answers. */
  async resume(): Promise<void> {
    if (this.child !== undefined) throw new Error('etcd is already running');
    const client = `${this.scheme}://127.0.0.1:${this.clientPort}`;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const args = [
      '--name=mb-etcd-adapter',
      `--data-dir=${join(this.dir, 'data')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=mb-etcd-adapter=${peer}`,
      '--initial-cluster-state=new',
      '--unsafe-no-fsync=true',
      '--log-level=warn',
      ...(this.tls !== undefined
        ? [`--cert-file=${this.tls.certFile}`, `--key-file=${this.tls.keyFile}`, `--trusted-ca-file=${this.tls.caFile}`, '--client-cert-auth=true']
        : []),
    ];
    const fd = openSync(this.logFile, 'a');
    const child = spawn(this.bin, args, { cwd: this.dir, stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.unref();
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const r = await this.call('/health', undefined, 'GET');
        if (/"health":\s*"true"/.test(r)) return;
      } catch {
        // not up yet
      }
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`etcd did not start; log:\n${this.logTail()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops etcd (SIGTERM, SIGKILL after 5 s); the data dir stays for resume(). */
  async pause(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.child = undefined;
    child.ref(); // its exit must keep the loop alive while awaited (see peers.mjs makeStop)
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, 5000);
    await this.exited;
    clearTimeout(timer);
    this.token = undefined;
  }

  async stop(): Promise<void> {
    await this.pause();
    if (process.env['MESHBRIDGE_PEERS_KEEP'] === undefined) await rm(this.dir, { recursive: true, force: true });
  }

  /** POST to etcd's JSON gateway (or GET when method says so); resolves with the body text. */
  async call(path: string, body: unknown, method = 'POST'): Promise<string> {
    const url = `${this.endpoint}${path}`;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.token !== undefined) headers['authorization'] = this.token;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    // node:http without an agent: no kept-alive sockets, so the tests can tell whether the
    // adapter's own connections are closed.
    const tlsOpts =
      this.tls === undefined
        ? {}
        : await Promise.all([readFile(this.tls.caFile), readFile(this.tls.clientCertFile), readFile(this.tls.clientKeyFile)]).then(([ca, cert, key]) => ({ ca, cert, key }));
    const send = this.tls === undefined ? httpRequest : httpsRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, { method, headers, ...tlsOpts, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => ((res.statusCode ?? 0) < 300 ? resolve(text) : reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`))));
      });
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** Puts `value` (a string, or JSON of an object) at `key`; resolves with the new revision. */
  async put(key: string, value: unknown): Promise<number> {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    const r = JSON.parse(await this.call('/v3/kv/put', { key: b64(key), value: b64(text) })) as { header: { revision: string } };
    return Number(r.header.revision);
  }

  async del(key: string): Promise<number> {
    const r = JSON.parse(await this.call('/v3/kv/deleterange', { key: b64(key) })) as { header: { revision: string } };
    return Number(r.header.revision);
  }

  async revision(): Promise<number> {
    const r = JSON.parse(await this.call('/v3/kv/range', { key: b64('\0'), count_only: true })) as { header: { revision: string } };
    return Number(r.header.revision);
  }

  async compact(revision: number): Promise<void> {
    await this.call('/v3/kv/compaction', { revision: String(revision), physical: true });
  }

  /** Enables auth with user `root` (password given) and logs the helper in as root. */
  async enableAuth(password: string): Promise<void> {
    await this.call('/v3/auth/user/add', { name: 'root', password });
    await this.call('/v3/auth/user/grant', { user: 'root', role: 'root' });
    await this.call('/v3/auth/enable', {});
    await this.enableAuthLogin(password);
  }

  /** Logs the helper in as root again (tokens do not survive a restart). */
  async enableAuthLogin(password: string): Promise<void> {
    const r = JSON.parse(await this.call('/v3/auth/authenticate', { name: 'root', password })) as { token: string };
    this.token = r.token;
  }

  /** Sum of a Prometheus counter on /metrics across the series whose labels include `labels`. */
  async metric(name: string, labels: Readonly<Record<string, string>> = {}): Promise<number> {
    const text = await this.call('/metrics', undefined, 'GET');
    let sum = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
      if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return sum;
  }
}
