import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../errors/index.js';
import { decodeNodeName, parseDubboUrl } from './dubbo-url.js';
import { interfaceServiceName, parseProviderNode, type ProviderParse } from './providers.js';

/** Java URLEncoder.encode(s, UTF-8), as Dubbo names provider nodes. */
const enc = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+');

test('decodeNodeName: Java form encoding (+ is a space), malformed escapes are undefined', () => {
  assert.equal(decodeNodeName('a+b%2Fc'), 'a b/c');
  assert.equal(decodeNodeName('%E4%BD%A0'), '你');
  assert.equal(decodeNodeName('%ZZ'), undefined);
});

test('parseDubboUrl: table', () => {
  const cases: Array<[string, string | { host: string; port: number; path: string; params: Record<string, string> }]> = [
    ['dubbo://10.0.0.1:20880/com.Foo?a=1&b=2&a=3', { host: '10.0.0.1', port: 20880, path: 'com.Foo', params: { a: '1', b: '2' } }],
    ['tri://[::1]:50051/com.Foo', { host: '::1', port: 50051, path: 'com.Foo', params: {} }],
    ['dubbo://::1:20880/com.Foo', { host: '::1', port: 20880, path: 'com.Foo', params: {} }],
    ['dubbo://user:pw@host.example:1/x?k', { host: 'host.example', port: 1, path: 'x', params: { k: '' } }],
    ['dubbo://10.0.0.1:20880/x?v=a=b', { host: '10.0.0.1', port: 20880, path: 'x', params: { v: 'a=b' } }],
    ['no url here', 'not a URL'],
    ['://x:1/', 'not a URL'],
    ['1x://h:1/', 'bad protocol'],
    ['dubbo://10.0.0.1/x', 'no port'],
    ['dubbo://:20880/x', 'no host'],
    ['dubbo://h:port/x', 'not a number'],
    ['dubbo://[::1/x', 'unterminated'],
  ];
  for (const [text, want] of cases) {
    const r = parseDubboUrl(text);
    if (typeof want === 'string') {
      assert.equal(r.type, 'invalid', text);
      assert.match(r.type === 'invalid' ? r.reason : '', new RegExp(want), text);
    } else {
      assert.equal(r.type, 'ok', text);
      if (r.type !== 'ok') continue;
      assert.deepEqual({ host: r.url.host, port: r.url.port, path: r.url.path, params: Object.fromEntries(r.url.params) }, want, text);
    }
  }
});

test('parseProviderNode: table of what Dubbo writes and what a broken provider might', () => {
  const url = (rest: string, host = '10.0.0.1:20880', proto = 'dubbo'): string => enc(`${proto}://${host}/com.example.Foo?${rest}`);
  const ok = (r: ProviderParse) => (r.type === 'ok' ? r.entry : assert.fail(`expected ok, got ${JSON.stringify(r)}`));
  const base = 'application=demo&side=provider&timestamp=1&pid=7&methods=a,b&interface=com.example.Foo&anyhost=true&token=secret';
  const e = ok(parseProviderNode(url(`${base}&group=g&version=1.0.0&weight=20&env=prod`)));
  assert.deepEqual(e, {
    protocol: 'dubbo',
    address: '10.0.0.1',
    port: 20880,
    group: 'g',
    version: '1.0.0',
    weight: 20,
    labels: { application: 'demo', side: 'provider', group: 'g', version: '1.0.0', env: 'prod' },
    id: 'dubbo://10.0.0.1:20880',
    registeredAt: 1,
  });
  // timestamps and pids do not reach the model: two registrations of one process are equal
  const { registeredAt: t1, ...first } = ok(parseProviderNode(url('application=demo&timestamp=1&pid=1')));
  const { registeredAt: t2, ...second } = ok(parseProviderNode(url('application=demo&timestamp=2&pid=2')));
  assert.deepEqual([first, t1, t2], [second, 1, 2]);
  assert.equal(ok(parseProviderNode(url('a=b', '[::1]:50051', 'tri'))).id, 'tri://[::1]:50051');
  assert.equal(ok(parseProviderNode(url('a=b', 'Host.Example:1'))).address, 'host.example');
  const cases: Array<[string, ProviderParse['type'], ErrorCode?]> = [
    [url('enabled=false'), 'disabled'],
    [url('disabled=true'), 'disabled'],
    [url('category=configurators'), 'ignored'],
    [enc('consumer://10.0.0.1/com.example.Foo?category=consumers'), 'invalid', ErrorCode.ENTRY_INVALID],
    [enc('override://0.0.0.0:0/com.example.Foo?disabled=true'), 'ignored'],
    ['%ZZ', 'invalid', ErrorCode.ENTRY_INVALID],
    [enc('garbage'), 'invalid', ErrorCode.ENTRY_INVALID],
    [url('a=b', '0.0.0.0:20880'), 'invalid', ErrorCode.ENTRY_BAD_ADDRESS],
    [url('a=b', '[::]:20880'), 'invalid', ErrorCode.ENTRY_BAD_ADDRESS],
    [url('a=b', 'bad_host:20880'), 'invalid', ErrorCode.ENTRY_BAD_ADDRESS],
    [url('a=b', 'fe80::1%eth0:20880'), 'invalid', ErrorCode.ENTRY_BAD_ADDRESS],
    [url('a=b', '10.0.0.1:0'), 'invalid', ErrorCode.ENTRY_BAD_PORT],
    [url('a=b', '10.0.0.1:65536'), 'invalid', ErrorCode.ENTRY_BAD_PORT],
    [url('weight=-1'), 'invalid', ErrorCode.ENTRY_INVALID],
    [url('weight=1.5'), 'invalid', ErrorCode.ENTRY_INVALID],
    [url('weight=99999999999'), 'invalid', ErrorCode.ENTRY_INVALID],
  ];
  for (const [node, type, code] of cases) {
    const r = parseProviderNode(node);
    assert.equal(r.type, type, node);
    if (r.type === 'invalid') assert.equal(r.code, code, node);
  }
});

test('interfaceServiceName: [version.][group.]interface', () => {
  assert.equal(interfaceServiceName('com.Foo', '', ''), 'com.Foo');
  assert.equal(interfaceServiceName('com.Foo', 'g', ''), 'g.com.Foo');
  assert.equal(interfaceServiceName('com.Foo', '', '1.0'), '1.0.com.Foo');
  assert.equal(interfaceServiceName('com.Foo', 'g', '1.0'), '1.0.g.com.Foo');
});
