/**
 * Typed access to test-support/peers/eureka.mjs (plain ESM, no build step) plus what the Eureka tests
 * share: a recorder of registry events and problems, and polling helpers.
 * The .mjs file is the single implementation; this only declares its shape (keep the two in step).
 */
import assert from 'node:assert/strict';
import type { MeshbridgeError } from '../src/errors/index.js';
import type { RegistryEvent } from '../src/registry/types.js';
import { peerModuleUrl } from './paths.js';

export interface EurekaServer {
  /** http://127.0.0.1:PORT/eureka */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly logFile: string;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

export interface InstanceSpec {
  readonly app: string;
  readonly id: string;
  /** null: leave ipAddr out. */
  readonly ip?: string | null;
  readonly port?: number;
  readonly portEnabled?: boolean;
  readonly securePort?: number;
  readonly securePortEnabled?: boolean;
  readonly status?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly vipAddress?: string;
}

export interface ProxyRequest {
  readonly method: string;
  readonly path: string;
  readonly at: number;
  readonly auth: string | undefined;
  readonly accept: string | undefined;
}

export interface CountingProxy {
  /** http://127.0.0.1:PORT (append /eureka/). */
  readonly url: string;
  readonly state: {
    requests: ProxyRequest[];
    down: boolean;
    /** Rewrites the body of 200 answers (e.g. to drop a delta's changes). */
    rewrite: ((path: string, body: string) => string) | undefined;
  };
  stop(): Promise<void>;
}

export interface EurekaModule {
  eurekaJarPath(): string;
  eurekaSkipReason(): false | string;
  startEureka(opts?: { port?: number; timeoutMs?: number; extraArgs?: string[] }): Promise<EurekaServer>;
  eurekaRequest(baseUrl: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string; json: unknown }>;
  register(baseUrl: string, o: InstanceSpec): Promise<void>;
  heartbeat(baseUrl: string, app: string, id: string): Promise<number>;
  setStatus(baseUrl: string, app: string, id: string, status: string): Promise<void>;
  clearStatus(baseUrl: string, app: string, id: string): Promise<void>;
  setMetadata(baseUrl: string, app: string, id: string, metadata: Record<string, string>): Promise<void>;
  deregister(baseUrl: string, app: string, id: string): Promise<void>;
  startCountingProxy(target: string): Promise<CountingProxy>;
}

const url = peerModuleUrl('eureka.mjs');

export async function loadEureka(): Promise<EurekaModule> {
  return (await import(url.href)) as EurekaModule;
}

/** Records everything a registry emits and reports: a fake that records, not a mock. */
export class Recorder {
  readonly events: RegistryEvent[] = [];
  readonly problems: MeshbridgeError[] = [];
  codes(): string[] {
    return this.problems.map((p) => p.code);
  }
  /** `upsert NAME` / `delete NAME` for every change event, in order. */
  changes(): string[] {
    return this.events.flatMap((e) => (e.type === 'upsert' || e.type === 'delete' ? [`${e.type} ${e.service.name}`] : []));
  }
}

/** Waits until `cond` holds (polling every 25 ms); fails after `ms` with `what`. */
export async function until(cond: () => boolean, what: string | (() => string), ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A 127.0.0.1 port nothing listens on (taken and released). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const a = s.address();
  await new Promise((r) => s.close(r));
  assert.ok(a !== null && typeof a === 'object');
  return a.port;
}
