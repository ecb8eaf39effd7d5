import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../errors/index.js';
import { adapterCommon, kindSettings } from '../testing/adapter-options.js';
import { addressesOf, expectOutage, expectSecondStartRefused, Recorder, until } from '../testing/adapter-run.js';
import { NacosRequestError, type ConnectionOptions, type NacosConnectionLike } from './connection.js';
import { NacosRegistry } from './nacos-registry.js';

const GROUP = 'DEFAULT_GROUP';
const host = (ip: string, port: unknown = 8080) => ({ ip, port, weight: 1, healthy: true, enabled: true, clusterName: 'DEFAULT', metadata: {} });

interface Session {
  readonly options: ConnectionOptions;
  closed: boolean;
}

/**
 * A Nacos naming server (namespace public, DEFAULT_GROUP) behind the adapter's connection seam:
 * it answers ServiceListRequest page by page and SubscribeServiceRequest with the full instance
 * list, offers fuzzy watch when `fuzzy` (3.x) or refuses it (2.x), and pushes through the
 * options each connection was built with. While `down` every connection attempt is refused.
 */
class FakeNacos {
  down = false;
  refused = 0;
  refTime = 1;
  readonly requests: string[] = [];
  readonly sessions: Session[] = [];
  private readonly services = new Map<string, unknown[]>();

  constructor(readonly fuzzy: boolean) {}

  connect = (options: ConnectionOptions): NacosConnectionLike => {
    const s: Session = { options, closed: false };
    this.sessions.push(s);
    return {
      open: () => (this.down ? this.refuse('ServerCheckRequest failed: No connection established') : Promise.resolve()),
      request: (type, body) => (s.closed ? Promise.reject(new Error('connection is closed')) : this.request(type, body as Record<string, unknown>)),
      close: () => {
        s.closed = true;
      },
    };
  };

  /** Registers (or replaces) a service's instances; `undefined` deletes it. */
  set(name: string, hosts: unknown[] | undefined): void {
    if (hosts === undefined) this.services.delete(name);
    else this.services.set(name, hosts);
    this.refTime += 1;
  }

  /** A NotifySubscriberRequest with the current instances (Nacos 3.x's carry no namespace). */
  push(name: string, o: { namespace?: boolean; refTime?: number } = {}): void {
    const body = { ...(o.namespace !== false ? { namespace: 'public' } : {}), groupName: GROUP, serviceName: `${GROUP}@@${name}`, serviceInfo: this.info(name, o.refTime) };
    this.live().options.onPush({ type: 'NotifySubscriberRequest', headers: {}, body });
  }

  fuzzyPush(name: string, changedType: 'ADD_SERVICE' | 'DELETE_SERVICE'): void {
    this.live().options.onPush({ type: 'NamingFuzzyWatchChangeNotifyRequest', headers: {}, body: { serviceKey: `public@@${GROUP}@@${name}`, changedType } });
  }

  /** The server goes away: the live connection ends, and reconnecting is refused until it is back. */
  setDown(down: boolean): void {
    this.down = down;
    if (down) this.live().options.onClosed(new Error('stream failed: Connection dropped'));
  }

  private live(): Session {
    const s = this.sessions.findLast((x) => !x.closed);
    assert.ok(s !== undefined, 'no open connection');
    return s;
  }

  private info(name: string, refTime = this.refTime): object {
    return { name: `${GROUP}@@${name}`, groupName: GROUP, hosts: this.services.get(name) ?? [], lastRefTime: refTime };
  }

  private refuse(message: string): Promise<never> {
    this.refused += 1;
    return Promise.reject(new Error(message));
  }

  private request(type: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.requests.push(type);
    if (this.down) return this.refuse(`${type} failed: No connection established`);
    if (type === 'ServiceListRequest') {
      const names = [...this.services.keys()].sort();
      const [pageNo, pageSize] = [Number(body['pageNo']), Number(body['pageSize'])];
      return Promise.resolve({ count: names.length, serviceNames: names.slice((pageNo - 1) * pageSize, pageNo * pageSize) });
    }
    if (type === 'SubscribeServiceRequest') return Promise.resolve({ serviceInfo: this.info(String(body['serviceName'])) });
    if (type === 'NamingFuzzyWatchRequest' && this.fuzzy) return Promise.resolve({});
    return Promise.reject(new NacosRequestError(type, 501, `no handler for ${type}`));
  }
}

function follow(t: { after(fn: () => void): void }, nacos: FakeNacos) {
  const rec = new Recorder();
  const ac = new AbortController();
  t.after(() => ac.abort());
  const reg = new NacosRegistry({
    ...kindSettings('nacos', { serverAddr: '127.0.0.1:8848', fuzzyWatch: true }),
    ...adapterCommon('n1', rec.report),
    backoff: { initialMs: 5, maxMs: 20 },
    pageSize: 2,
    connect: nacos.connect,
  });
  rec.follow(reg);
  return { reg, rec, ac, ips: (name: string) => addressesOf(reg, `n1/public/${name}`), start: () => reg.start(ac.signal) };
}

