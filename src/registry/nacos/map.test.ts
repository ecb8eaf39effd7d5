import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lastRefTime, mapServiceInfo, parseServiceKey, type MapOptions } from './map.js';

const o: MapOptions = { registry: 'n', source: 'nacos://127.0.0.1:8848', clusterAsSubzone: true, defaultProtocol: 'TCP' };
const ref = { namespace: 'public', group: 'DEFAULT_GROUP', name: 'svc' };
const host = (over: Record<string, unknown>) => ({ ip: '10.0.0.1', port: 80, weight: 1, healthy: true, enabled: true, clusterName: 'DEFAULT', metadata: {}, ...over });

test('nacos map: table of instances -> endpoints and coded problems', () => {
  const cases: Array<{ what: string; hosts: unknown[]; endpoints: string[]; codes: string[] }> = [
    { what: 'plain', hosts: [host({})], endpoints: ['10.0.0.1:80 w100 healthy'], codes: [] },
    { what: 'unhealthy kept', hosts: [host({ healthy: false })], endpoints: ['10.0.0.1:80 w100 unhealthy'], codes: [] },
    { what: 'disabled left out silently', hosts: [host({ enabled: false }), host({ ip: '10.0.0.2' })], endpoints: ['10.0.0.2:80 w100 healthy'], codes: [] },
    { what: 'bad ip', hosts: [host({ ip: 'a b' }), host({ ip: '10.0.0.2' })], endpoints: ['10.0.0.2:80 w100 healthy'], codes: ['MB_ENTRY_BAD_ADDRESS'] },
    { what: 'bad port', hosts: [host({ port: 0 }), host({ port: 70000 }), host({ ip: '10.0.0.2' })], endpoints: ['10.0.0.2:80 w100 healthy'], codes: ['MB_ENTRY_BAD_PORT', 'MB_ENTRY_BAD_PORT'] },
    { what: 'bad weight', hosts: [host({ weight: -1 }), host({ weight: 'x' })], endpoints: [], codes: ['MB_ENTRY_INVALID', 'MB_ENTRY_INVALID'] },
    { what: 'fractional weight scaled', hosts: [host({ weight: 0.5 })], endpoints: ['10.0.0.1:80 w50 healthy'], codes: [] },
    { what: 'not a mapping', hosts: [null, 'x', host({})], endpoints: ['10.0.0.1:80 w100 healthy'], codes: ['MB_ENTRY_INVALID', 'MB_ENTRY_INVALID'] },
    { what: 'dns name', hosts: [host({ ip: 'svc.example.com' })], endpoints: ['svc.example.com:80 w100 healthy'], codes: [] },
  ];
  for (const c of cases) {
    const r = mapServiceInfo(ref, { hosts: c.hosts, lastRefTime: 5 }, o);
    const eps = r.value.endpoints.map((e) => `${e.address}:${Object.values(e.ports)[0]} w${e.weight ?? ''} ${e.health}`);
    assert.deepEqual(eps, c.endpoints, c.what);
    assert.deepEqual(r.problems.map((p) => p.code), c.codes, c.what);
  }
});

test('nacos map: port is the most common instance port; protocol from metadata; cluster as subzone; labels', () => {
  const r = mapServiceInfo(
    ref,
    {
      hosts: [
        host({ port: 8081, metadata: { protocol: 'grpc', v: '1' }, clusterName: 'c1' }),
        host({ ip: '10.0.0.2', port: 8080 }),
        host({ ip: '10.0.0.3', port: 8080, metadata: { n: 3 } }),
      ],
    },
    o,
  );
  assert.deepEqual(r.value.ports, [{ number: 8080, name: 'grpc', protocol: 'GRPC' }]);
  assert.deepEqual(r.value.endpoints[0]?.ports, { grpc: 8081 });
  assert.deepEqual(r.value.endpoints[0]?.locality, { subzone: 'c1' });
  assert.deepEqual(r.value.endpoints[0]?.labels, { protocol: 'grpc', v: '1' });
  assert.equal(r.value.endpoints[1]?.locality, undefined, 'DEFAULT cluster is no locality');
  assert.deepEqual(r.problems.map((p) => p.code), ['MB_ENTRY_INVALID'], 'non-string metadata value dropped');
  assert.deepEqual(r.value.attributes, { group: 'DEFAULT_GROUP' });
  assert.equal(mapServiceInfo(ref, { hosts: [host({ clusterName: 'c1' })] }, { ...o, clusterAsSubzone: false }).value.endpoints[0]?.locality, undefined);
  assert.deepEqual(mapServiceInfo(ref, { hosts: [] }, o).value.ports, []);
});

test('nacos map: lastRefTime and fuzzy-watch service keys', () => {
  assert.equal(lastRefTime({ lastRefTime: 42 }), 42);
  assert.equal(lastRefTime(null), 0);
  assert.deepEqual(parseServiceKey('public@@DEFAULT_GROUP@@a'), { namespace: 'public', group: 'DEFAULT_GROUP', name: 'a' });
  assert.equal(parseServiceKey('a@@b'), undefined);
  assert.equal(parseServiceKey(3), undefined);
});
