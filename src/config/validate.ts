import { parseCidr } from '../core/vip-pool.js';
import { isIP } from 'node:net';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { Defaults } from './defaults.js';
import { formatPath, pointerSegments, type PathSegment } from './path.js';
import type { RawConfig, RawRegistry } from './raw.js';
import { PatternText } from './schema.js';
import { loadValidator } from './validator-code.js';
import { registryKinds, registryKindSpec } from '../registry/kinds.js';
import { patternProblem, type PatternList, type SelectionRules } from '../convert/selection.js';
import { identityTemplateProblem, isServiceAccountName } from '../convert/identity.js';

/** One thing wrong with the config, at a key path such as `registries[0].file.path`. */
export interface Problem {
  readonly path: string;
  readonly message: string;
}

let held: WeakRef<ValidateFunction<RawConfig>> | undefined;

/**
 * The runtime validator (validator-code.ts), loaded on first use (not at import: imports do no
 * work) and held only weakly: a process validates at start and on a reload, and in between the
 * precompiled module (its source, schema constants and bytecode, ~1.5 MiB of heap) is left to
 * the next full GC. Validations in a row share one load.
 */
function validator(): ValidateFunction<RawConfig> {
  let v = held?.deref();
  if (v === undefined) {
    v = loadValidator().validate;
    held = new WeakRef(v);
  }
  return v;
}

/**
 * Validates a substituted document against the runtime schema.
 *
 * Contract: returns the typed document and no problems, or undefined and every problem ajv found
 * (allErrors), each with a key path and what was expected. Values at `redacted` paths (those that
 * came from the environment) are never quoted.
 */
export function checkSchema(doc: unknown, redacted: ReadonlySet<string>): { config: RawConfig | undefined; problems: Problem[] } {
  const validate = validator();
  if (validate(doc)) return { config: doc, problems: [] };
  const problems = (validate.errors ?? []).flatMap((e) => describeAjvError(e, doc, redacted));
  return { config: undefined, problems: dedupe(problems) };
}

function describeAjvError(e: ErrorObject, doc: unknown, redacted: ReadonlySet<string>): Problem[] {
  const at = pointerSegments(e.instancePath, doc);
  const got = (): string => show(e.data, formatPath(at), redacted);
  const p = e.params as Record<string, unknown>;
  if (e.propertyName !== undefined) {
    // An inner propertyNames error: the key itself is wrong.
    const key = formatPath([...at, e.propertyName]);
    const what = e.keyword === 'pattern' ? `must be ${patternText(p['pattern'])}` : (e.message ?? 'is invalid');
    return [{ path: key, message: `invalid key: ${what}` }];
  }
  switch (e.keyword) {
    case 'if':
    case 'propertyNames':
      return []; // the inner errors say it
    case 'required':
      return [{ path: formatPath([...at, String(p['missingProperty'])]), message: 'is required' }];
    case 'additionalProperties': {
      const key = String(p['additionalProperty']);
      const allowed = Object.keys(propertiesOf(e.parentSchema));
      const near = closest(key, allowed);
      const hint = near !== undefined ? ` (did you mean "${near}"?)` : '';
      return [{ path: formatPath([...at, key]), message: `unknown key${hint}; expected one of: ${allowed.join(', ')}` }];
    }
    case 'type':
      return [{ path: formatPath(at), message: `must be ${typeText(p['type'])}, got ${got()}` }];
    case 'enum': {
      const allowed = (p['allowedValues'] as unknown[]).map((v) => String(v));
      return [{ path: formatPath(at), message: `must be one of: ${allowed.join(', ')}; got ${got()}` }];
    }
    case 'pattern':
      return [{ path: formatPath(at), message: `must be ${patternText(p['pattern'])}; got ${got()}` }];
    case 'minItems':
      if (formatPath(at) === 'registries') return [{ path: 'registries', message: 'at least one registry is required' }];
      return [{ path: formatPath(at), message: e.message ?? 'has too few items' }];
    case 'minProperties': {
      const names = Object.keys(propertiesOf(e.parentSchema)).join(', ');
      return [{ path: formatPath(at), message: `must configure at least one of: ${names}` }];
    }
    case 'uniqueItems':
      return [{ path: formatPath(at), message: 'must not list a value twice' }];
    default:
      return [{ path: formatPath(at), message: `${e.message ?? 'is invalid'}; got ${got()}` }];
  }
}

