import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { ErrorCode, MeshbridgeError } from '../errors/index.js';
import { serviceKey, type Service } from '../model/index.js';
import { contentHash } from '../util/hash.js';
import type { ConversionOptions } from './options.js';

/** Kubernetes / DNS limits (RFC 1123 as Kubernetes applies it). */
export const MAX_DNS_LABEL = 63;
export const MAX_DNS_SUBDOMAIN = 253;
/** Length of the hash suffix appended to shortened or rewritten names. */
const HASH_LEN = 10;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Dot-separated DNS_LABEL syntax (no length limits). */
const DNS_SUBDOMAIN_SYNTAX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** True when `s` is one lowercase RFC 1123 label (1-63 characters). */
export function isDnsLabel(s: string): boolean {
  return s.length <= MAX_DNS_LABEL && DNS_LABEL.test(s);
}

/**
 * True when `s` is a lowercase RFC 1123 subdomain: dot-separated labels of 1-63 characters, at
 * most 253 in total. This is what Kubernetes requires of object names.
 */
export function isDnsSubdomain(s: string): boolean {
  if (s.length === 0 || s.length > MAX_DNS_SUBDOMAIN || !DNS_SUBDOMAIN_SYNTAX.test(s)) return false;
  // The syntax holds; what is left is the 63-character limit of each label.
  for (let start = 0; ; ) {
    const dot = s.indexOf('.', start);
    const end = dot < 0 ? s.length : dot;
    if (end - start > MAX_DNS_LABEL) return false;
    if (dot < 0) return true;
    start = dot + 1;
  }
}


/**
 * True when `s` can be a ServiceEntry host: a DNS subdomain that is not an IP address and whose
 * last label is not all digits (which resolvers and Istio take for an IPv4 address).
 */
export function isValidHost(s: string): boolean {
  if (!isDnsSubdomain(s) || isIP(s) !== 0) return false;
  const last = s.slice(s.lastIndexOf('.') + 1);
  return !/^[0-9]+$/.test(last);
}

/**
 * Sanitises one placeholder value for use inside a host. Safe, documented rewrites only:
 * - lowercase (DNS names are case-insensitive, so `Foo` and `foo` already name one host);
 * - `_`, `:`, `@`, `/`, whitespace and other ASCII characters outside `[a-z0-9.-]` become `-`;
 * - `-` at the start or end of a label is removed (`_internal` -> `internal`);
 * - a label with non-ASCII characters is IDNA-encoded (`bücher` -> `xn--bcher-kva`), which is
 *   reversible.
 * Dots are kept: they separate labels (Dubbo interface names stay dotted). Nothing is trimmed or
 * shortened; the caller validates the whole host and rejects what is still invalid.
 */
export function sanitizeHostPart(value: string): string {
  // Fast path: ASCII whose labels are already clean (or empty) once lowercased comes out as its
  // lowercase form, exactly what the general path below gives for it.
  if (CLEAN_ASCII_HOST_PART.test(value)) return value.toLowerCase();
  const lower = value.normalize('NFC').toLowerCase();
  return lower
    .split('.')
    .map((label) => {
      // eslint-disable-next-line no-control-regex
      const ascii = label.replace(/[\u0000-\u007f]/g, (c) => (/[a-z0-9-]/.test(c) ? c : '-')).replace(/^-+|-+$/g, '');
      // eslint-disable-next-line no-control-regex
      if (!/[^\u0000-\u007f]/.test(ascii)) return ascii;
      const idn = domainToASCII(ascii);
      // domainToASCII returns '' for what IDNA refuses; keep the input so validation names it.
      return idn.length > 0 && !idn.includes('.') ? idn : ascii;
    })
    .join('.');
}

/** Dot-separated labels, each empty or `[A-Za-z0-9]` at both ends with `[-A-Za-z0-9]` between. */
const CLEAN_ASCII_HOST_PART = /^([A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)?(\.([A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)?)*$/;

const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9_]*)\}/g;

/** The value of one template placeholder for `s`, or undefined when the service has none. */
function placeholderValue(s: Service, name: string): string | undefined {
  switch (name) {
    case 'name':
      return s.name;
    case 'registry':
      return s.registry;
    case 'kind':
      return s.registryKind;
    case 'namespace':
      return s.namespace !== undefined && s.namespace.length > 0 ? s.namespace : undefined;
    default: {
      const v = Object.hasOwn(s.attributes, name) ? s.attributes[name] : undefined;
      return v !== undefined && v.length > 0 ? v : undefined;
    }
  }
}

/**
 * Renders `template` for `s`. `sanitize` is applied to each placeholder value (not to the literal
 * text of the template). A missing value removes its placeholder and one adjacent dot: the one
 * after it, else the one before it.
 */
export function renderTemplate(template: string, s: Service, sanitize: (v: string) => string): string {
  let out = '';
  let last = 0;
  let dropLeadingDot = false;
  for (const m of template.matchAll(PLACEHOLDER)) {
    const start = m.index;
    let literal = template.slice(last, start);
    if (dropLeadingDot && literal.startsWith('.')) literal = literal.slice(1);
    dropLeadingDot = false;
    out += literal;
    last = start + m[0].length;
    const value = placeholderValue(s, m[1] ?? '');
    if (value !== undefined) {
      out += sanitize(value);
    } else if (template[last] === '.') {
      last += 1;
    } else if (out.endsWith('.')) {
      out = out.slice(0, -1);
    } else {
      dropLeadingDot = true;
    }
  }
  let tail = template.slice(last);
  if (dropLeadingDot && tail.startsWith('.')) tail = tail.slice(1);
  return out + tail;
}

