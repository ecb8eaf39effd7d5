import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../errors/index.js';
import { adapterCommon, kindSettings } from '../testing/adapter-options.js';
import { addressesOf, expectOutage, expectSecondStartRefused, Recorder, until } from '../testing/adapter-run.js';
import { ConsulRegistry } from './consul-registry.js';
import { ConsulTransportError, type ConsulHttpLike, type ConsulHttpOptions, type ConsulResponse } from './http.js';

/** A /v1/health/service entry as Consul writes it (one passing check). */
const entry = (id: string, address: string, port: unknown = 8080) => ({
  Node: { ID: 'n', Node: 'node-1', Address: '10.9.9.9', Datacenter: 'dc1', Meta: {} },
  Service: { ID: id, Service: id.split('-')[0], Tags: [], Address: address, Meta: {}, Port: port, Weights: { Passing: 1, Warning: 1 } },
  Checks: [{ CheckID: `chk-${id}`, Status: 'passing' }],
});

/**
 * A Consul behind the adapter's HTTP seam: one catalog (service name -> health entries) with one
 * raft index. A request with `index` at or above the current one blocks until the next change
 * (blocking queries); while `down`, every request in flight or new fails as a refused connection.
 */
class FakeConsul {
  index = 10;
  down = false;
  refused = 0;
  readonly paths: string[] = [];
  readonly services = new Map<string, unknown[]>();
  options: ConsulHttpOptions | undefined;
  private readonly waiters = new Set<() => void>();

