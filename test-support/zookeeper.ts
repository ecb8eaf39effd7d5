/**
 * Typed access to test-support/peers/zookeeper.mjs (plain ESM, no build step) and the helpers the
 * ZooKeeper tests share. Keep the declarations in step with the .mjs file.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import zookeeper from 'node-zookeeper-client';
import type { MeshbridgeError } from '../src/errors/index.js';
import type { RegistryEvent } from '../src/registry/types.js';
import { peerModuleUrl } from './paths.js';

export interface ZookeeperServer {
  readonly port: number;
  readonly connectString: string;
  readonly pid: number;
  readonly dir: string;
  logTail(lines?: number): string;
  fourLetter(cmd: string): Promise<string>;
  halt(): Promise<void>;
  resume(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface DubboProvider {
  readonly pid: number;
  readonly dubboPort: number;
  readonly triPort: number;
  /** ::1 (Dubbo refuses 127.x). */
  readonly address: string;
  logTail(lines?: number): string;
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

export interface TcpProxy {
  readonly port: number;
  readonly connectString: string;
  block(): void;
  unblock(): void;
  stop(): Promise<void>;
}

export interface ZookeeperPeers {
  zookeeperPeerMissing(name: 'zookeeper' | 'dubbo-provider'): string | undefined;
  startZookeeper(opts?: { tickTime?: number; timeoutMs?: number; superDigest?: string }): Promise<ZookeeperServer>;
  startDubboProvider(opts: {
    zk: string;
    app?: string;
    services?: readonly string[];
    /** Interfaces (`interface[:group[:version]]`) the application consumes: registered as consumers. */
    references?: readonly string[];
    dubboPort?: number;
    triPort?: number;
    timeoutMs?: number;
  }): Promise<DubboProvider>;
  startTcpProxy(targetPort: number): Promise<TcpProxy>;
}

export async function loadZookeeperPeers(): Promise<ZookeeperPeers> {
  return (await import(peerModuleUrl('zookeeper.mjs').href)) as ZookeeperPeers;
}

/**
 * Why the tests needing `names` cannot run (undefined: they can). With CI=true a missing peer
 * throws: in CI it is a failure, never a skip.
 */
export function missingPeers(peers: ZookeeperPeers, ...names: Array<'zookeeper' | 'dubbo-provider'>): string | undefined {
  const missing = names.map((n) => peers.zookeeperPeerMissing(n)).filter((m): m is string => m !== undefined);
  if (missing.length === 0) return undefined;
  if (process.env['CI'] === 'true') throw new Error(missing.join('; '));
  return missing.join('; ');
}

/** Records what a registry emits and reports: a fake that records, not a mock. */
export class Recorder {
  readonly events: RegistryEvent[] = [];
  readonly problems: MeshbridgeError[] = [];
  deletes(): string[] {
    return this.events.filter((e) => e.type === 'delete').map((e) => ('service' in e ? e.service.name : ''));
  }
  upserts(): number {
    return this.events.filter((e) => e.type === 'upsert').length;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `cond` holds (polling); fails after `ms`. */
export async function until(cond: () => boolean, what: string | (() => string), ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(20);
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** A plain ZooKeeper client for writing test data directly (what a misbehaving provider would write). */
export class ZkWriter {
  private readonly client: zookeeper.Client;
  private constructor(client: zookeeper.Client) {
    this.client = client;
  }
  static async connect(connectString: string): Promise<ZkWriter> {
    const client = zookeeper.createClient(connectString, { sessionTimeout: 10_000 });
    await new Promise<void>((resolve) => {
      client.once('connected', () => resolve());
      client.connect();
    });
    return new ZkWriter(client);
  }
  mkdirp(path: string): Promise<void> {
    return new Promise((resolve, reject) => this.client.mkdirp(path, (e) => (e ? reject(asError(e)) : resolve())));
  }
  create(path: string, data?: string, ephemeral = true): Promise<void> {
    const mode = ephemeral ? zookeeper.CreateMode.EPHEMERAL : zookeeper.CreateMode.PERSISTENT;
    return new Promise((resolve, reject) =>
      this.client.create(path, data === undefined ? Buffer.alloc(0) : Buffer.from(data), mode, (e) => (e ? reject(asError(e)) : resolve())),
    );
  }
  setData(path: string, data: string): Promise<void> {
    return new Promise((resolve, reject) => this.client.setData(path, Buffer.from(data), (e) => (e ? reject(asError(e)) : resolve())));
  }
  remove(path: string): Promise<void> {
    return new Promise((resolve, reject) => this.client.remove(path, (e) => (e ? reject(asError(e)) : resolve())));
  }
  children(path: string): Promise<string[]> {
    return new Promise((resolve, reject) => this.client.getChildren(path, (e, c) => (e ? reject(asError(e)) : resolve(c))));
  }
  /** Adds digest credentials to this session (the creator of digest-protected nodes). */
  addDigest(username: string, password: string): void {
    this.client.addAuthInfo('digest', Buffer.from(`${username}:${password}`));
  }
  /** Creates a persistent node only `username` may read (ACL digest:username:hash). */
  createProtected(path: string, username: string, password: string): Promise<void> {
    const hash = createHash('sha1').update(`${username}:${password}`).digest('base64');
    const acl = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('digest', `${username}:${hash}`))];
    return new Promise((resolve, reject) => this.client.create(path, Buffer.alloc(0), acl, zookeeper.CreateMode.PERSISTENT, (e) => (e ? reject(asError(e)) : resolve())));
  }
  close(): void {
    this.client.close();
  }
}

/** Java URLEncoder.encode(url, UTF-8): what Dubbo writes as a provider node name. */
export function javaUrlEncode(s: string): string {
  return encodeURIComponent(s)
    .replace(/%20/g, '+')
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