/**
 * The Istio host of a service: `options.hostTemplate` rendered with the service's name,
 * namespace, registry, kind and attributes (see ConversionOptions.hostTemplate), placeholder values
 * sanitised by `sanitizeHostPart`, the whole lowercased.
 *
 * Contract: pure and deterministic. Returns a valid host (isValidHost) or throws
 * MeshbridgeError(NAME_INVALID) naming the service, the template and the rendered result. Hosts
 * are never shortened (a shortened host would be a different, surprising name). Sanitising can make
 * two services share a host (`a_b` and `a-b`); the pipeline reports those (core/aggregate.ts).
 */
export function hostFor(service: Service, options: Pick<ConversionOptions, 'hostTemplate'>): string {
  const host = renderTemplate(options.hostTemplate, service, sanitizeHostPart).toLowerCase();
  if (isValidHost(host)) return host;
  throw new MeshbridgeError(ErrorCode.NAME_INVALID, `host "${truncateForMessage(host)}" rendered from "${options.hostTemplate}" is not a valid DNS host (${hostProblem(host)}); service skipped`, {
    path: serviceKey(service),
    details: { registry: service.registry, service: service.name, template: options.hostTemplate, host },
  });
}

function truncateForMessage(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Why `host` is not valid, for messages. */
function hostProblem(host: string): string {
  if (host.length === 0) return 'empty';
  if (host.length > MAX_DNS_SUBDOMAIN) return `${host.length} characters, at most ${MAX_DNS_SUBDOMAIN} allowed`;
  if (isIP(host) !== 0) return 'an IP address is not a host';
  for (const label of host.split('.')) {
    if (label.length === 0) return 'empty label';
    if (label.length > MAX_DNS_LABEL) return `label of ${label.length} characters, at most ${MAX_DNS_LABEL} allowed`;
    if (!DNS_LABEL.test(label)) return `label "${truncateForMessage(label)}" must be [a-z0-9-], starting and ending alphanumeric`;
  }
  return 'the last label is all digits';
}

/**
 * Replaces what a DNS subdomain cannot hold: lowercase, characters outside `[a-z0-9.-]` -> `-`,
 * empty labels removed, labels trimmed of leading/trailing `-`.
 */
function roughSubdomain(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-')
    .split('.')
    .map((l) => l.replace(/^-+|-+$/g, ''))
    .filter((l) => l.length > 0)
    .join('.');
}

/** Shortens `s` to at most `max` characters that end alphanumeric (the next character is '-'). */
function cutTo(s: string, max: number): string {
  return s.slice(0, Math.max(0, max)).replace(/[^a-z0-9]+$/, '');
}

/**
 * A Kubernetes object name (DNS-1123 subdomain, at most `maxLength`, default 253) for `base`.
 *
 * Contract: pure; equal bases give equal names. A base that is already a valid name of allowed
 * length is returned unchanged. Any other base is sanitised (lowercase, invalid characters -> `-`)
 * and shortened, and gets `-<10 hex digits>` (a hash of the ORIGINAL base) appended, so two
 * different bases never share a name: not after sanitising, not after truncating to a common
 * prefix (barring a 40-bit hash collision). Labels stay within 63 characters.
 */
export function objectName(base: string, maxLength: number = MAX_DNS_SUBDOMAIN): string {
  if (base.length <= maxLength && isDnsSubdomain(base)) return base;
  return withHashSuffix(roughSubdomain(base), base, maxLength);
}

/**
 * `prefix` (already rough-sanitised) shortened so that `prefix-<hash(seed)>` fits `maxLength` and
 * its last label fits 63 characters. Always appends the hash.
 */
export function withHashSuffix(prefix: string, seed: string, maxLength: number = MAX_DNS_SUBDOMAIN): string {
  const hash = contentHash(seed).slice(0, HASH_LEN);
  let head = cutTo(roughSubdomain(prefix), maxLength - HASH_LEN - 1);
  // The hash joins the last label: keep that label within 63 characters.
  const dot = head.lastIndexOf('.');
  const lastLabel = head.slice(dot + 1);
  if (lastLabel.length > MAX_DNS_LABEL - HASH_LEN - 1) {
    head = head.slice(0, dot + 1) + cutTo(lastLabel, MAX_DNS_LABEL - HASH_LEN - 1);
  }
  head = head.replace(/[^a-z0-9]+$/, '');
  return head.length > 0 ? `${head}-${hash}` : hash;
}

/** Kubernetes label value syntax: empty, or <= 63 of [A-Za-z0-9_.-] starting and ending alphanumeric. */
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

export function isLabelValue(s: string): boolean {
  return s.length <= MAX_DNS_LABEL && LABEL_VALUE.test(s);
}

/**
 * A label value that stands for `s`: `s` itself when it is a valid label value, else a
 * sanitised, shortened form with a hash of `s` appended (so different inputs stay different).
 */
export function labelValueFor(s: string): string {
  if (isLabelValue(s)) return s;
  return withHashSuffix(s, s, MAX_DNS_LABEL);
}
