import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../errors/index.js';
import { consumes, consumingApplications, parseConsumerNode, type ConsumerParse } from './consumers.js';
import { Listing, type ListingSink } from './listing.js';
import type { ServiceParts } from './service-parts.js';
import { TaskFactory, type Task } from './tasks.js';

/** Java URLEncoder.encode(s, UTF-8), as Dubbo names registry nodes. */
const enc = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+');
const consumer = (params: string, host = '10.0.0.7'): string => enc(`consumer://${host}/com.example.Foo?${params}`);
const provider = (params: string, port = 20880): string => enc(`dubbo://10.0.0.1:${port}/com.example.Foo?${params}`);

test('parseConsumerNode: what Dubbo writes, and what a broken consumer might', () => {
  const ok = (r: ConsumerParse) => (r.type === 'ok' ? r.entry : assert.fail(`expected ok, got ${JSON.stringify(r)}`));
  assert.deepEqual(ok(parseConsumerNode(consumer('application=shop&category=consumers&side=consumer&group=g1&version=1.0.0&pid=1&timestamp=2'))), {
    application: 'shop',
    group: 'g1',
    version: '1.0.0',
  });
  // No group or version: '' (matches only providers without them); a port is allowed too.
  assert.deepEqual(ok(parseConsumerNode(consumer('application=shop.web_1&side=consumer', '10.0.0.7:0'))), { application: 'shop.web_1', group: '', version: '' });
  assert.deepEqual(ok(parseConsumerNode(consumer('application=a&side=consumer', '[::1]'))), { application: 'a', group: '', version: '' });
  // Other categories and provider URLs are not consumers.
  assert.deepEqual(parseConsumerNode(consumer('application=shop&category=routers')), { type: 'ignored' });
  assert.deepEqual(parseConsumerNode(enc('dubbo://10.0.0.1:20880/com.example.Foo?application=shop&side=provider')), { type: 'ignored' });
  for (const [node, reason] of [
    ['%ZZ', /not URL-encoded/],
    [enc('not a url'), /not a Dubbo consumer URL/],
    [consumer('side=consumer'), /no application/],
    [consumer('application=&side=consumer'), /no application/],
    [consumer('application=bad%20name&side=consumer'), /not a name/],
    [consumer(`application=${'a'.repeat(300)}&side=consumer`), /not a name/],
  ] as const) {
    const r = parseConsumerNode(node);
    assert.equal(r.type, 'invalid', node);
    assert.equal(r.type === 'invalid' ? r.code : '', ErrorCode.ENTRY_INVALID);
    assert.match(r.type === 'invalid' ? r.message : '', reason, node);
    assert.match(r.type === 'invalid' ? r.message : '', /consumer skipped/);
  }
});

test('consumes: Dubbo matching of group (*, equal, comma list) and version (*, equal)', () => {
  const c = (group: string, version: string) => ({ application: 'a', group, version });
  assert.equal(consumes(c('', ''), '', ''), true);
  assert.equal(consumes(c('', ''), 'g1', ''), false);
  assert.equal(consumes(c('', ''), '', '1.0'), false);
  assert.equal(consumes(c('*', '*'), 'g1', '2.0'), true);
  assert.equal(consumes(c('g1,g2', '1.0'), 'g2', '1.0'), true);
  assert.equal(consumes(c('g1,g2', '1.0'), 'g3', '1.0'), false);
  assert.equal(consumes(c('g1', '1.0'), 'g1', '2.0'), false);
  const nodes = [c('*', '*'), { application: 'b', group: 'g1', version: '' }, { application: 'a', group: '', version: '' }].map((entry) => ({ type: 'ok' as const, entry }));
  assert.deepEqual(consumingApplications([...nodes, { type: 'ignored' }], 'g1', ''), ['a', 'b']);
  assert.deepEqual(consumingApplications(nodes, 'g2', '3'), ['a']);
});

/** A Listing over /dubbo that records reads and the services a flush emits. */
function listing(watchConsumers: boolean) {
  const reads: Task[] = [];
  const problems: string[] = [];
  const l = new Listing(new TaskFactory('/dubbo'), true, { read: (t) => reads.push(t), forget: () => {}, problem: (code, path) => problems.push(`${code} ${path}`), clearProblem: () => {}, changed: () => {} }, watchConsumers);
  const emitted = new Map<string, ServiceParts>();
  const sink: ListingSink = {
    apply: (s) => (emitted.set(s.name, s), true),
    remove: (name) => void emitted.delete(name),
  };
  const make = new TaskFactory('/dubbo');
  return { l, reads, problems, emitted, flush: () => l.flush(sink), make };
}

test('Listing with watchConsumers: the consumers folder is read, services name their consuming applications, updates and removal follow', () => {
  const { l, reads, problems, emitted, flush, make } = listing(true);
  l.applyChildren(make.dubboRoot(), ['com.example.Foo']);
  assert.deepEqual(reads.map((t) => t.path), ['/dubbo/com.example.Foo/providers', '/dubbo/com.example.Foo/consumers']);
  l.applyChildren(make.providers('com.example.Foo'), [provider('application=p&side=provider')]);
  l.applyChildren(make.consumers('com.example.Foo'), [consumer('application=shop&side=consumer'), consumer('application=shop&side=consumer', '10.0.0.8'), enc('junk')]);
  flush();
  assert.deepEqual(emitted.get('com.example.Foo')?.consumers, ['shop']);
  assert.deepEqual(problems, [`${ErrorCode.ENTRY_INVALID} /dubbo/com.example.Foo/consumers/junk`]);
  // A second application starts consuming.
  l.applyChildren(make.consumers('com.example.Foo'), [consumer('application=shop&side=consumer'), consumer('application=shop&side=consumer', '10.0.0.8'), consumer('application=cart&side=consumer')]);
  flush();
  assert.deepEqual(emitted.get('com.example.Foo')?.consumers, ['cart', 'shop']);
  // One of shop's two instances goes: shop still consumes; then the last one goes.
  l.applyChildren(make.consumers('com.example.Foo'), [consumer('application=shop&side=consumer', '10.0.0.8'), consumer('application=cart&side=consumer')]);
  flush();
  assert.deepEqual(emitted.get('com.example.Foo')?.consumers, ['cart', 'shop']);
  l.applyChildren(make.consumers('com.example.Foo'), [consumer('application=cart&side=consumer')]);
  flush();
  assert.deepEqual(emitted.get('com.example.Foo')?.consumers, ['cart']);
  assert.equal(l.tracked(make.consumers('com.example.Foo')), true);
  assert.ok(l.relistTasks(false).some((t) => t.key === 'consumers|com.example.Foo'));
});

test('Listing without watchConsumers reads no consumers folder and sets no consumers', () => {
  const { l, reads, emitted, flush, make } = listing(false);
  l.applyChildren(make.dubboRoot(), ['com.example.Foo']);
  l.applyChildren(make.providers('com.example.Foo'), [provider('application=p&side=provider')]);
  flush();
  assert.deepEqual(reads.map((t) => t.op), ['providers']);
  assert.equal(emitted.get('com.example.Foo')?.consumers, undefined);
  assert.ok(!l.relistTasks(true).some((t) => t.op === 'consumers'));
});
