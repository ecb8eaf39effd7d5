/**
 * Checks PromQL queries (a Grafana dashboard's, a Prometheus rule file's) against what a real
 * /metrics exports: every metric they name must be a series there (a histogram `x` exports only
 * `x_bucket`, `x_sum`, `x_count`), every label they match or group by must be one that series
 * carries, a target label Prometheus adds, or `le` of a histogram; every function must be
 * PromQL's. Names recorded by the rule file count as metrics. test/deploy/metrics-queries.test.ts.
 */
import { PROMQL_FUNCTIONS, extractRefs, variableQuery, type ExprRefs } from './promql.js';

/** Labels Prometheus attaches to every scraped series (static config and the operator's ServiceMonitor). */
export const TARGET_LABELS: ReadonlySet<string> = new Set(['job', 'instance', 'namespace', 'pod', 'service', 'container', 'endpoint']);

/** Series Prometheus makes itself for every target. */
export const SYNTHETIC_SERIES: ReadonlySet<string> = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_series_added']);

export interface Exposition {
  /** Series names: counters and gauges as named, histograms' _bucket/_sum/_count, summaries' base/_sum/_count. */
  readonly series: ReadonlyMap<string, { readonly family: string; readonly type: string }>;
  /** Label names seen on samples of each series name. */
  readonly labels: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Reads `# TYPE` lines and samples of the Prometheus text format. */
export function parseExposition(text: string): Exposition {
  const series = new Map<string, { family: string; type: string }>();
  const labels = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE ([A-Za-z_:][\w:]*) (\w+)$/.exec(line);
    if (type !== null) {
      const [, family, kind] = type as unknown as [string, string, string];
      const names = kind === 'histogram' ? ['_bucket', '_sum', '_count'] : kind === 'summary' ? ['', '_sum', '_count'] : [''];
      for (const suffix of names) series.set(family + suffix, { family, type: kind });
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s/.exec(line);
    if (m === null) continue;
    const set = labels.get(m[1]!) ?? new Set<string>();
    for (const l of (m[2] ?? '').matchAll(/([A-Za-z_]\w*)="(?:[^"\\]|\\.)*"/g)) set.add(l[1]!);
    labels.set(m[1]!, set);
  }
  return { series, labels };
}

/** One query and where it came from (for messages). */
export interface Query {
  readonly where: string;
  readonly expr: string;
  /** The label a Grafana variable takes its values from (label_values(..., label)). */
  readonly label?: string;
}

interface DashboardPanel {
  title?: string;
  targets?: { expr?: string; refId?: string }[];
  panels?: DashboardPanel[];
}

/** Every PromQL query of a Grafana dashboard: panel targets (rows' nested panels too) and query variables. */
export function dashboardQueries(dashboard: unknown): Query[] {
  const d = dashboard as { panels?: DashboardPanel[]; templating?: { list?: { name?: string; type?: string; query?: unknown; definition?: string }[] } };
  const out: Query[] = [];
  const walk = (panels: readonly DashboardPanel[] | undefined): void => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) {
        if (typeof t.expr !== 'string' || t.expr.trim() === '') throw new Error(`panel ${JSON.stringify(p.title)} target ${t.refId ?? '?'} has no expr`);
        out.push({ where: `panel "${p.title ?? '?'}" ${t.refId ?? ''}`.trim(), expr: t.expr });
      }
      walk(p.panels);
    }
  };
  walk(d.panels);
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const raw = typeof v.query === 'string' ? v.query : (v.query as { query?: unknown } | undefined)?.query;
    if (typeof raw !== 'string') throw new Error(`variable ${v.name ?? '?'} has no query`);
    const q = variableQuery(raw);
    if (q.expr !== undefined) out.push({ where: `variable $${v.name ?? '?'}`, expr: q.expr, ...(q.label !== undefined ? { label: q.label } : {}) });
  }
  return out;
}

interface RuleFile {
  groups?: { name?: string; rules?: { alert?: string; record?: string; expr?: unknown }[] }[];
}

