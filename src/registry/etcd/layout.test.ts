import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildLayout, LayoutError, regexLayout, templateLayout } from './layout.js';

interface Case {
  readonly layout: string;
  readonly regex?: boolean;
  readonly key: string;
  readonly want: ReturnType<ReturnType<typeof templateLayout>['match']>;
}

const cases: readonly Case[] = [
  { layout: '{service}/{instance}', key: 'reviews/i-1', want: { service: 'reviews', instance: 'i-1', attributes: {} } },
  { layout: '{service}/{instance}', key: 'reviews/i-1/extra', want: undefined },
  { layout: '{service}/{instance}', key: 'reviews', want: undefined },
  { layout: '{service}/{instance}', key: 'reviews/', want: undefined },
  { layout: '{service}/{instance}', key: '/reviews/i-1', want: undefined },
  { layout: '{namespace}/{service}/{instance}', key: 'shop/reviews/10.0.0.1:80', want: { service: 'reviews', instance: '10.0.0.1:80', namespace: 'shop', attributes: {} } },
  {
    layout: '{group}/{service}/providers/{instance}',
    key: 'g1/com.foo.Bar/providers/x',
    want: { service: 'com.foo.Bar', instance: 'x', attributes: { group: 'g1' } },
  },
  { layout: '{group}/{service}/providers/{instance}', key: 'g1/com.foo.Bar/consumers/x', want: undefined },
  // literal text is literal, not a regex
  { layout: 'a.b/{service}/{instance}', key: 'aXb/s/i', want: undefined },
  { layout: 'a.b/{service}/{instance}', key: 'a.b/s/i', want: { service: 's', instance: 'i', attributes: {} } },
  {
    layout: '(?<service>[^/]+)/instances/(?<instance>.+)',
    regex: true,
    key: 'reviews/instances/a/b',
    want: { service: 'reviews', instance: 'a/b', attributes: {} },
  },
  { layout: '^(?<service>[^/]+)/(?<instance>[^/]+)$', regex: true, key: 'x/reviews/i', want: undefined },
  // anchored even without ^...$
  { layout: '(?<service>[^/]+)/(?<instance>[^/]+)', regex: true, key: 'x/reviews/i', want: undefined },
  {
    layout: '(?<namespace>[^/]*)/(?<service>[^/]+)/(?<version>v\\d+)?/?(?<instance>[^/]+)',
    regex: true,
    key: '/reviews/i',
    want: { service: 'reviews', instance: 'i', attributes: {} },
  },
];

for (const c of cases) {
  test(`layout ${c.layout} matches ${JSON.stringify(c.key)}`, () => {
    const layout = buildLayout(c.regex === true ? { keyRegex: c.layout } : { layout: c.layout });
    assert.deepEqual(layout.match(c.key), c.want);
  });
}

test('layout: default is {service}/{instance}', () => {
  assert.equal(buildLayout({}).source, '{service}/{instance}');
});

for (const bad of ['', '{service}', '{instance}', '{service}//{instance}', '/{service}/{instance}', '{service}/{instance}/', 'x{service}/{instance}', '{service}/{service}/{instance}', '{se-rvice}/{instance}']) {
  test(`layout: template ${JSON.stringify(bad)} is refused`, () => {
    assert.throws(() => templateLayout(bad), LayoutError);
  });
}

for (const bad of ['(', '(?<service>.+)', '(?<instance>.+)']) {
  test(`layout: regex ${JSON.stringify(bad)} is refused`, () => {
    assert.throws(() => regexLayout(bad), LayoutError);
  });
}