  connect = (o: ConsulHttpOptions): ConsulHttpLike => {
    this.options = o;
    return {
      url: (path, query) => {
        const u = new URL(path, 'http://consul.test/');
        for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, v);
        return u;
      },
      get: (url, { signal }) => this.get(url, signal),
      close: () => undefined,
    };
  };

  /** Registers (or replaces) a service's instances: the index moves, blocked queries answer. */
  set(name: string, entries: unknown[]): void {
    this.services.set(name, entries);
    this.change();
  }

  deregister(name: string): void {
    this.services.delete(name);
    this.change();
  }

  /** Requests sent to `path` so far (one is sent only once the answer before it was handled). */
  count(path: string): number {
    return this.paths.filter((p) => p === path).length;
  }

  setDown(down: boolean): void {
    this.down = down;
    this.wake();
  }

  private change(): void {
    this.index += 1;
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private async get(url: URL, signal: AbortSignal): Promise<ConsulResponse> {
    this.paths.push(url.pathname);
    const sent = Number(url.searchParams.get('index') ?? '0');
    while (!this.down && sent > 0 && sent >= this.index) await this.blocked(signal);
    if (this.down) {
      this.refused += 1;
      throw new ConsulTransportError(`GET ${url.pathname}: connect ECONNREFUSED`, undefined);
    }
    const path = url.pathname.slice(1);
    const body: unknown =
      path === 'v1/catalog/datacenters'
        ? ['dc1']
        : path === 'v1/catalog/services'
          ? Object.fromEntries([...this.services.keys()].map((n) => [n, []]))
          : (this.services.get(decodeURIComponent(path.replace('v1/health/service/', ''))) ?? []);
    return { status: 200, index: this.index, body: JSON.stringify(body) };
  }

  /** Resolves at the next change (or outage); rejects with the abort reason. */
  private blocked(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        this.waiters.delete(wake);
        signal.removeEventListener('abort', onAbort);
      };
      const wake = (): void => {
        done();
        resolve();
      };
      const onAbort = (): void => {
        done();
        reject(signal.reason as Error);
      };
      this.waiters.add(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function follow(t: { after(fn: () => void): void }, consul: FakeConsul, block: object = {}) {
  const rec = new Recorder();
  const ac = new AbortController();
  t.after(() => ac.abort());
  const reg = new ConsulRegistry({
    ...kindSettings('consul', { address: 'http://consul.test:8500', token: 't0k3n', ...block }),
    ...adapterCommon('c1', rec.report),
    backoff: { initialMs: 5, maxMs: 20 },
    connect: consul.connect,
  });
  rec.follow(reg);
  return { reg, rec, ac, ips: (name: string) => addressesOf(reg, `c1/dc1/${name}`), start: () => reg.start(ac.signal) };
}

test('consul: the first listing upserts every service, then synced; blocking answers with a new index upsert and delete', async (t) => {
  const consul = new FakeConsul();
  consul.set('web', [entry('web-1', '10.0.0.1'), entry('web-2', '10.0.0.2')]);
  consul.set('api', [entry('api-1', '10.0.1.1', 9090)]);
  consul.set('consul', [entry('consul-1', '10.0.9.1', 8300)]);
  const f = follow(t, consul);
  assert.equal(consul.paths.length, 0, 'the constructor does no I/O');
  await f.start();
  assert.equal(f.reg.hasSynced(), true);
  assert.equal(consul.options?.token(), 't0k3n');
  assert.equal(consul.paths[0], '/v1/catalog/datacenters', 'no datacenters configured: the agent\'s own');
  assert.deepEqual([...f.reg.services().keys()].sort(), ['c1/dc1/api', 'c1/dc1/web'], 'consul itself is skipped');
  assert.deepEqual(f.rec.changes().sort(), ['upsert api 10.0.1.1', 'upsert web 10.0.0.1,10.0.0.2']);
  assert.equal(f.rec.events.filter((e) => e.type === 'synced').length, 1);
  assert.deepEqual(f.reg.services().get('c1/dc1/api')?.ports, [{ number: 9090, name: 'tcp', protocol: 'TCP' }]);

  consul.set('web', [entry('web-1', '10.0.0.1'), entry('web-2', '10.0.0.2'), entry('web-3', '10.0.0.3')]);
  await until('web-3 added', () => f.ips('web').length === 3);
  consul.set('db', [entry('db-1', '10.0.2.1', 5432)]);
  await until('db listed', () => f.ips('db').length === 1);
  consul.deregister('api');
  await until('api deleted', () => !f.reg.services().has('c1/dc1/api'));
  const asked = consul.count('/v1/health/service/web');
  consul.set('web', []);
  await until('the empty answer handled (the next query sent)', () => consul.count('/v1/health/service/web') > asked);
  assert.deepEqual(f.rec.changes().slice(2), ['upsert web 10.0.0.1,10.0.0.2,10.0.0.3', 'upsert db 10.0.2.1', 'delete api']);
  assert.deepEqual(f.ips('web'), ['10.0.0.1', '10.0.0.2', '10.0.0.3'], 'an empty answer for a listed service changes nothing');
  assert.deepEqual(f.rec.problems, []);
  await expectSecondStartRefused(f.reg, f.ac.signal);
});

test('consul: unreachable keeps the services (stale), reports once per outage, converges on recovery', async (t) => {
  const consul = new FakeConsul();
  consul.set('web', [entry('web-1', '10.0.0.1'), entry('web-2', '10.0.0.2')]);
  consul.set('api', [entry('api-1', '10.0.1.1')]);
  const f = follow(t, consul, { datacenters: ['dc1'] });
  await f.start();
  await expectOutage({ reg: f.reg, rec: f.rec, refused: () => consul.refused, down: () => consul.setDown(true) });
  assert.match(f.rec.problems[0]?.message ?? '', /keeping the last known services/);

  // What changed meanwhile is read with the last index once Consul answers again.
  consul.set('web', [entry('web-2', '10.0.0.2')]);
  consul.deregister('api');
  consul.set('db', [entry('db-1', '10.0.2.1')]);
  consul.setDown(false);
  await until('converged', () => f.reg.status().connected && f.ips('db').length === 1 && f.ips('web').length === 1 && !f.reg.services().has('c1/dc1/api'));
  assert.equal(f.reg.status().stale, false);
  assert.equal(f.reg.status().lastError, undefined);
  assert.equal(f.rec.count(ErrorCode.REGISTRY_UNREACHABLE), 1);

  // A second outage is a new one: reported again.
  await expectOutage({ reg: f.reg, rec: f.rec, refused: () => consul.refused, down: () => consul.setDown(true) });
});

test('consul: malformed instances are skipped with their MB_ENTRY_* codes while neighbours sync', async (t) => {
  const consul = new FakeConsul();
  consul.set('mixed', [entry('mixed-1', '10.0.3.1'), entry('mixed-2', '10.0.3.2', 0), entry('mixed-3', 'not a host!'), { Node: {}, Checks: [] }]);
  consul.set('fine', [entry('fine-1', '10.0.4.1', 80)]);
  consul.set('a/b', [entry('ab-1', '10.0.5.1')]);
  const f = follow(t, consul);
  await f.start();
  assert.equal(f.reg.hasSynced(), true);
  assert.deepEqual(f.ips('mixed'), ['10.0.3.1']);
  assert.deepEqual(f.ips('fine'), ['10.0.4.1']);
  assert.deepEqual(f.rec.codes().sort(), [ErrorCode.ENTRY_BAD_ADDRESS, ErrorCode.ENTRY_BAD_PORT, ErrorCode.ENTRY_INVALID, ErrorCode.ENTRY_INVALID]);
  assert.ok(f.rec.problems.some((p) => p.code === ErrorCode.ENTRY_INVALID && /API path/.test(p.message)), 'a name unusable in a path');
  assert.equal(f.reg.status().connected, true);
});
