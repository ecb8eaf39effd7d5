import { test } from 'node:test';
import assert from 'node:assert/strict';
import { claimOf, listenerKey, splitKey, type ListenerClaim } from '../convert/addresses.js';
import type { AddressMode } from '../convert/address-mode.js';
import { ResourceKind, type IstioResource } from '../snapshot/index.js';
import { AddressIndex } from './address-index.js';
import { VipPool } from './vip-pool.js';

interface HostSpec {
  readonly ports: ReadonlyArray<{ readonly number: number; readonly protocol: string }>;
  readonly ips: readonly string[];
}

function claim(host: string, h: HostSpec): ListenerClaim {
  const se: IstioResource = {
    kind: ResourceKind.ServiceEntry,
    namespace: 'ns',
    name: host,
    key: `ServiceEntry/ns/${host}`,
    labels: { 'meshbridge.io/registry': 'r' },
    annotations: {},
    spec: {
      hosts: [host],
      ports: h.ports.map((p) => ({ ...p, name: `${p.protocol.toLowerCase()}-${p.number}` })),
      resolution: 'STATIC',
      endpoints: h.ips.map((address) => ({ address })),
    },
    version: 'v',
  };
  const c = claimOf(host, [se]);
  assert.ok(c);
  return c;
}

const TCP = (n: number) => ({ number: n, protocol: 'TCP' });
const HTTP = (n: number) => ({ number: n, protocol: 'HTTP' });

function index(hosts: Record<string, HostSpec>, mode: AddressMode = 'providers'): AddressIndex {
  const ix = new AddressIndex(new VipPool('240.241.0.0/16'));
  for (const [h, spec] of Object.entries(hosts)) ix.update(h, claim(h, spec), mode);
  ix.settle();
  return ix;
}

const isVip = (a: string): boolean => a.startsWith('240.241.');

/**
 * What a sidecar does with the published entries, modelled the way istiod builds them (checked
 * from the data plane): every (address, TCP port) of a ServiceEntry is one listener; an HTTP port
 * gets one virtual host per entry whose domains hold the entry's FIRST address only (istiod makes
 * one Service per address and keeps the first per host). Checks, for every
 * provider ip:port of every host, that a connection there lands on exactly one entry whose
 * endpoints all serve that host, and that no two entries claim one address on a port.
 */
function assertRoutesRight(ix: AddressIndex, hosts: Record<string, HostSpec>): void {
  const owners = new Map<string, Set<string>>();
  for (const [h, spec] of Object.entries(hosts)) {
    for (const ip of spec.ips) for (const p of spec.ports) {
      const k = listenerKey(ip, p.number);
      let s = owners.get(k);
      if (s === undefined) owners.set(k, (s = new Set()));
      s.add(h);
    }
  }
  // listener (address|port) -> the endpoints (ip|port keys) of the entry behind it
  const listeners = new Map<string, { who: string; endpoints: readonly string[] }>();
  const httpPorts = new Set<number>();
  for (const spec of Object.values(hosts)) for (const p of spec.ports) if (p.protocol !== 'TCP') httpPorts.add(p.number);
  const claimL = (addr: string, port: number, who: string, endpoints: readonly string[], index: number): void => {
    if (httpPorts.has(port) && index > 0) return; // no virtual-host domain for it: it would pass through
    const k = listenerKey(addr, port);
    const had = listeners.get(k);
    assert.equal(had, undefined, `listener ${k} claimed by ${had?.who} and ${who}`);
    listeners.set(k, { who, endpoints });
  };
  for (const [h, spec] of Object.entries(hosts)) {
    for (const [i, a] of ix.addressesOf(h).entries()) for (const p of spec.ports) claimL(a, p.number, h, spec.ips.map((ip) => listenerKey(ip, p.number)), i);
  }
  for (const r of ix.sharedResources()) {
    const s = r.spec as { addresses: string[]; ports: Array<{ number: number }>; endpoints: Array<{ address: string }> };
    assert.ok(s.addresses.length <= 8);
    for (const [i, a] of s.addresses.entries()) for (const p of s.ports) claimL(a, p.number, r.name, s.endpoints.map((e) => listenerKey(e.address, p.number)), i);
  }
  for (const [k, hs] of owners) {
    const l = listeners.get(k);
    assert.ok(l !== undefined, `provider ${k} (of ${[...hs].join(',')}) has no listener: its traffic would pass through`);
    for (const h of hs) {
      for (const e of l.endpoints) {
        assert.ok(owners.get(e)?.has(h), `a client of ${h} dialling ${k} may be sent to ${e} (${l.who}), which does not serve ${h}`);
      }
    }
  }
}

