import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapInstance } from './instance.js';
import { LocalApps, type StoredInstance } from './local-apps.js';
import { serviceFromStored } from './services.js';
import { HostFrom } from './instance.js';
import type { WireInstance, InstanceStatus, ActionType } from './wire.js';

function inst(app: string, id: string, o: { status?: InstanceStatus; action?: ActionType; ip?: string; port?: number; meta?: Record<string, string> } = {}): WireInstance {
  return {
    id,
    app,
    status: o.status ?? 'UP',
    actionType: o.action,
    raw: { instanceId: id, app, ipAddr: o.ip ?? '10.0.0.1', status: o.status ?? 'UP', port: { $: o.port ?? 8080, '@enabled': 'true' }, metadata: o.meta ?? {} },
  };
}

function setup() {
  const problems: StoredInstance[] = [];
  const local = new LocalApps({ map: (i) => mapInstance(i, 't'), onProblem: (i) => problems.push(i) });
  return { local, problems };
}

test('local copy: full replace and deltas report only real changes; hash follows', () => {
  const { local, problems } = setup();
  assert.deepEqual([...local.replace([inst('A', '1'), inst('A', '2'), inst('B', '1', { status: 'DOWN' })])].sort(), ['A', 'B']);
  assert.equal(local.hashCode(), 'DOWN_1_UP_2_');
  // The same listing again (timestamps aside): nothing changed.
  assert.equal(local.replace([inst('A', '1'), inst('A', '2'), inst('B', '1', { status: 'DOWN' })]).size, 0);
  // A delta repeating what is held changes nothing.
  assert.equal(local.applyDelta([inst('A', '1', { action: 'ADDED' }), inst('A', '2', { action: 'MODIFIED' })]).size, 0);
  // MODIFIED status, ADDED in a new app, DELETED the last of B.
  const dirty = local.applyDelta([inst('A', '2', { action: 'MODIFIED', status: 'OUT_OF_SERVICE' }), inst('C', '1', { action: 'ADDED' }), inst('B', '1', { action: 'DELETED' })]);
  assert.deepEqual([...dirty].sort(), ['A', 'B', 'C']);
  assert.deepEqual([...local.appNames()].sort(), ['A', 'C']);
  assert.equal(local.hashCode(), 'OUT_OF_SERVICE_1_UP_2_');
  // Deleting what is not held, and unknown action types, change nothing.
  assert.equal(local.applyDelta([inst('Z', '9', { action: 'DELETED' }), inst('A', '1')]).size, 0);
  // A full listing drops what it does not name.
  assert.deepEqual([...local.replace([inst('A', '1')])].sort(), ['A', 'C']);
  assert.equal(local.hashCode(), 'UP_1_');
  assert.equal(problems.length, 0);
});

test('local copy: malformed instances are held (hash) and reported once per content', () => {
  const { local, problems } = setup();
  local.replace([inst('A', '1'), inst('A', '2', { ip: 'bad ip' })]);
  assert.equal(local.hashCode(), 'UP_2_');
  assert.equal(problems.length, 1);
  local.replace([inst('A', '1'), inst('A', '2', { ip: 'bad ip' })]);
  local.applyDelta([inst('A', '2', { action: 'MODIFIED', ip: 'bad ip' })]);
  assert.equal(problems.length, 1);
  local.applyDelta([inst('A', '2', { action: 'MODIFIED', port: 0 })]);
  assert.deepEqual(problems.map((p) => (p.mapped.value === undefined ? (p.mapped.problems[0]?.code ?? '') : 'ok')), ['MB_ENTRY_BAD_ADDRESS', 'MB_ENTRY_BAD_PORT']);
});

test('services: UP endpoints only by default, ports by the most common number, DOWN keeps the host', () => {
  const { local } = setup();
  local.replace([
    inst('A', '1', { port: 8080, meta: { weight: '3' } }),
    inst('A', '2', { port: 8081, ip: '10.0.0.2' }),
    inst('A', '3', { port: 8081, ip: '10.0.0.3' }),
    inst('A', '4', { status: 'DOWN', ip: '10.0.0.4' }),
    inst('A', '5', { ip: 'bad!' }),
  ]);
  const o = { registry: 'r', hostFrom: HostFrom.APP, statuses: new Set(['UP']) };
  const s = serviceFromStored('a', [...local.instancesOf('A')], o);
  assert.ok(s);
  assert.equal(s.name, 'a');
  assert.deepEqual(s.attributes, { app: 'A' });
  assert.deepEqual(s.ports, [{ number: 8081, name: 'http', protocol: 'HTTP' }]);
  assert.deepEqual(
    s.endpoints.map((e) => [e.instanceId, e.address, e.ports['http'], e.weight, e.health]),
    [
      ['1', '10.0.0.1', 8080, 3, 'healthy'],
      ['2', '10.0.0.2', 8081, undefined, 'healthy'],
      ['3', '10.0.0.3', 8081, undefined, 'healthy'],
    ],
  );
  const withDown = serviceFromStored('a', [...local.instancesOf('A')], { ...o, statuses: new Set(['UP', 'DOWN']) });
  assert.equal(withDown?.endpoints.length, 4);
  const { local: l2 } = setup();
  l2.replace([inst('B', '1', { status: 'DOWN', port: 9000 })]);
  const down = serviceFromStored('b', [...l2.instancesOf('B')], o);
  assert.deepEqual(down?.ports, [{ number: 9000, name: 'http', protocol: 'HTTP' }]);
  assert.equal(down?.endpoints.length, 0);
  l2.replace([inst('B', '1', { ip: 'bad!' })]);
  assert.equal(serviceFromStored('b', [...l2.instancesOf('B')], o), undefined);
});
