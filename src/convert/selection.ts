/**
 * Selection: which of a registry's services (and which of their endpoints) are published
 * (docs/mapping.md#selection). Pure, and between the neutral model and conversion: adapters know
 * nothing of it, and the pipeline applies it to every service before merging by host.
 *
 * Contract:
 * - A pattern is a glob (`*` any run of characters, `?` one character, everything else literal)
 *   or, written `/.../` (optionally `/.../i`), a regular expression. Both must match the whole
 *   value. patternProblem() says why a text is not a usable pattern (the config loader reports it
 *   as MB_CONFIG_INVALID at its key path).
 * - A list `{include, exclude}` passes a value when `include` is empty or absent or one of its
 *   patterns matches, and none of `exclude` matches. An absent value (a service without a
 *   namespace, an attribute or a metadata key it lacks) is matched as the empty string.
 * - A service is kept when its name passes `services`, its Service.namespace passes
 *   `namespaces`, and each attribute listed under `attributes` passes its list. Then, with
 *   `endpoints`: an endpoint matches when each metadata key listed passes its list; scope
 *   `endpoints` keeps only the matching endpoints (the service stays, possibly with none),
 *   scope `services` keeps the service whole when at least one endpoint matches and excludes it
 *   otherwise.
 * - Rules are compiled once per rules object (compileSelection memoises); applying them to one
 *   service is a few regular-expression tests plus one per endpoint and metadata key.
 * - A kept service whose endpoints are all kept is returned as the same object (so caches keyed
 *   by service object still hit); otherwise a new object with the kept endpoints.
 */
import type { Service } from '../model/index.js';

/** Include/exclude patterns for one value (see the module contract). */
export interface PatternList {
  readonly include?: readonly string[] | undefined;
  readonly exclude?: readonly string[] | undefined;
}

export const EndpointScope = {
  /** Only the matching endpoints are published; the service stays. */
  ENDPOINTS: 'endpoints',
  /** Services with at least one matching endpoint are published whole; the others are excluded. */
  SERVICES: 'services',
} as const;
export type EndpointScope = (typeof EndpointScope)[keyof typeof EndpointScope];

/** A registry's selection rules, as the config states them (plain data: hashed for reloads). */
export interface SelectionRules {
  /** The registry-native service name (Service.name). */
  readonly services?: PatternList | undefined;
  /** Service.namespace (a Nacos namespace, Consul `dc[/partition][/namespace]`, a file's namespace). */
  readonly namespaces?: PatternList | undefined;
  /** Service attributes by key (group, version, datacenter, application, ...). */
  readonly attributes?: Readonly<Record<string, PatternList>> | undefined;
  readonly endpoints?: { readonly metadata: Readonly<Record<string, PatternList>>; readonly scope: EndpointScope } | undefined;
}

/** What the rules made of one service. */
export type SelectionOutcome =
  | { readonly kept: Service; readonly excludedEndpoints: number }
  | { readonly excluded: string; readonly endpoints: number };

/** Why `text` is not a usable pattern, or undefined. */
export function patternProblem(text: string): string | undefined {
  const re = regexText(text);
  if (re === undefined) return undefined;
  try {
    new RegExp(re.source, re.flags);
    return undefined;
  } catch (e) {
    return `invalid regular expression ${text}: ${e instanceof Error ? e.message.replace(/^Invalid regular expression: /, '') : String(e)}`;
  }
}

/** `/source/` or `/source/i`: the regular expression's parts; undefined for a glob. */
function regexText(text: string): { source: string; flags: string } | undefined {
  const m = /^\/(.*)\/(i?)$/s.exec(text);
  return m === null ? undefined : { source: m[1] ?? '', flags: m[2] ?? '' };
}

/** A compiled pattern: a whole-value test. */
type Test = (value: string) => boolean;

