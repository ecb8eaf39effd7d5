import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { ErrorCode, type MeshbridgeError } from '../../errors/index.js';
import { silentLogger } from '../../observability/index.js';
import { Protocol } from '../../model/index.js';
import type { AdapterCommon } from '../kind.js';
import type { Registry, RegistryEvent } from '../types.js';

/** A registry adapter to check, and the source behind it (docs/plugins.md, "Testing a plug-in"). */
export interface ConformanceSubject {
  /** Builds the adapter under test from the common wiring (the check passes its own). */
  readonly create: (common: AdapterCommon) => Registry;
  /** Its kind: status().kind and every Service.registryKind. */
  readonly kind: string;
  /** Service names the source holds when the check starts; all must be there after the first sync. */
  readonly services: readonly string[];
  /** Codes the source's malformed entries must be reported with (it holds such entries). */
  readonly problemCodes?: readonly string[];
  /** Changes the source; returns the name of a service that must then appear. */
  readonly change?: () => Promise<string> | string;
  /** Makes the source unreachable (or unreadable); the services must then be kept, stale. */
  readonly outage?: () => Promise<void> | void;
  /** Per step (default 10000 ms). */
  readonly timeoutMs?: number;
}

const CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** Polls `cond` every 10 ms; fails with `what` after `ms`. */
async function until(what: string, cond: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !cond(); ) {
    if (Date.now() > end) assert.fail(`conformance: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Handles and requests alive, by type (process.getActiveResourcesInfo). */
function resources(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

/** What `now` holds beyond `base`: `TCPSocketWrap x1`. */
function beyond(base: ReadonlyMap<string, number>, now: ReadonlyMap<string, number>): string[] {
  return [...now].flatMap(([k, n]) => (n > (base.get(k) ?? 0) ? [`${k} x${n - (base.get(k) ?? 0)}`] : []));
}

/**
 * The contract every registry adapter keeps (src/registry/types.ts, Registry), checked against a
 * real source: a built-in kind's or a plug-in's (docs/plugins.md). Fails with node:assert naming
 * the broken rule:
 * 1. the constructor does no I/O (no socket, file request or timer is left behind by it), and a
 *    new registry is not synced and holds nothing; name and kind are the configured ones;
 * 2. start resolves; the first listing's upserts come before the one `synced` event, nothing is
 *    deleted before it, and hasSynced() is then true (and stays true);
 * 3. every service carries the registry's name and kind, every endpoint its origin; the upsert
 *    events add up to services();
 * 4. every problem is reported with a Meshbridge code (src/errors/codes.ts), `problemCodes` among them;
 * 5. a second start is refused (MB_INTERNAL);
 * 6. `change`: the new service appears with an upsert; `outage`: every service is kept, the
 *    registry turns stale with a lastError, and the failure is reported;
 * 7. after the signal aborts, no socket or timer of the adapter is left (within 3 s).
 */
export async function checkRegistryConformance(subject: ConformanceSubject): Promise<void> {
  const ms = subject.timeoutMs ?? 10_000;
  const events: RegistryEvent[] = [];
  const problems: MeshbridgeError[] = [];
  const common: AdapterCommon = { name: 'conformance', defaultProtocol: Protocol.TCP, context: { report: (e) => problems.push(e) }, logger: silentLogger() };
  await tick();
  const base = resources();
  const reg = subject.create(common);
  await tick();
  assert.deepEqual(beyond(base, resources()), [], 'conformance: the constructor must do no I/O (it left handles or requests behind)');
  assert.equal(reg.name, common.name, 'conformance: registry.name must be common.name');
  assert.equal(reg.kind, subject.kind, 'conformance: registry.kind must be the kind');
  assert.equal(reg.hasSynced(), false, 'conformance: a new registry is not synced');
  assert.equal(reg.services().size, 0, 'conformance: a new registry holds no services');
  assert.equal(reg.status().synced, false);
  reg.onEvent((e) => events.push(e));
  const ac = new AbortController();
  try {
    await Promise.race([reg.start(ac.signal), new Promise((_, reject) => setTimeout(() => reject(new Error(`conformance: start did not resolve within ${ms} ms`)), ms).unref())]);
    await until('the first sync (hasSynced)', () => reg.hasSynced(), ms);
    const synced = events.findIndex((e) => e.type === 'synced');
    assert.ok(synced >= 0, 'conformance: a synced event is emitted with the first sync');
    assert.equal(events.filter((e) => e.type === 'synced').length, 1, 'conformance: synced is emitted once');
    assert.ok(!events.slice(0, synced).some((e) => e.type === 'delete'), 'conformance: nothing is deleted before the first sync');
    const names = [...reg.services().values()].map((s) => s.name);
    for (const n of subject.services) assert.ok(names.includes(n), `conformance: service "${n}" is listed after the first sync (got ${names.join(', ')})`);
    const upsertedBefore = new Set(events.slice(0, synced).flatMap((e) => (e.type === 'upsert' ? [e.service.name] : [])));
    for (const n of subject.services) assert.ok(upsertedBefore.has(n), `conformance: the upsert of "${n}" comes before synced`);
    checkServices(reg, subject.kind, events);
    checkProblems(problems, subject.problemCodes ?? []);
    // start is async: a second call rejects (a synchronous throw fails here too).
    await assert.rejects(reg.start(ac.signal), (e: MeshbridgeError) => e.code === ErrorCode.INTERNAL, 'conformance: a second start is refused with MB_INTERNAL');
    if (subject.change !== undefined) {
      const name = await subject.change();
      await until(`the change (service "${name}")`, () => [...reg.services().values()].some((s) => s.name === name), ms);
      assert.ok(events.some((e) => e.type === 'upsert' && e.service.name === name), `conformance: an upsert of "${name}" is emitted`);
      checkServices(reg, subject.kind, events);
    }
    if (subject.outage !== undefined) {
      const held = [...reg.services().keys()].sort();
      const reported = problems.length;
      await subject.outage();
      await until('stale after the outage', () => reg.status().stale, ms);
      assert.deepEqual([...reg.services().keys()].sort(), held, 'conformance: an unreachable source keeps every service');
      assert.ok(reg.status().lastError !== undefined, 'conformance: status().lastError says why it is stale');
      await until('the outage reported', () => problems.length > reported, ms);
      checkProblems(problems, []);
    }
    assert.equal(reg.hasSynced(), true, 'conformance: hasSynced never goes back to false');
  } finally {
    ac.abort();
  }
  const left = async (): Promise<string[]> => {
    for (const end = Date.now() + 3000; ; ) {
      await new Promise((r) => setTimeout(r, 20));
      const extra = beyond(base, resources());
      if (extra.length === 0 || Date.now() > end) return extra;
    }
  };
  assert.deepEqual(await left(), [], 'conformance: after the signal aborts no socket, request or timer of the adapter is left');
}

function checkServices(reg: Registry, kind: string, events: readonly RegistryEvent[]): void {
  const last = new Map<string, unknown>();
  for (const e of events) {
    if (e.type === 'upsert') last.set(`${e.service.registry}/${e.service.namespace ?? ''}/${e.service.name}`, e.service);
    if (e.type === 'delete') last.delete(`${e.service.registry}/${e.service.namespace ?? ''}/${e.service.name}`);
  }
  for (const [key, s] of reg.services()) {
    assert.equal(s.registry, reg.name, `conformance: ${key}: Service.registry must be the registry's name`);
    assert.equal(s.registryKind, kind, `conformance: ${key}: Service.registryKind must be the kind`);
    for (const ep of s.endpoints) assert.equal(ep.origin, reg.name, `conformance: ${key}: Endpoint.origin must be the registry's name`);
    assert.deepEqual(last.get(key), s, `conformance: ${key}: the events must add up to services()`);
  }
  assert.equal(last.size, reg.services().size, 'conformance: the events must add up to services() (no service without its upsert)');
}

function checkProblems(problems: readonly MeshbridgeError[], expected: readonly string[]): void {
  for (const p of problems) assert.ok(typeof p.code === 'string' && CODES.has(p.code), `conformance: a problem without a Meshbridge code: ${String(p.code)} ${p.message}`);
  const codes = new Set(problems.map((p) => p.code));
  for (const c of expected) assert.ok(codes.has(c as ErrorCode), `conformance: the malformed entries are reported with ${c} (got ${[...codes].join(', ') || 'none'})`);
}