test('two TCP services on one port with different providers each get their own provider IPs', () => {
  const hosts = { a: { ports: [TCP(20880)], ips: ['127.0.0.11'] }, b: { ports: [TCP(20880)], ips: ['127.0.0.12'] } };
  const ix = index(hosts);
  assert.deepEqual(ix.addressesOf('a'), ['127.0.0.11']);
  assert.deepEqual(ix.addressesOf('b'), ['127.0.0.12']);
  assert.deepEqual(ix.sharedResources(), []);
  assertRoutesRight(ix, hosts);
});

test('one process exporting A and B, another only A: the shared ip:port gets an entry serving both', () => {
  const hosts = { a: { ports: [TCP(20880)], ips: ['10.0.0.1', '10.0.0.2'] }, b: { ports: [TCP(20880)], ips: ['10.0.0.1'] } };
  const ix = index(hosts);
  assert.deepEqual(ix.addressesOf('a'), ['10.0.0.2']);
  const b = ix.addressesOf('b');
  assert.equal(b.length, 1);
  assert.ok(isVip(b[0]!), `b has no IP of its own: a VIP, got ${b.join()}`);
  const shared = ix.sharedResources();
  assert.equal(shared.length, 1);
  const spec = shared[0]!.spec as Record<string, unknown>;
  assert.deepEqual(spec['addresses'], ['10.0.0.1']);
  assert.deepEqual(spec['endpoints'], [{ address: '10.0.0.1' }]);
  assert.deepEqual(spec['ports'], [{ number: 20880, name: 'tcp-20880', protocol: 'TCP' }]);
  assert.equal(shared[0]!.annotations['meshbridge.io/serves'], 'a,b');
  assert.equal(shared[0]!.labels['meshbridge.io/shared'], 'true');
  assertRoutesRight(ix, hosts);
});

test('an HTTP service without an IP of its own gets no VIP (HTTP routes by host on the wildcard listener)', () => {
  const hosts = { a: { ports: [HTTP(8080)], ips: ['10.0.0.1'] }, b: { ports: [HTTP(8080)], ips: ['10.0.0.1'] } };
  const ix = index(hosts);
  assert.deepEqual(ix.addressesOf('a'), []);
  assert.deepEqual(ix.addressesOf('b'), []);
  assert.equal(ix.sharedResources().length, 1);
  assert.equal((ix.sharedResources()[0]!.spec['ports'] as Array<{ protocol: string }>)[0]!.protocol, 'HTTP');
  assertRoutesRight(ix, hosts);
});

test('an IP shared on one port of a two-port service is not that service\'s address on any port', () => {
  const hosts = { a: { ports: [TCP(20880), HTTP(8080)], ips: ['10.0.0.1', '10.0.0.2'] }, b: { ports: [HTTP(8080)], ips: ['10.0.0.1'] } };
  const ix = index(hosts);
  assert.deepEqual(ix.addressesOf('a'), ['10.0.0.2']);
  // 10.0.0.1:20880 is a's alone, but a cannot take 10.0.0.1 (it would claim 10.0.0.1:8080 too).
  const sigs = ix.sharedGroups().map((g) => `${g.port}:${g.hosts.join(',')}`);
  assert.deepEqual(sigs, ['8080:a,b', '20880:a']);
  assertRoutesRight(ix, hosts);
});

