/**
 * What a PromQL expression reads: the metric names of its selectors with their label matchers, the
 * labels of its grouping clauses (by, without, on, ignoring, group_left, group_right) and the
 * functions it calls. A small lexer and a one-pass walk, not a full parser: it is enough to check
 * that every query of the Grafana dashboard and the alert rules names metrics and labels Meshbridge
 * exports (test/deploy/metrics-queries.test.ts), and it handles Grafana's variables ($var,
 * ${var}, ${var:fmt}, [[var]], $__rate_interval). promtool parses the same expressions for real
 * (test/deploy/alerts.test.ts); this finds the names in them.
 */

export interface Matcher {
  readonly label: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

/** One vector selector: `name{matchers}`, `{__name__="name", ...}` or a nameless `{...}`. */
export interface Selector {
  readonly name: string | undefined;
  readonly matchers: readonly Matcher[];
}

export interface ExprRefs {
  readonly selectors: readonly Selector[];
  /** Labels named in by/without/on/ignoring/group_left/group_right clauses. */
  readonly groupingLabels: readonly string[];
  /** Functions and aggregation operators called, in order of appearance. */
  readonly functions: readonly string[];
}

/** PromQL's functions (promql/parser/functions.go of Prometheus 3.x) and aggregation operators. */
export const PROMQL_FUNCTIONS: ReadonlySet<string> = new Set(
  (
    'abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes clamp clamp_max clamp_min cos cosh ' +
    'count_over_time day_of_month day_of_week day_of_year days_in_month deg delta deriv double_exponential_smoothing end exp ' +
    'first_over_time floor histogram_avg histogram_count histogram_fraction histogram_quantile histogram_quantiles histogram_stddev ' +
    'histogram_stdvar histogram_sum hour idelta increase info integral irate label_join label_replace last_over_time ln log10 log2 ' +
    'mad_over_time max_of max_over_time min_of min_over_time minute month pi predict_linear present_over_time quantile_over_time rad ' +
    'range rate resets round scalar sgn sin sinh sort sort_by_label sort_by_label_desc sort_desc sqrt start start_timestamp ' +
    'stddev_over_time stdvar_over_time step sum_over_time tan tanh time timestamp ts_of_first_over_time ts_of_last_over_time ' +
    'ts_of_max_over_time ts_of_min_over_time vector year ' +
    'sum avg count min max group stddev stdvar topk bottomk count_values quantile limitk limit_ratio'
  ).split(' '),
);

const AGGREGATIONS = new Set('sum avg count min max group stddev stdvar topk bottomk count_values quantile limitk limit_ratio'.split(' '));
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan', ...GROUPING]);

type Token =
  | { readonly t: 'ident'; readonly v: string }
  | { readonly t: 'string'; readonly v: string }
  | { readonly t: 'number' | 'var'; readonly v: string }
  | { readonly t: 'punct'; readonly v: string };

const IDENT = /^[A-Za-z_:][A-Za-z0-9_:]*/;
const NUMBER = /^(?:0[xX][0-9a-fA-F]+|(?:[0-9]+(?:ms|[smhdwy]))+|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)/;
const VARIABLE = /^(?:\$\{[^}]*\}|\$[A-Za-z0-9_]+|\[\[[^\]]*\]\])/;
const PUNCT = /^(?:=~|!~|!=|==|<=|>=|[(){}[\],=<>+\-*/%^@:])/;

/** Splits an expression into tokens; throws on a character PromQL has no use for. */
export function tokenize(expr: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const rest = expr.slice(i);
    const ws = /^(?:\s+|#[^\n]*)/.exec(rest);
    if (ws !== null) {
      i += ws[0].length;
      continue;
    }
    const c = rest[0]!;
    if (c === '"' || c === "'" || c === '`') {
      const [value, len] = readString(rest, c);
      out.push({ t: 'string', v: value });
      i += len;
      continue;
    }
    const m = VARIABLE.exec(rest) ?? null;
    if (m !== null) {
      out.push({ t: 'var', v: m[0] });
      i += m[0].length;
      continue;
    }
    const n = NUMBER.exec(rest);
    if (n !== null && !IDENT.test(rest)) {
      out.push({ t: 'number', v: n[0] });
      i += n[0].length;
      continue;
    }
    const id = IDENT.exec(rest);
    if (id !== null) {
      out.push({ t: 'ident', v: id[0] });
      i += id[0].length;
      continue;
    }
    const p = PUNCT.exec(rest);
    if (p === null) throw new Error(`PromQL: unexpected ${JSON.stringify(c)} at ${i} in ${JSON.stringify(expr)}`);
    out.push({ t: 'punct', v: p[0] });
    i += p[0].length;
  }
  return out;
}

/** A quoted string at the start of `s`: its value (escapes resolved loosely) and its length. */
function readString(s: string, quote: string): [string, number] {
  let value = '';
  for (let i = 1; i < s.length; i++) {
    const c = s[i]!;
    if (c === quote) return [value, i + 1];
    if (c === '\\' && quote !== '`' && i + 1 < s.length) {
      value += s[i + 1]!;
      i++;
      continue;
    }
    value += c;
  }
  throw new Error(`PromQL: unterminated string in ${JSON.stringify(s)}`);
}

