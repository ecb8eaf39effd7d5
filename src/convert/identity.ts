/**
 * Identity: the Kubernetes service account a registry endpoint runs as, so istiod can give it a
 * SPIFFE identity (`spiffe://<trust domain>/ns/<namespace>/sa/<account>`) for mTLS and
 * AuthorizationPolicy (docs/identity.md). Pure.
 *
 * Contract:
 * - The template is text with placeholders: {name}, {namespace}, {registry}, {kind} (the
 *   service's), {attributes.KEY} (a service attribute) and {labels.KEY} (the endpoint's instance
 *   metadata). identityTemplateProblem() says why a template is unusable (checked at config load).
 * - A placeholder whose value is absent or empty leaves the endpoint without a rendered account:
 *   it gets `fallback` when set, else no service account. Nothing is reported (a registry that
 *   does not know the value is not an error).
 * - A rendered account found in `map` is replaced by the map's value; other values stay as
 *   rendered (the table translates application names into account names).
 * - The result must be a DNS-1123 subdomain (what Kubernetes accepts as a ServiceAccount name);
 *   when it is not, the endpoint is published without a service account and the caller reports
 *   MB_IDENTITY_INVALID. It never falls back to `fallback` then: an endpoint whose identity is
 *   wrong gets none rather than someone else's.
 * - Templates are compiled once per rules object.
 */
import type { Endpoint, Service } from '../model/index.js';
import { isDnsSubdomain } from './names.js';

export interface IdentityRules {
  /** Template of the account (see the module contract), e.g. `{attributes.application}`. */
  readonly serviceAccount: string;
  /** Rendered value -> account name. */
  readonly map?: Readonly<Record<string, string>> | undefined;
  /** The account when the template cannot be rendered (a placeholder without a value). */
  readonly fallback?: string | undefined;
}

/** The account of one endpoint, or why it has none (`invalid`: the rendered, unusable text). */
export type IdentityResult = { readonly account: string } | { readonly none: true } | { readonly invalid: string };

const BUILTINS = ['name', 'namespace', 'registry', 'kind'] as const;
type Builtin = (typeof BUILTINS)[number];

type Part = { readonly text: string } | { readonly builtin: Builtin } | { readonly attribute: string } | { readonly label: string };

/** Why `t` is not a usable identity template, or undefined. */
export function identityTemplateProblem(t: string): string | undefined {
  const stripped = t.replace(/\{[^{}]*\}/g, 'x');
  if (/[{}]/.test(stripped)) return `unbalanced "{" or "}" in ${JSON.stringify(t)}`;
  for (const m of t.matchAll(/\{([^{}]*)\}/g)) {
    const inner = m[1] ?? '';
    if ((BUILTINS as readonly string[]).includes(inner)) continue;
    if (/^(attributes|labels)\.[^\s{}]+$/.test(inner)) continue;
    return `unknown placeholder {${inner}}: use ${BUILTINS.map((b) => `{${b}}`).join(', ')}, {attributes.KEY} or {labels.KEY}`;
  }
  if (t === '') return 'must not be empty';
  return undefined;
}

/** True for a DNS-1123 subdomain (a Kubernetes ServiceAccount name). */
export function isServiceAccountName(s: string): boolean {
  return isDnsSubdomain(s);
}

const compiledTemplates = new WeakMap<IdentityRules, readonly Part[]>();

function partsOf(rules: IdentityRules): readonly Part[] {
  let parts = compiledTemplates.get(rules);
  if (parts !== undefined) return parts;
  const out: Part[] = [];
  let last = 0;
  for (const m of rules.serviceAccount.matchAll(/\{([^{}]*)\}/g)) {
    if (m.index > last) out.push({ text: rules.serviceAccount.slice(last, m.index) });
    const inner = m[1] ?? '';
    if (inner.startsWith('attributes.')) out.push({ attribute: inner.slice('attributes.'.length) });
    else if (inner.startsWith('labels.')) out.push({ label: inner.slice('labels.'.length) });
    else out.push({ builtin: inner as Builtin });
    last = m.index + m[0].length;
  }
  if (last < rules.serviceAccount.length) out.push({ text: rules.serviceAccount.slice(last) });
  parts = out;
  compiledTemplates.set(rules, parts);
  return parts;
}

function own(r: Readonly<Record<string, string>>, k: string): string | undefined {
  return Object.hasOwn(r, k) ? r[k] : undefined;
}

function builtinOf(s: Service, b: Builtin): string | undefined {
  switch (b) {
    case 'name':
      return s.name;
    case 'namespace':
      return s.namespace;
    case 'registry':
      return s.registry;
    case 'kind':
      return s.registryKind;
  }
}

/** The template rendered for `e` of `s`; undefined when a placeholder has no value. */
export function renderIdentity(rules: IdentityRules, s: Service, e: Endpoint): string | undefined {
  let out = '';
  for (const p of partsOf(rules)) {
    const v = 'text' in p ? p.text : 'builtin' in p ? builtinOf(s, p.builtin) : 'attribute' in p ? own(s.attributes, p.attribute) : own(e.labels, p.label);
    if (v === undefined || v === '') return undefined;
    out += v;
  }
  return out;
}

/** The service account of endpoint `e` of service `s` (see the module contract). */
export function serviceAccountOf(rules: IdentityRules, s: Service, e: Endpoint): IdentityResult {
  const rendered = renderIdentity(rules, s, e);
  if (rendered === undefined) return rules.fallback !== undefined ? { account: rules.fallback } : { none: true };
  const account = rules.map !== undefined ? (own(rules.map, rendered) ?? rendered) : rendered;
  return isServiceAccountName(account) ? { account } : { invalid: account };
}