test('more than 8 own IPs (TCP): the rest go to chunk entries of at most 8 (EDS cost per address)', () => {
  const ips = Array.from({ length: 600 }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
  const hosts = { big: { ports: [TCP(9000)], ips } };
  const ix = index(hosts);
  assert.equal(ix.addressesOf('big').length, 8);
  const sizes = ix.sharedResources().map((r) => (r.spec['addresses'] as string[]).length);
  assert.equal(sizes.reduce((a, b) => a + b, 0), 600 - 8);
  assert.ok(sizes.every((n) => n <= 8));
  // Each chunk lists only its own endpoints: the address x endpoint product stays linear.
  for (const r of ix.sharedResources()) assert.equal((r.spec['endpoints'] as unknown[]).length, (r.spec['addresses'] as unknown[]).length);
  assertRoutesRight(ix, hosts);
});

test('an HTTP service with several own IPs: one address on its entry, one chunk entry per further IP', () => {
  const hosts = { web: { ports: [HTTP(8080)], ips: ['10.2.0.1', '10.2.0.2', '10.2.0.3'] }, other: { ports: [HTTP(8080)], ips: ['10.2.0.9'] } };
  const ix = index(hosts);
  assert.deepEqual(ix.addressesOf('web'), ['10.2.0.1']);
  assert.deepEqual(ix.addressesOf('other'), ['10.2.0.9']);
  assert.deepEqual(ix.sharedResources().map((r) => (r.spec['addresses'] as string[]).join(',')).sort(), ['10.2.0.2', '10.2.0.3']);
  for (const r of ix.sharedResources()) assert.equal(r.annotations['meshbridge.io/serves'], 'web');
  assertRoutesRight(ix, hosts);
});

test('when B leaves, A gets the formerly shared IP back and the shared entry goes', () => {
  const ix = new AddressIndex(new VipPool('240.241.0.0/16'));
  const a = claim('a', { ports: [TCP(20880)], ips: ['10.0.0.1', '10.0.0.2'] });
  ix.update('a', a, 'providers');
  ix.update('b', claim('b', { ports: [TCP(20880)], ips: ['10.0.0.1'] }), 'providers');
  ix.settle();
  assert.equal(ix.sharedResources().length, 1);
  ix.update('b', undefined, 'providers');
  const r = ix.settle();
  assert.deepEqual([...r.hosts].sort(), ['a', 'b']);
  assert.equal(r.sharedChanged, true);
  assert.deepEqual(ix.addressesOf('a'), ['10.0.0.1', '10.0.0.2']);
  assert.deepEqual(ix.sharedResources(), []);
  assert.equal(ix.stats().vips, 0, 'b released its VIP');
});

test('modes: vip gives every host one VIP and claims no provider IP; none gives nothing', () => {
  const hosts = { a: { ports: [TCP(20880)], ips: ['10.0.0.1'] }, b: { ports: [HTTP(8080)], ips: ['10.0.0.1'] } };
  const v = index(hosts, 'vip');
  assert.ok(isVip(v.addressesOf('a')[0]!) && isVip(v.addressesOf('b')[0]!));
  assert.notEqual(v.addressesOf('a')[0], v.addressesOf('b')[0]);
  assert.deepEqual(v.sharedResources(), []);
  const n = index(hosts, 'none');
  assert.deepEqual([n.addressesOf('a'), n.addressesOf('b'), n.sharedResources()], [[], [], []]);
});

test('endpoints listening on another port than the service port claim no listener at the service port', () => {
  const se: IstioResource = {
    kind: ResourceKind.ServiceEntry,
    namespace: 'ns',
    name: 'a',
    key: 'ServiceEntry/ns/a',
    labels: {},
    annotations: {},
    spec: {
      hosts: ['a'],
      ports: [{ number: 20880, name: 'dubbo', protocol: 'TCP' }],
      endpoints: [{ address: '10.0.0.1' }, { address: '10.0.0.2', ports: { dubbo: 20881 } }, { address: 'db.example.com' }],
    },
    version: 'v',
  };
  assert.deepEqual(claimOf('a', [se])?.keys, ['10.0.0.1|20880']);
});

/** A deterministic PRNG (mulberry32), so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('random histories: incremental settles equal a from-scratch index and always route right', () => {
  const rand = rng(20261202);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const ipPool = Array.from({ length: 12 }, (_, i) => `10.9.0.${i + 1}`);
  const portPool = [TCP(20880), TCP(20881), HTTP(8080), { number: 50051, protocol: 'GRPC' }];
  for (let run = 0; run < 30; run++) {
    const ix = new AddressIndex(new VipPool('240.241.0.0/16'));
    const hosts: Record<string, HostSpec> = {};
    for (let step = 0; step < 40; step++) {
      const changes = 1 + Math.floor(rand() * 4);
      for (let c = 0; c < changes; c++) {
        const h = `h${Math.floor(rand() * 10)}`;
        if (rand() < 0.2) {
          delete hosts[h];
          ix.update(h, undefined, 'providers');
          continue;
        }
        const ports = [...new Map(Array.from({ length: 1 + Math.floor(rand() * 2) }, () => pick(portPool)).map((p) => [p.number, p])).values()];
        const ips = [...new Set(Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pick(ipPool)))];
        hosts[h] = { ports, ips };
        ix.update(h, claim(h, hosts[h]), 'providers');
      }
      ix.settle();
      const fresh = index(hosts);
      for (const h of Object.keys(hosts)) {
        const got = ix.addressesOf(h);
        const want = fresh.addressesOf(h);
        if (want.length === 1 && isVip(want[0]!)) assert.ok(got.length === 1 && isVip(got[0]!), `run ${run} step ${step}: ${h} should hold a VIP, has ${got.join()}`);
        else assert.deepEqual(got, want, `run ${run} step ${step}: addresses of ${h}`);
      }
      assert.deepEqual(
        ix.sharedResources().map((r) => [r.key, r.version]),
        fresh.sharedResources().map((r) => [r.key, r.version]),
        `run ${run} step ${step}: shared entries`,
      );
      assertRoutesRight(ix, hosts);
    }
  }
});

test('splitKey undoes listenerKey for IPv4 and IPv6', () => {
  assert.deepEqual(splitKey(listenerKey('10.0.0.1', 80)), { ip: '10.0.0.1', port: 80 });
  assert.deepEqual(splitKey(listenerKey('fd00::1', 8080)), { ip: 'fd00::1', port: 8080 });
});
