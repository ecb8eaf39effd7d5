import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, MeshbridgeError } from '../../errors/index.js';
import { parseConfig } from '../../config/load.js';

const cfg = (block: string): string => `
registries:
  - name: dubbo
    kind: zookeeper
    namespace: dubbo
    zookeeper: ${block}
sinks: {render: {}}
`;

function zkOf(text: string, env: Record<string, string> = {}) {
  const r = parseConfig(text, { sourcePath: '/etc/mb/c.yaml', env }).registries[0];
  assert.ok(r?.kind === 'zookeeper');
  return { r, zk: r.zookeeper };
}

function problem(text: string): string {
  try {
    parseConfig(text, { sourcePath: '/etc/mb/c.yaml', env: {} });
  } catch (e) {
    assert.ok(e instanceof MeshbridgeError);
    assert.equal(e.code, ErrorCode.CONFIG_INVALID);
    return e.message;
  }
  return assert.fail('config was accepted');
}

test('zookeeper block: defaults, server list, chroot, digest from the environment', () => {
  const { r, zk } = zkOf(cfg('{servers: "zk1:2181, zk2:2181"}'));
  assert.deepEqual(zk, {
    connectString: 'zk1:2181,zk2:2181',
    sessionTimeoutMs: 30000,
    auth: undefined,
    dubbo: { levels: 'interface', root: '/dubbo', servicesPath: '/services' },
    curator: undefined,
    maxConcurrentReads: 64,
  });
  assert.equal(r.hostTemplate, '{name}');
  const { zk: z2 } = zkOf(
    cfg('{servers: ["10.0.0.1:2181", "[::1]:2181"], chroot: /prod, auth: {username: "${ENV:ZK_USER}", password: "${ENV:ZK_PW}"}, dubbo: {levels: both}, curator: {basePath: /sc}}'),
    { ZK_USER: 'mb', ZK_PW: 'pw' },
  );
  assert.equal(z2.connectString, '10.0.0.1:2181,[::1]:2181/prod');
  assert.deepEqual(z2.auth, { scheme: 'digest', username: 'mb', password: 'pw' });
  assert.deepEqual(z2.curator, { basePath: '/sc', protocol: 'http' });
  assert.equal(zkOf(cfg('{servers: "zk1:2181/tenant"}')).zk.connectString, 'zk1:2181/tenant');
});

test('zookeeper block: problems name the key', () => {
  assert.match(problem(cfg('{servers: "zk1"}')), /zookeeper\.servers: "zk1" is not host:port/);
  assert.match(problem(cfg('{servers: ["zk1:2181", "zk2:99999"]}')), /zookeeper\.servers\[1\]/);
  assert.match(problem(cfg('{servers: "zk1:2181/a", chroot: /b}')), /zookeeper\.chroot: the connect string already names a chroot/);
  assert.match(problem(cfg('{servers: "zk1:2181", dubbo: {root: "dubbo/"}}')), /zookeeper\.dubbo\.root/);
  assert.match(problem(cfg('{servers: "zk1:2181", dubbo: {root: /a/../b}}')), /zookeeper\.dubbo\.root: must not contain/);
  assert.match(problem(cfg('{servers: "zk1:2181", dubbo: {levels: all}}')), /zookeeper\.dubbo\.levels/);
  assert.match(problem(cfg('{servers: "zk1:2181", dubbo: {levels: both}, curator: {basePath: /services}}')), /zookeeper\.curator\.basePath: is also dubbo\.servicesPath/);
  assert.match(problem(cfg('{servers: "zk1:2181", auth: {username: u}}')), /password/);
});
