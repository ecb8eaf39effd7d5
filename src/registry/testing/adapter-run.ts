import assert from 'node:assert/strict';
import { ErrorCode, type MeshbridgeError } from '../../errors/index.js';
import type { Registry, RegistryEvent } from '../types.js';

/**
 * Test kit for the adapters' fast unit tests (a fake client behind the adapter's `connect`
 * seam): what a registry emits and reports, a short poll for a condition, and the outage check
 * every stateful adapter shares.
 */
export class Recorder {
  readonly events: RegistryEvent[] = [];
  readonly problems: MeshbridgeError[] = [];
  /** For adapterCommon: collects every reported problem. */
  readonly report = (p: MeshbridgeError): void => {
    this.problems.push(p);
  };

  follow(reg: Registry): void {
    reg.onEvent((e) => this.events.push(e));
  }

  /** Upserts and deletes so far: `upsert web 10.0.0.1,10.0.0.2`, `delete api`. */
  changes(): string[] {
    return this.events.flatMap((e) => (e.type === 'upsert' ? [`upsert ${e.service.name} ${addresses(e.service.endpoints).join(',')}`] : e.type === 'delete' ? [`delete ${e.service.name}`] : []));
  }

  /** Codes of the problems reported so far, in order. */
  codes(): string[] {
    return this.problems.map((p) => p.code);
  }

  count(code: string): number {
    return this.problems.filter((p) => p.code === code).length;
  }
}

/** Polls `cond` every 2 ms; fails the test after `ms`. */
export async function until(what: string, cond: () => boolean, ms = 1500): Promise<void> {
  for (const end = Date.now() + ms; !cond(); ) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const addresses = (endpoints: readonly { readonly address: string }[]): string[] => endpoints.map((e) => e.address).sort();

/** Sorted endpoint addresses of the service held under `key` (none when it is not held). */
export function addressesOf(reg: Registry, key: string): string[] {
  return addresses(reg.services().get(key)?.endpoints ?? []);
}

export interface OutageCheck {
  readonly reg: Registry;
  readonly rec: Recorder;
  /** Requests (or connection attempts) the fake has refused so far. */
  readonly refused: () => number;
  /** Makes the fake unreachable: whatever is in flight fails, every new request is refused. */
  readonly down: () => void;
  /** Distinct failures the outage should report (a failed stream, then refused reconnects: 2). */
  readonly reports?: number;
}

/**
 * Takes the source down and checks what every adapter promises: the services are kept, the
 * registry is stale (connected false), and MB_REGISTRY_UNREACHABLE is reported `reports` times
 * however often the adapter retries meanwhile.
 */
export async function expectOutage(o: OutageCheck): Promise<void> {
  const held = [...o.reg.services().keys()].sort();
  const before = o.rec.count(ErrorCode.REGISTRY_UNREACHABLE);
  const refused = o.refused();
  o.down();
  await until('stale', () => o.reg.status().stale);
  await until('several refused retries', () => o.refused() >= refused + 4);
  assert.equal(o.rec.count(ErrorCode.REGISTRY_UNREACHABLE) - before, o.reports ?? 1, o.rec.problems.map((p) => p.message).join('\n'));
  assert.deepEqual([...o.reg.services().keys()].sort(), held, 'services are kept');
  const st = o.reg.status();
  assert.equal(st.connected, false);
  assert.equal(st.lastError?.code, ErrorCode.REGISTRY_UNREACHABLE);
}

/** A second `start` is a bug: MB_INTERNAL. */
export async function expectSecondStartRefused(reg: Registry, signal: AbortSignal): Promise<void> {
  await assert.rejects(reg.start(signal), (e: MeshbridgeError) => e.code === ErrorCode.INTERNAL);
}
