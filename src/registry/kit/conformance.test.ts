import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, MeshbridgeError } from '../../errors/index.js';
import type { Service } from '../../model/index.js';
import type { AdapterCommon } from '../kind.js';
import { ServiceSetRegistry } from '../service-set.js';
import { sleep } from '../shared/sleep.js';
import { svc } from '../testing/fake-registry.js';
import { checkRegistryConformance } from './conformance.js';

/** An in-memory source a test changes or takes down. */
class Source {
  names = ['web', 'api'];
  up = true;
}

interface Faults {
  timerInConstructor?: boolean;
  syncedFirst?: boolean;
  leaveTimer?: boolean;
  uncoded?: boolean;
}

/** A small polling adapter over Source, with switchable faults. */
class PollingRegistry extends ServiceSetRegistry {
  private timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly src: Source,
    private readonly common: AdapterCommon,
    private readonly faults: Faults = {},
  ) {
    super(common.name, 'mem');
    if (faults.timerInConstructor === true) this.timer = setTimeout(() => undefined, 60_000);
  }

  async start(signal: AbortSignal): Promise<void> {
    if (!this.claimStart(signal)) return;
    if (this.faults.leaveTimer === true) this.timer = setTimeout(() => undefined, 60_000);
    else signal.addEventListener('abort', () => clearTimeout(this.timer), { once: true });
    await this.superviseUntilFirst(signal, (e) => this.common.context.report(e), async (firstDone) => {
      while (!signal.aborted) {
        this.readOnce();
        firstDone();
        await sleep(20, signal);
      }
    });
  }

  private readOnce(): void {
    if (!this.src.up) {
      const e = new MeshbridgeError(ErrorCode.REGISTRY_UNREACHABLE, 'down');
      if (this.faults.uncoded === true) Object.assign(e, { code: 'OOPS' });
      this.sourceFailed(e, (x) => this.common.context.report(x));
      return;
    }
    const services: Service[] = this.src.names.map((n) => ({ ...svc(this.name, n, ['10.0.0.1']), registryKind: 'mem' }));
    if (this.faults.syncedFirst === true && !this.hasSynced()) this.markSyncedNow();
    this.replaceAll(services);
    this.sourceRecovered();
  }
}

function subject(faults: Faults = {}) {
  const src = new Source();
  return {
    kind: 'mem',
    services: ['web', 'api'],
    create: (common: AdapterCommon) => new PollingRegistry(src, common, faults),
    change: () => {
      src.names = [...src.names, 'new'];
      return 'new';
    },
    outage: () => {
      src.up = false;
    },
    timeoutMs: 2000,
  };
}

test('a well-behaved adapter passes the conformance check', async () => {
  await checkRegistryConformance(subject());
});

test('the check catches I/O in the constructor, synced before the listing, leftovers and uncoded problems', async () => {
  await assert.rejects(checkRegistryConformance(subject({ timerInConstructor: true })), /the constructor must do no I\/O/);
  await assert.rejects(checkRegistryConformance(subject({ syncedFirst: true })), /the upsert of "web" comes before synced/);
  await assert.rejects(checkRegistryConformance(subject({ leaveTimer: true })), /no socket, request or timer of the adapter is left/);
  await assert.rejects(checkRegistryConformance(subject({ uncoded: true })), /a problem without a Meshbridge code: OOPS/);
});