function propertiesOf(schema: unknown): Record<string, unknown> {
  if (schema !== null && typeof schema === 'object' && 'properties' in schema) {
    const props = schema.properties;
    if (props !== null && typeof props === 'object') return props as Record<string, unknown>;
  }
  return {};
}

function patternText(pattern: unknown): string {
  const s = String(pattern);
  return PatternText[s] ?? `a string matching ${s}`;
}

function typeText(t: unknown): string {
  const names = Array.isArray(t) ? t.map(String) : [String(t)];
  const words = names.map((n) => (n === 'object' ? 'a mapping' : n === 'array' ? 'a list' : n === 'null' ? 'null' : `a${/^[aeiou]/.test(n) ? 'n' : ''} ${n}`));
  return words.join(' or ');
}

/** A short rendering of a value for messages; values from the environment are never shown. */
function show(v: unknown, path: string, redacted: ReadonlySet<string>): string {
  if (redacted.has(path)) return 'a value from the environment';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  const text = JSON.stringify(v);
  const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return typeof v === 'string' ? `string ${shown}` : `${typeof v} ${shown}`;
}

/** The allowed key nearest to `key` (case-insensitive or edit distance <= 2), if any. */
export function closest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const a of allowed) {
    const d = a.toLowerCase() === key.toLowerCase() ? 0 : distance(a, key);
    if (d < bestD) {
      bestD = d;
      best = a;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, sub));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