test('nacos: the first listing (paged) upserts every service, then synced; pushes upsert, fuzzy watch adds and deletes', async (t) => {
  const nacos = new FakeNacos(true);
  nacos.set('orders', [host('10.0.0.1')]);
  nacos.set('payments', [host('10.0.1.1', 9000)]);
  nacos.set('stock', [host('10.0.2.1')]);
  const f = follow(t, nacos);
  assert.equal(nacos.sessions.length, 0, 'the constructor does no I/O');
  await f.start();
  assert.equal(f.reg.hasSynced(), true);
  assert.equal(nacos.sessions[0]?.options.target, '127.0.0.1:9848', 'gRPC is the HTTP port + 1000');
  assert.equal(nacos.requests.filter((r) => r === 'ServiceListRequest').length, 2, 'three names in pages of two');
  assert.deepEqual(f.rec.changes().sort(), ['upsert orders 10.0.0.1', 'upsert payments 10.0.1.1', 'upsert stock 10.0.2.1']);
  assert.equal(f.rec.events.filter((e) => e.type === 'synced').length, 1);
  await until('fuzzy watch started', () => nacos.requests.includes('NamingFuzzyWatchRequest'));

  nacos.set('orders', [host('10.0.0.1'), host('10.0.0.2')]);
  nacos.push('orders');
  nacos.set('orders', [host('10.0.0.9')]);
  nacos.push('orders', { refTime: 0 }); // older (lastRefTime) than what is held: ignored
  assert.deepEqual(f.ips('orders'), ['10.0.0.1', '10.0.0.2']);
  nacos.set('payments', [host('10.0.1.2', 9000)]);
  nacos.push('payments', { namespace: false });
  nacos.set('cart', [host('10.0.3.1')]);
  nacos.fuzzyPush('cart', 'ADD_SERVICE');
  await until('cart subscribed', () => f.ips('cart').length === 1);
  nacos.set('stock', undefined);
  nacos.fuzzyPush('stock', 'DELETE_SERVICE');
  await until('stock re-listed away', () => !f.reg.services().has('n1/public/stock'));
  assert.deepEqual(f.rec.changes().slice(3), ['upsert orders 10.0.0.1,10.0.0.2', 'upsert payments 10.0.1.2', 'upsert cart 10.0.3.1', 'delete stock']);
  assert.deepEqual(f.rec.problems, []);
  await expectSecondStartRefused(f.reg, f.ac.signal);
});

test('nacos: unreachable keeps the services (stale), reports each distinct failure once, converges on reconnect', async (t) => {
  const nacos = new FakeNacos(false);
  nacos.set('orders', [host('10.0.0.1')]);
  nacos.set('payments', [host('10.0.1.1')]);
  const f = follow(t, nacos);
  await f.start();
  // The stream fails once, then every reconnect is refused alike: two reports, not one per attempt.
  await expectOutage({ reg: f.reg, rec: f.rec, refused: () => nacos.refused, down: () => nacos.setDown(true), reports: 2 });
  assert.ok(f.rec.problems.every((p) => /keeping the last known services/.test(p.message)));

  nacos.set('orders', [host('10.0.0.1'), host('10.0.0.2')]);
  nacos.set('payments', undefined);
  nacos.set('cart', [host('10.0.3.1')]);
  nacos.setDown(false);
  await until('converged', () => f.reg.status().connected && f.ips('orders').length === 2 && f.ips('cart').length === 1 && !f.reg.services().has('n1/public/payments'));
  assert.equal(f.reg.status().stale, false);
  assert.equal(f.reg.status().lastError, undefined);
  assert.equal(f.rec.count(ErrorCode.REGISTRY_UNREACHABLE), 2);
});

test('nacos: malformed instances are skipped with their MB_ENTRY_* codes (once per content) while neighbours sync', async (t) => {
  const nacos = new FakeNacos(false);
  nacos.set('orders', [host('10.0.0.1'), host('not a host!'), host('10.0.0.3', 0), null]);
  nacos.set('payments', [host('10.0.1.1')]);
  const f = follow(t, nacos);
  await f.start();
  assert.deepEqual(f.ips('orders'), ['10.0.0.1']);
  assert.deepEqual(f.ips('payments'), ['10.0.1.1']);
  assert.deepEqual(f.rec.codes().sort(), [ErrorCode.ENTRY_BAD_ADDRESS, ErrorCode.ENTRY_BAD_PORT, ErrorCode.ENTRY_INVALID]);
  nacos.set('orders', [host('10.0.0.1'), host('not a host!'), host('10.0.0.3', 0), null]);
  nacos.push('orders');
  assert.equal(f.rec.problems.length, 3, 'the same content is not reported again');
  nacos.set('orders', [host('10.0.0.1'), host('10.0.0.2')]);
  nacos.push('orders');
  assert.deepEqual(f.ips('orders'), ['10.0.0.1', '10.0.0.2']);
  assert.equal(f.rec.problems.length, 3);
});
