/** Unit tests of the PromQL name extractor (promql.ts) and the query checker (query-check.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractRefs, variableQuery } from './promql.js';
import { checkQueries, dashboardQueries, parseExposition, ruleQueries } from './query-check.js';

const names = (expr: string): (string | undefined)[] => extractRefs(expr).selectors.map((s) => s.name);

test('selectors, matchers and Grafana variables in matcher values', () => {
  const r = extractRefs('max by (registry) (meshbridge_registry_stale{namespace=~"$namespace", pod=~"${pod:regex}", registry!="[[registry]]"})');
  assert.deepEqual(r.selectors, [
    {
      name: 'meshbridge_registry_stale',
      matchers: [
        { label: 'namespace', op: '=~', value: '$namespace' },
        { label: 'pod', op: '=~', value: '${pod:regex}' },
        { label: 'registry', op: '!=', value: '[[registry]]' },
      ],
    },
  ]);
  assert.deepEqual(r.groupingLabels, ['registry']);
  assert.deepEqual(r.functions, ['max']);
});

test('histogram quantiles: _bucket names, le, ranges with variables, numbers are not names', () => {
  const r = extractRefs('histogram_quantile(0.99, sum by (le, job) (rate(x_seconds_bucket{a="1"}[$__rate_interval])))');
  assert.deepEqual(names('histogram_quantile(0.99, sum by (le, job) (rate(x_seconds_bucket{a="1"}[$__rate_interval])))'), ['x_seconds_bucket']);
  assert.deepEqual(r.groupingLabels, ['le', 'job']);
  assert.deepEqual(r.functions, ['histogram_quantile', 'sum', 'rate']);
  assert.deepEqual(names('sum(rate(a_sum[5m])) / sum(rate(a_count[1h30m]))'), ['a_sum', 'a_count']);
});

test('strings are never names, whatever they hold', () => {
  assert.deepEqual(names('label_replace(up{job="a"}, "dst", "not_a_metric{x=\\"y\\"}", "src", "(.*)")'), ['up']);
  assert.deepEqual(names("count_values('version', build_info)"), ['build_info']);
  assert.deepEqual(names('x{a=`raw \\ string`}'), ['x']);
});

test('binary operators, keywords, modifiers, subqueries, comments, recorded names', () => {
  const r = extractRefs(
    'a_total{op="x"} / on (job, instance) group_left (pod) b > bool 0 and c offset 5m unless d @ start() or max_over_time(e[1h:5m]) # trailing f',
  );
  assert.deepEqual(r.selectors.map((s) => s.name), ['a_total', 'b', 'c', 'd', 'e']);
  assert.deepEqual(r.groupingLabels, ['job', 'instance', 'pod']);
  assert.deepEqual(r.functions, ['start', 'max_over_time']);
  assert.deepEqual(names('namespace_job:meshbridge_x:p99 > 0.1'), ['namespace_job:meshbridge_x:p99']);
  assert.deepEqual(names('sum(x) without (pod) > 1e3 or vector(0) + -Inf'), ['x']);
  assert.deepEqual(names('sum(x) BY (pod)'), ['x']);
});

test('{__name__=...} and a quoted name inside braces name the metric; a bare {...} names none', () => {
  assert.deepEqual(extractRefs('{__name__="foo", job="j"}').selectors, [{ name: 'foo', matchers: [{ label: 'job', op: '=', value: 'j' }] }]);
  assert.deepEqual(names('{"foo", job="j"}'), ['foo']);
  assert.deepEqual(names('{job="j"}'), [undefined]);
});

test('malformed expressions throw instead of guessing', () => {
  assert.throws(() => extractRefs('x{a="1"'), /unclosed \{/);
  assert.throws(() => extractRefs('x{a}'), /no operator/);
  assert.throws(() => extractRefs('x{a=b}'), /no string value/);
  assert.throws(() => extractRefs('rate(x[5m)'), /inside \[|unclosed \[/);
  assert.throws(() => extractRefs('x{a="1}'), /unterminated string/);
  assert.throws(() => extractRefs('sum by (a, rate(x)) (y)'), /grouping clause/);
  assert.throws(() => extractRefs('x ; y'), /unexpected ";"/);
});

test('Grafana variable queries', () => {
  assert.deepEqual(variableQuery('label_values(m{namespace=~"$namespace"}, pod)'), { expr: 'm{namespace=~"$namespace"}', label: 'pod' });
  assert.deepEqual(variableQuery('label_values(namespace)'), { label: 'namespace' });
  assert.deepEqual(variableQuery('query_result(sum by (a) (m))'), { expr: 'sum by (a) (m)' });
  assert.deepEqual(variableQuery('label_names()'), {});
  assert.deepEqual(variableQuery('up{job="x"}'), { expr: 'up{job="x"}' });
});

const EXPOSITION = `# HELP m_total c
# TYPE m_total counter
m_total{registry="a",code="X"} 3
# HELP g g
# TYPE g gauge
g 1
# HELP lab labelled, no samples yet
# TYPE lab counter
# HELP h_seconds h
# TYPE h_seconds histogram
h_seconds_bucket{le="0.1"} 1
h_seconds_bucket{le="+Inf"} 1
h_seconds_sum 0.05
h_seconds_count 1
`;

test('checkQueries: good queries pass; renamed metrics, wrong labels, histogram base names, unknown functions fail', () => {
  const exp = parseExposition(EXPOSITION);
  const ok = [
    { where: 'a', expr: 'sum by (registry, code) (increase(m_total{namespace=~"$namespace", registry=~"$registry"}[5m]))' },
    { where: 'b', expr: 'histogram_quantile(0.9, sum by (le, pod) (rate(h_seconds_bucket[5m]))) / g' },
    { where: 'c', expr: 'max by (job) (up{job="meshbridge"}) == 0 or absent(up{job="meshbridge"})' },
    { where: 'd', expr: 'rec:m:rate5m > 0' },
    { where: 'e', expr: 'lab{registry="x"}' },
  ];
  const options = { recorded: new Set(['rec:m:rate5m']), declaredLabels: new Map([['lab', new Set(['registry'])]]) };
  assert.deepEqual(checkQueries(ok, exp, options), []);
  assert.deepEqual(
    checkQueries(
      [
        { where: 'renamed', expr: 'rate(m_renamed_total[5m])' },
        { where: 'label', expr: 'g{registry="a"}' },
        { where: 'by', expr: 'sum by (type_url) (m_total)' },
        { where: 'base', expr: 'rate(h_seconds[5m])' },
        { where: 'fn', expr: 'rates(m_total[5m])' },
        { where: 'nameless', expr: '{job="x"}' },
        { where: 'var', expr: 'sum(g)', label: 'registry' },
        { where: 'undeclared', expr: 'lab{code="x"}' },
        { where: 'rec', expr: 'rec:m:rate5m > 0' },
      ],
      exp,
      { declaredLabels: options.declaredLabels },
    ),
    [
      'renamed: metric m_renamed_total is not exported',
      'label: g has no label registry',
      'by: no metric of the query has label type_url (by/on/label_values)',
      'base: metric h_seconds is not exported (a histogram: use h_seconds_bucket, _sum or _count)',
      'fn: rates() is not a PromQL function',
      'nameless: a selector without a metric name ({job})',
      'var: no metric of the query has label registry (by/on/label_values)',
      'undeclared: lab has no label code',
      'rec: metric rec:m:rate5m is not exported',
    ],
  );
});

test('dashboardQueries and ruleQueries find every expr, nested rows and variables included', () => {
  const dash = {
    panels: [
      { title: 'p1', targets: [{ refId: 'A', expr: 'g' }] },
      { title: 'row', type: 'row', panels: [{ title: 'p2', targets: [{ refId: 'B', expr: 'm_total' }] }] },
    ],
    templating: {
      list: [
        { name: 'datasource', type: 'datasource', query: 'prometheus' },
        { name: 'ns', type: 'query', query: { query: 'label_values(g, namespace)' } },
        { name: 'reg', type: 'query', query: 'label_values(m_total{namespace=~"$ns"}, registry)' },
      ],
    },
  };
  assert.deepEqual(dashboardQueries(dash), [
    { where: 'panel "p1" A', expr: 'g' },
    { where: 'panel "p2" B', expr: 'm_total' },
    { where: 'variable $ns', expr: 'g', label: 'namespace' },
    { where: 'variable $reg', expr: 'm_total{namespace=~"$ns"}', label: 'registry' },
  ]);
  assert.throws(() => dashboardQueries({ panels: [{ title: 'empty', targets: [{ refId: 'A', expr: '' }] }] }), /has no expr/);
  const rules = ruleQueries({ groups: [{ name: 'g', rules: [{ record: 'a:b:c', expr: 'sum(g)' }, { alert: 'A', expr: 'a:b:c > 1' }] }] });
  assert.deepEqual(rules.queries.map((q) => q.where), ['rule a:b:c (group g)', 'rule A (group g)']);
  assert.deepEqual([...rules.recorded], ['a:b:c']);
});