/** Compiles one pattern (valid: see patternProblem). A plain literal is compared, not matched. */
export function compilePattern(text: string): Test {
  const re = regexText(text);
  if (re !== undefined) {
    const r = new RegExp(`^(?:${re.source})$`, re.flags);
    return (v) => r.test(v);
  }
  if (!/[*?]/.test(text)) return (v) => v === text;
  const source = text.replace(/[.+^${}()|[\]\\/]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  const r = new RegExp(`^${source}$`, 's');
  return (v) => r.test(v);
}

interface CompiledList {
  readonly include: ReadonlyArray<{ readonly text: string; readonly test: Test }>;
  readonly exclude: ReadonlyArray<{ readonly text: string; readonly test: Test }>;
}

function compileList(l: PatternList | undefined): CompiledList | undefined {
  if (l === undefined) return undefined;
  const c = (xs: readonly string[] | undefined): CompiledList['include'] => (xs ?? []).map((text) => ({ text, test: compilePattern(text) }));
  const out = { include: c(l.include), exclude: c(l.exclude) };
  return out.include.length + out.exclude.length === 0 ? undefined : out;
}

/** Undefined when `v` passes `l`, else the rule that stops it (`exclude "x"`, `include`). */
function refusal(l: CompiledList, v: string): string | undefined {
  for (const p of l.exclude) if (p.test(v)) return `exclude ${JSON.stringify(p.text)}`;
  if (l.include.length === 0) return undefined;
  for (const p of l.include) if (p.test(v)) return undefined;
  return 'include (no pattern matches)';
}

/** Rules compiled for repeated use. */
export interface CompiledSelection {
  /** True when the rules select everything (no list set): callers may skip the work. */
  readonly everything: boolean;
  apply(s: Service): SelectionOutcome;
}

const compiled = new WeakMap<SelectionRules, CompiledSelection>();

const EVERYTHING: CompiledSelection = { everything: true, apply: (s) => ({ kept: s, excludedEndpoints: 0 }) };

/** The rules compiled (memoised per rules object); undefined rules select everything. */
export function compileSelection(rules: SelectionRules | undefined): CompiledSelection {
  if (rules === undefined) return EVERYTHING;
  let c = compiled.get(rules);
  if (c === undefined) compiled.set(rules, (c = build(rules)));
  return c;
}

function build(rules: SelectionRules): CompiledSelection {
  const names = compileList(rules.services);
  const namespaces = compileList(rules.namespaces);
  const attributes = Object.entries(rules.attributes ?? {}).flatMap(([k, l]) => {
    const c = compileList(l);
    return c === undefined ? [] : [[k, c] as const];
  });
  const metadata = Object.entries(rules.endpoints?.metadata ?? {}).flatMap(([k, l]) => {
    const c = compileList(l);
    return c === undefined ? [] : [[k, c] as const];
  });
  const scope = rules.endpoints?.scope ?? EndpointScope.ENDPOINTS;
  if (names === undefined && namespaces === undefined && attributes.length === 0 && metadata.length === 0) return EVERYTHING;
  const matches = (labels: Readonly<Record<string, string>>): boolean =>
    metadata.every(([k, l]) => refusal(l, Object.hasOwn(labels, k) ? (labels[k] ?? '') : '') === undefined);
  return {
    everything: false,
    apply(s: Service): SelectionOutcome {
      const out = (why: string): SelectionOutcome => ({ excluded: why, endpoints: s.endpoints.length });
      let why = names === undefined ? undefined : refusal(names, s.name);
      if (why !== undefined) return out(`services.${why}`);
      why = namespaces === undefined ? undefined : refusal(namespaces, s.namespace ?? '');
      if (why !== undefined) return out(`namespaces.${why}`);
      for (const [k, l] of attributes) {
        why = refusal(l, Object.hasOwn(s.attributes, k) ? (s.attributes[k] ?? '') : '');
        if (why !== undefined) return out(`attributes.${k}.${why}`);
      }
      if (metadata.length === 0) return { kept: s, excludedEndpoints: 0 };
      if (scope === EndpointScope.SERVICES) {
        return s.endpoints.some((e) => matches(e.labels)) ? { kept: s, excludedEndpoints: 0 } : out('endpoints.metadata (no endpoint matches)');
      }
      const kept = s.endpoints.filter((e) => matches(e.labels));
      if (kept.length === s.endpoints.length) return { kept: s, excludedEndpoints: 0 };
      return { kept: { ...s, endpoints: kept }, excludedEndpoints: s.endpoints.length - kept.length };
    },
  };
}
