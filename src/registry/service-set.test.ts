import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, MeshbridgeError } from '../errors/index.js';
import { svc } from './testing/fake-registry.js';
import { ServiceSetRegistry } from './service-set.js';

/** The smallest adapter: its test drives the base class's lifecycle helpers directly. */
class Probe extends ServiceSetRegistry {
  readonly reported: MeshbridgeError[] = [];
  constructor() {
    super('probe', 'file');
  }
  async start(signal: AbortSignal): Promise<void> {
    await Promise.resolve(this.claimStart(signal));
  }
  list(n: number): void {
    this.replaceAll(Array.from({ length: n }, (_, i) => svc('probe', `s${i}`, ['10.0.0.1'])));
  }
  fail(e: MeshbridgeError): void {
    this.sourceFailed(e, (x) => this.reported.push(x));
  }
  recover(): boolean {
    return this.sourceRecovered();
  }
}

const unreachable = new MeshbridgeError(ErrorCode.SOURCE_READ, 'file does not exist', { path: '/etc/services.yaml' });

test('a source failure is reported once until it changes or recovers; services are kept', () => {
  const p = new Probe();
  p.fail(unreachable);
  p.fail(unreachable);
  assert.deepEqual(p.reported.map((e) => e.message), ['/etc/services.yaml: file does not exist'], 'before a sync nothing is said to be kept');
  p.list(2);
  assert.equal(p.recover(), true);
  p.fail(unreachable);
  assert.deepEqual(p.reported.map((e) => e.message).slice(1), ['/etc/services.yaml: file does not exist; keeping the last known services'], 'the path once');
  assert.equal(p.reported[1]?.path, '/etc/services.yaml');
  assert.deepEqual([p.services().size, p.status().stale, p.status().lastError?.code], [2, true, 'MB_SOURCE_READ']);
  assert.equal(p.recover(), true);
  assert.equal(p.recover(), false, 'nothing held any more');
});

test('start twice throws MB_INTERNAL', async () => {
  const p = new Probe();
  await p.start(new AbortController().signal);
  await assert.rejects(p.start(new AbortController().signal), (e: unknown) => e instanceof MeshbridgeError && e.code === ErrorCode.INTERNAL);
});
