import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, MeshbridgeError } from '../errors/index.js';
import { parseConfig } from './load.js';
import { diffConfig } from './diff.js';
import { conversionOptionsFor } from './options.js';

// registries[].select and registries[].identity: loaded, validated at their key paths, mapped
// into the conversion options, applied live on a reload.

const SRC = '/etc/meshbridge/meshbridge.yaml';

function config(extra: string) {
  return parseConfig(`registries:\n  - name: zk\n    kind: file\n    namespace: mesh\n    file: {path: s.yaml}\n${extra}\nsinks: {render: {}}\n`, { sourcePath: SRC, env: {} });
}

function problems(extra: string): Array<{ path: string; message: string }> {
  try {
    config(extra);
  } catch (e) {
    assert.ok(e instanceof MeshbridgeError);
    assert.equal(e.code, ErrorCode.CONFIG_INVALID, e.message);
    return (e.details as { problems: Array<{ path: string; message: string }> }).problems;
  }
  assert.fail('expected MB_CONFIG_INVALID');
}

const SELECT = `    select:
      services: {include: ["com.shop.*", "/org\\\\.(a|b)\\\\..*/"], exclude: ["*Internal*"]}
      namespaces: {exclude: [dev]}
      attributes: {group: {include: [prod]}}
      endpoints: {metadata: {env: {exclude: [test]}}}
    identity: {serviceAccount: "{labels.application}", map: {CartApp: cart}, fallback: shop-default}`;

test('select and identity are read, endpoints.scope defaulted, and handed to conversion', () => {
  const c = config(SELECT);
  const r = c.registries[0];
  assert.ok(r !== undefined);
  assert.deepEqual(r.select, {
    services: { include: ['com.shop.*', '/org\\.(a|b)\\..*/'], exclude: ['*Internal*'] },
    namespaces: { exclude: ['dev'] },
    attributes: { group: { include: ['prod'] } },
    endpoints: { metadata: { env: { exclude: ['test'] } }, scope: 'endpoints' },
  });
  assert.deepEqual(r.identity, { serviceAccount: '{labels.application}', map: { CartApp: 'cart' }, fallback: 'shop-default' });
  const o = conversionOptionsFor(r);
  assert.equal(o.selection, r.select);
  assert.equal(o.identity, r.identity);
  const plain = conversionOptionsFor(config('').registries[0] ?? assert.fail());
  assert.ok(!('selection' in plain) && !('identity' in plain), 'absent blocks leave the conversion options as before');
});

test('a broken regular expression is MB_CONFIG_INVALID at its key path', () => {
  const ps = problems(`    select:
      services: {include: ["ok.*", "/([a/"]}
      endpoints: {metadata: {zone: {exclude: ["/+/"]}}}`);
  assert.deepEqual(
    ps.map((p) => p.path),
    ['registries[0].select.services.include[1]', 'registries[0].select.endpoints.metadata.zone.exclude[0]'],
  );
  assert.match(ps[0]?.message ?? '', /^invalid regular expression \/\(\[a\/: /);
});

test('identity: unknown placeholders and invalid account names are refused', () => {
  assert.deepEqual(problems('    identity: {serviceAccount: "{app}"}').map((p) => p.path), ['registries[0].identity.serviceAccount']);
  assert.deepEqual(problems('    identity: {serviceAccount: "{labels.app}", fallback: Bad_}').map((p) => p.path), ['registries[0].identity.fallback']);
  assert.deepEqual(problems('    identity: {serviceAccount: "{labels.app}", map: {a: "B"}}').map((p) => p.path), ['registries[0].identity.map.a']);
  assert.deepEqual(problems(`    identity: {serviceAccount: "{labels.app}", fallback: ${'a'.repeat(64)}}`).map((p) => p.path), ['registries[0].identity.fallback'], 'a 64-character label passes the pattern, not the check');
  assert.deepEqual(problems('    select: {endpoints: {scope: services}}').map((p) => p.path), ['registries[0].select.endpoints.metadata']);
  assert.deepEqual(problems('    select: {service: {include: [a]}}').map((p) => p.path), ['registries[0].select.service']);
});

test('changing select or identity is applied live (no adapter restart)', () => {
  const d = diffConfig(config(''), config(SELECT));
  assert.equal(d.changed.length, 1);
  assert.equal(d.changed[0]?.restart, false);
  assert.deepEqual(d.changed[0]?.fields, ['identity', 'select']);
  assert.deepEqual(d.needsRestart, []);
});