/** What `expr` reads (see ExprRefs). Throws on unbalanced brackets or malformed matchers. */
export function extractRefs(expr: string): ExprRefs {
  const tokens = tokenize(expr);
  const selectors: Selector[] = [];
  const groupingLabels: string[] = [];
  const functions: string[] = [];
  let i = 0;
  while (i < tokens.length) {
    const tok = tokens[i]!;
    const next = tokens[i + 1];
    if (tok.t === 'punct' && tok.v === '[') {
      i = skipBrackets(tokens, i, expr);
    } else if (tok.t === 'punct' && tok.v === '{') {
      const [matchers, end] = readMatchers(tokens, i, expr);
      selectors.push(nameless(matchers));
      i = end;
    } else if (tok.t === 'ident' && GROUPING.has(tok.v.toLowerCase())) {
      if (next?.t === 'punct' && next.v === '(') {
        const [labels, end] = readLabelList(tokens, i + 1, expr);
        groupingLabels.push(...labels);
        i = end;
      } else i++;
    } else if (tok.t === 'ident' && KEYWORDS.has(tok.v.toLowerCase())) {
      i++;
    } else if (tok.t === 'ident' && ((next?.t === 'punct' && next.v === '(') || (AGGREGATIONS.has(tok.v) && next?.t === 'ident' && /^(by|without)$/i.test(next.v)))) {
      functions.push(tok.v);
      i++;
    } else if (tok.t === 'ident') {
      if (next?.t === 'punct' && next.v === '{') {
        const [matchers, end] = readMatchers(tokens, i + 1, expr);
        selectors.push({ name: tok.v, matchers });
        i = end;
      } else {
        selectors.push({ name: tok.v, matchers: [] });
        i++;
      }
    } else i++;
  }
  return { selectors, groupingLabels, functions };
}

/** A `{...}` selector without a name before it: its name is the `__name__="..."` matcher, if any. */
function nameless(matchers: readonly Matcher[]): Selector {
  const byName = matchers.find((m) => m.label === '__name__' && m.op === '=');
  return { name: byName?.value, matchers: matchers.filter((m) => m !== byName) };
}

/** Index after the `]` matching the `[` at `start` (range and subquery brackets hold no names). */
function skipBrackets(tokens: readonly Token[], start: number, expr: string): number {
  for (let i = start + 1; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.t === 'punct' && t.v === ']') return i + 1;
    if (t.t === 'punct' && (t.v === '[' || t.v === '{' || t.v === '(')) throw new Error(`PromQL: unexpected ${t.v} inside [...] in ${JSON.stringify(expr)}`);
  }
  throw new Error(`PromQL: unclosed [ in ${JSON.stringify(expr)}`);
}

/** The matchers of the `{` at `start`, and the index after its `}`. A bare "name" is the metric name. */
function readMatchers(tokens: readonly Token[], start: number, expr: string): [Matcher[], number] {
  const out: Matcher[] = [];
  let i = start + 1;
  const bad = (what: string): Error => new Error(`PromQL: ${what} in the label matchers of ${JSON.stringify(expr)}`);
  while (i < tokens.length) {
    const t = tokens[i]!;
    if (t.t === 'punct' && t.v === '}') return [out, i + 1];
    if (t.t === 'punct' && t.v === ',') {
      i++;
      continue;
    }
    if (t.t !== 'ident' && t.t !== 'string') throw bad(`unexpected ${JSON.stringify(t.v)}`);
    const op = tokens[i + 1];
    if (t.t === 'string' && op?.t === 'punct' && (op.v === ',' || op.v === '}')) {
      out.push({ label: '__name__', op: '=', value: t.v });
      i++;
      continue;
    }
    if (op?.t !== 'punct' || !['=', '!=', '=~', '!~'].includes(op.v)) throw bad(`no operator after ${t.v}`);
    const value = tokens[i + 2];
    if (value?.t !== 'string' && value?.t !== 'var') throw bad(`no string value for ${t.v}`);
    out.push({ label: t.v, op: op.v as Matcher['op'], value: value.v });
    i += 3;
  }
  throw bad('unclosed {');
}

/** The labels of the `(` at `start` (a grouping clause), and the index after its `)`. */
function readLabelList(tokens: readonly Token[], start: number, expr: string): [string[], number] {
  const out: string[] = [];
  for (let i = start + 1; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.t === 'punct' && t.v === ')') return [out, i + 1];
    if (t.t === 'punct' && t.v === ',') continue;
    if (t.t !== 'ident' && t.t !== 'string') throw new Error(`PromQL: unexpected ${JSON.stringify(t.v)} in a grouping clause of ${JSON.stringify(expr)}`);
    out.push(t.v);
  }
  throw new Error(`PromQL: unclosed grouping clause in ${JSON.stringify(expr)}`);
}

/**
 * A Grafana Prometheus variable query: `label_values(selector, label)`, `label_values(label)`,
 * `query_result(expr)`, `label_names()`, `metrics(regex)`. Resolves with the PromQL inside (if
 * any) and the label the variable takes its values from (if any).
 */
export function variableQuery(query: string): { readonly expr?: string; readonly label?: string } {
  const q = query.trim();
  const lv = /^label_values\(\s*(?:(.*),\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*\)$/s.exec(q);
  if (lv !== null) return { ...(lv[1] !== undefined ? { expr: lv[1] } : {}), label: lv[2]! };
  const qr = /^query_result\((.*)\)$/s.exec(q);
  if (qr !== null) return { expr: qr[1]! };
  if (/^label_names\(\s*\)$/.test(q) || /^metrics\(.*\)$/s.test(q)) return {};
  return { expr: q };
}