function dedupe(problems: readonly Problem[]): Problem[] {
  const seen = new Set<string>();
  const out: Problem[] = [];
  for (const p of problems) {
    const k = `${p.path}\u0000${p.message}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(p);
  }
  return out;
}

/** Placeholders the host template always offers; any other lower-camel-case name is a service attribute. */
export const HOST_TEMPLATE_BUILTINS: readonly string[] = ['name', 'namespace', 'registry', 'kind'];

/**
 * Checks the schema cannot express: unique registry names, host:port addresses, host templates,
 * label keys, port keys and the ordering of related durations. Runs only on schema-valid input.
 */
export function checkSemantics(c: RawConfig, redacted: ReadonlySet<string>): Problem[] {
  const problems: Problem[] = [];
  const add = (at: readonly PathSegment[], message: string): void => {
    problems.push({ path: formatPath(at), message });
  };
  /** Quotes a value in a message, unless it came from the environment. */
  const q = (at: readonly PathSegment[]): Quote => (redacted.has(formatPath(at)) ? () => 'the value from the environment' : (v) => `"${v}"`);
  const firstIndex = new Map<string, number>();
  c.registries.forEach((r, i) => {
    const seen = firstIndex.get(r.name);
    if (seen !== undefined) add(['registries', i, 'name'], `duplicate registry name ${q(['registries', i, 'name'])(r.name)} (also registries[${seen}].name)`);
    else firstIndex.set(r.name, i);
    checkRegistry(r, ['registries', i], add, q);
  });
  const d = c.debounce;
  if (d?.quietPeriodMs !== undefined || d?.maxDelayMs !== undefined) {
    const quiet = d.quietPeriodMs ?? Defaults.debounce.quietPeriodMs;
    const max = d.maxDelayMs ?? Defaults.debounce.maxDelayMs;
    if (max < quiet) add(['debounce', 'maxDelayMs'], `must be >= debounce.quietPeriodMs (${quiet}); got ${max}`);
  }
  if (c.sinks?.xds !== undefined) checkXds(c.sinks.xds, add, q);
  const le = c.sinks?.kubernetes?.leaderElection;
  if (le !== undefined) {
    const lease = le.leaseDurationSeconds ?? Defaults.leaderElection.leaseDurationSeconds;
    const renew = le.renewDeadlineSeconds ?? Defaults.leaderElection.renewDeadlineSeconds;
    const retry = le.retryPeriodSeconds ?? Defaults.leaderElection.retryPeriodSeconds;
    const at = ['sinks', 'kubernetes', 'leaderElection'];
    if (lease <= renew) add([...at, 'leaseDurationSeconds'], `must exceed renewDeadlineSeconds (${renew}); got ${lease}`);
    if (renew <= retry) add([...at, 'renewDeadlineSeconds'], `must exceed retryPeriodSeconds (${retry}); got ${renew}`);
  }
  checkCheckpoint(c.checkpoint, add);
  if (c.vipCidr !== undefined) {
    try {
      parseCidr(c.vipCidr);
    } catch (e) {
      add(['vipCidr'], e instanceof Error ? e.message.replace(/^vipCidr "[^"]*": /, '') : String(e));
    }
  }
  const admin = c.admin?.address;
  if (typeof admin === 'string' && admin !== '') {
    const m = addressProblem(admin, q(['admin', 'address']));
    if (m !== undefined) add(['admin', 'address'], m);
  }
  return problems;
}

function checkXds(x: NonNullable<NonNullable<RawConfig['sinks']>['xds']>, add: (at: readonly PathSegment[], message: string) => void, q: (at: readonly PathSegment[]) => Quote): void {
  const m = addressProblem(x.address, q(['sinks', 'xds', 'address']));
  if (m !== undefined) {
    add(['sinks', 'xds', 'address'], m);
    return;
  }
  const port = Number(/:(\d+)$/.exec(x.address)?.[1] ?? 0);
  const shards = x.shards ?? 1;
  if (port > 0 && port + shards - 1 > 65535) add(['sinks', 'xds', 'shards'], `${shards} shards from port ${port} go past port 65535`);
}

function checkCheckpoint(cp: RawConfig['checkpoint'], add: (at: readonly PathSegment[], message: string) => void): void {
  if (cp?.path !== undefined && cp.configMap !== undefined) add(['checkpoint', 'configMap'], 'set checkpoint.path (a file) or checkpoint.configMap, not both');
  if (cp?.intervalSeconds !== undefined && cp.path === undefined && cp.configMap === undefined) {
    add(['checkpoint'], 'needs path (a file) or configMap; without either no checkpoint is kept');
  }
}

function checkRegistry(
  r: RawRegistry,
  at: readonly PathSegment[],
  add: (at: readonly PathSegment[], m: string) => void,
  q: (at: readonly PathSegment[]) => Quote,
): void {
  if (r.hostTemplate !== undefined) {
    const m = hostTemplateProblem(r.hostTemplate, q([...at, 'hostTemplate']));
    if (m !== undefined) add([...at, 'hostTemplate'], m);
  }
  for (const key of Object.keys(r.portProtocols ?? {})) {
    if (/^[0-9]+$/.test(key) && !(Number(key) >= 1 && Number(key) <= 65535)) {
      add([...at, 'portProtocols', key], 'invalid key: a port number must be 1-65535');
    }
  }
  for (const key of Object.keys(r.labels ?? {})) {
    const m = labelKeyProblem(key);
    if (m !== undefined) add([...at, 'labels', key], `invalid key: ${m}`);
  }
  checkSelect(r.select, [...at, 'select'], add);
  if (r.identity !== undefined) {
    const m = identityTemplateProblem(r.identity.serviceAccount);
    if (m !== undefined) add([...at, 'identity', 'serviceAccount'], m);
    // The schema's pattern does not bound each DNS label to 63 characters.
    const accounts: Array<[readonly PathSegment[], string]> = Object.entries(r.identity.map ?? {}).map(([k, v]) => [[...at, 'identity', 'map', k], v]);
    if (r.identity.fallback !== undefined) accounts.push([[...at, 'identity', 'fallback'], r.identity.fallback]);
    for (const [where, v] of accounts) if (!isServiceAccountName(v)) add(where, 'must be a service account name: a DNS-1123 subdomain whose labels have at most 63 characters');
  }
  const spec = registryKindSpec(r.kind);
  if (r.sidecars !== undefined && spec.reportsConsumers !== true) {
    add([...at, 'sidecars'], `a ${r.kind} registry does not report consumers; sidecars needs one that does (${Object.values(registryKinds).filter((k) => k.reportsConsumers === true).map((k) => k.kind).join(', ')})`);
  }
  for (const [key, value] of Object.entries(r.sidecars?.workloadLabels ?? {})) {
    const unknown = [...value.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]).filter((n) => n !== 'application');
    if (unknown.length > 0) add([...at, 'sidecars', 'workloadLabels', key], `unknown placeholder {${unknown[0] ?? ''}}: only {application} is known`);
  }
  const block = r[r.kind];
  if (spec.check !== undefined && block !== undefined) spec.check(block, (sub, m) => add([...at, r.kind, ...sub], m));
}

/** Every pattern of a select block compiles (globs always do; /regular expressions/ may not). */
function checkSelect(sel: SelectionRules | undefined, at: readonly PathSegment[], add: (at: readonly PathSegment[], m: string) => void): void {
  if (sel === undefined) return;
  const list = (l: PatternList | undefined, where: readonly PathSegment[]): void => {
    for (const side of ['include', 'exclude'] as const) {
      (l?.[side] ?? []).forEach((p, i) => {
        const m = patternProblem(p);
        if (m !== undefined) add([...where, side, i], m);
      });
    }
  };
  list(sel.services, [...at, 'services']);
  list(sel.namespaces, [...at, 'namespaces']);
  for (const [k, l] of Object.entries(sel.attributes ?? {})) list(l, [...at, 'attributes', k]);
  for (const [k, l] of Object.entries(sel.endpoints?.metadata ?? {})) list(l, [...at, 'endpoints', 'metadata', k]);
}

/** Renders a (possibly secret) value inside a message. */
export type Quote = (value: string) => string;
const plain: Quote = (v) => `"${v}"`;

/** Why `t` is not a usable host template, or undefined. */
export function hostTemplateProblem(t: string, q: Quote = plain): string | undefined {
  const names: string[] = [];
  const re = /\{([^{}]*)\}/g;
  const stripped = t.replace(re, (_m, inner: string) => {
    names.push(inner);
    return 'x';
  });
  if (/[{}]/.test(stripped)) return `unbalanced "{" or "}" in host template ${q(t)}`;
  for (const n of names) {
    if (!/^[a-z][A-Za-z0-9]*$/.test(n)) {
      return `unknown placeholder {${n}}: use ${HOST_TEMPLATE_BUILTINS.map((b) => `{${b}}`).join(', ')} or a service attribute in lower camel case (e.g. {group})`;
    }
  }
  if (!names.includes('name')) return `host template ${q(t)} must contain {name} (else every service gets the same host)`;
  if (!/^[a-z0-9.-]*$/.test(stripped)) return `host template ${q(t)} may only contain lower-case letters, digits, "-", "." and placeholders`;
  if (/^[.-]|[.-]$|\.\./.test(stripped)) return `host template ${q(t)} must not start or end with "." or "-" nor contain ".."`;
  return undefined;
}

/** Why `a` is not `host:port` (IPv4, [IPv6] or DNS name; port 0-65535), or undefined. */
export function addressProblem(a: string, q: Quote = plain): string | undefined {
  const expected = 'expected host:port (e.g. 127.0.0.1:15050, [::]:15050, localhost:15050)';
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):([0-9]{1,5})$/.exec(a);
  if (m === null) {
    return isIP(a) === 6 ? `an IPv6 address needs brackets and a port, e.g. [::1]:15050; got ${q(a)}` : `${expected}; got ${q(a)}`;
  }
  const [, v6, host, port] = m;
  if (v6 !== undefined && isIP(v6) !== 6) return `not an IPv6 address in brackets: ${q(a)}; ${expected}`;
  if (host !== undefined) {
    if (host === '') return `missing host; ${expected} (0.0.0.0 for all interfaces)`;
    const dns = /^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$/;
    if (isIP(host) === 0 && (!dns.test(host) || /^[0-9.]+$/.test(host))) return `host is not an IP address or host name: ${q(a)}; ${expected}`;
  }
  if (Number(port) > 65535) return `port is out of range 0-65535: ${q(a)}`;
  return undefined;
}

function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : '';
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (name.length > 63) return 'label name (after the prefix) is longer than 63 characters';
  if (prefix.length > 253) return 'label prefix is longer than 253 characters';
  if (prefix === 'meshbridge.io' || prefix.endsWith('.meshbridge.io') || key === 'app.kubernetes.io/managed-by') {
    return 'reserved for Meshbridge ownership labels';
  }
  return undefined;
}