/** Every rule's expr, and the names the recording rules define. */
export function ruleQueries(rules: unknown): { queries: Query[]; recorded: Set<string> } {
  const queries: Query[] = [];
  const recorded = new Set<string>();
  for (const g of (rules as RuleFile).groups ?? []) {
    for (const r of g.rules ?? []) {
      const name = r.alert ?? r.record ?? '?';
      if (typeof r.expr !== 'string') throw new Error(`rule ${name} has no expr`);
      queries.push({ where: `rule ${name} (group ${g.name ?? '?'})`, expr: r.expr });
      if (r.record !== undefined) recorded.add(r.record);
    }
  }
  return { queries, recorded };
}

export interface CheckOptions {
  /** Names that are metrics without being in the exposition (recording rules). */
  readonly recorded?: ReadonlySet<string>;
  /** Declared label names per series name (e.g. from prom-client), beside those seen on samples. */
  readonly declaredLabels?: ReadonlyMap<string, ReadonlySet<string>>;
}

/** The problems of `queries` against `exp`, one message each; empty when all is well. */
export function checkQueries(queries: readonly Query[], exp: Exposition, options: CheckOptions = {}): string[] {
  const problems: string[] = [];
  for (const q of queries) {
    let refs: ExprRefs;
    try {
      refs = extractRefs(q.expr);
    } catch (e) {
      problems.push(`${q.where}: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    problems.push(...checkRefs(q, refs, exp, options));
  }
  return problems;
}

function checkRefs(q: Query, refs: ExprRefs, exp: Exposition, options: CheckOptions): string[] {
  const problems: string[] = [];
  const known = (name: string): boolean => exp.series.has(name) || SYNTHETIC_SERIES.has(name) || (options.recorded?.has(name) ?? false);
  const labelsOf = (name: string): ReadonlySet<string> | undefined => {
    if (options.recorded?.has(name) === true || SYNTHETIC_SERIES.has(name)) return undefined; // not checked
    return new Set([...(exp.labels.get(name) ?? []), ...(options.declaredLabels?.get(name) ?? [])]);
  };
  const available = new Set<string>(TARGET_LABELS);
  let unchecked = false;
  for (const s of refs.selectors) {
    if (s.name === undefined) {
      problems.push(`${q.where}: a selector without a metric name ({${s.matchers.map((m) => m.label).join(', ')}})`);
      continue;
    }
    if (!known(s.name)) {
      const hint = [...exp.series.values()].some((v) => v.family === s.name) ? ` (a ${exp.series.get(`${s.name}_bucket`)?.type ?? 'histogram'}: use ${s.name}_bucket, _sum or _count)` : '';
      problems.push(`${q.where}: metric ${s.name} is not exported${hint}`);
      continue;
    }
    const labels = labelsOf(s.name);
    if (labels === undefined) {
      unchecked = true;
      continue;
    }
    for (const l of labels) available.add(l);
    if (s.name.endsWith('_bucket') && exp.series.get(s.name)?.type === 'histogram') available.add('le');
    for (const m of s.matchers) {
      if (!labels.has(m.label) && !TARGET_LABELS.has(m.label)) problems.push(`${q.where}: ${s.name} has no label ${m.label}`);
    }
  }
  const grouping = q.label !== undefined ? [...refs.groupingLabels, q.label] : refs.groupingLabels;
  for (const l of grouping) {
    if (!available.has(l) && !unchecked) problems.push(`${q.where}: no metric of the query has label ${l} (by/on/label_values)`);
  }
  for (const f of refs.functions) if (!PROMQL_FUNCTIONS.has(f)) problems.push(`${q.where}: ${f}() is not a PromQL function`);
  return problems;
}

/** The metric names a set of queries uses (for coverage reports). */
export function metricsUsed(queries: readonly Query[]): Set<string> {
  const out = new Set<string>();
  for (const q of queries) for (const s of extractRefs(q.expr).selectors) if (s.name !== undefined) out.add(s.name);
  return out;
}
