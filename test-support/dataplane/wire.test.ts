import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xdsRoot } from './protos.js';
import { claAddresses } from './lean-sidecar.js';
import { encodeStruct, fields, lenField, message, str, varint } from './wire.js';

const encode = (type: string, obj: Record<string, unknown>): Buffer => {
  const t = xdsRoot().lookupType(type);
  return Buffer.from(t.encode(t.fromObject(obj)).finish());
};

test('claAddresses reads the socket addresses of a ClusterLoadAssignment encoded by the envoy protos', () => {
  const cla = encode('envoy.config.endpoint.v3.ClusterLoadAssignment', {
    cluster_name: 'outbound|8080||a.example',
    endpoints: [
      { locality: { zone: 'z1' }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 8080 } } }, load_balancing_weight: { value: 3 } }] },
      { lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.2', port_value: 8080 } }, hostname: 'h' } }, { endpoint: { address: { socket_address: { address: '10.0.0.3', port_value: 9 } } } }] },
    ],
  });
  assert.equal(str(cla, 1), 'outbound|8080||a.example');
  assert.deepEqual(claAddresses(cla), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
});

test('cluster type and eds service name are read where envoy puts them', () => {
  const c = encode('envoy.config.cluster.v3.Cluster', { name: 'outbound|80||b', type: 'EDS', eds_cluster_config: { service_name: 'outbound|80||b', eds_config: { ads: {} } }, connect_timeout: { seconds: 10 } });
  assert.equal(varint(c, 2), 3);
  assert.equal(str(message(c, 3)!, 2), 'outbound|80||b');
  const s = encode('envoy.config.cluster.v3.Cluster', { name: 'static', type: 'STATIC' });
  assert.equal(varint(s, 2), 0, 'proto3 leaves the zero enum out');
});

test('a hand-written DiscoveryRequest node decodes with the envoy protos', () => {
  const node = Buffer.concat([lenField(1, 'sidecar~1.2.3.4~p.ns~ns.svc.cluster.local'), lenField(3, encodeStruct({ NAMESPACE: 'ns' }, { LABELS: { app: 'p' } })), lenField(6, 'envoy')]);
  const t = xdsRoot().lookupType('envoy.config.core.v3.Node');
  const o = t.toObject(t.decode(node), { json: true }) as { id: string; metadata: { fields: Record<string, { stringValue?: string; structValue?: { fields: Record<string, { stringValue: string }> } }> }; user_agent_name: string };
  assert.equal(o.id, 'sidecar~1.2.3.4~p.ns~ns.svc.cluster.local');
  assert.equal(o.metadata.fields['NAMESPACE']?.stringValue, 'ns');
  assert.equal(o.metadata.fields['LABELS']?.structValue?.fields['app']?.stringValue, 'p');
  assert.equal(o.user_agent_name, 'envoy');
});

test('truncated messages throw instead of reading past the end', () => {
  const c = encode('envoy.config.cluster.v3.Cluster', { name: 'outbound|80||b' });
  assert.throws(() => [...fields(c.subarray(0, c.length - 2))], /truncated/);
  assert.throws(() => [...fields(Buffer.from([0x80]))], /truncated varint/);
});
