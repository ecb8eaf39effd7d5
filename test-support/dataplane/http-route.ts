/**
 * Envoy's HTTP routing (router/config_impl.cc): the virtual host by the request's host (exact
 * domain, then the longest suffix wildcard "*.x" / "*-x", then the longest prefix wildcard "x.*",
 * then "*"), then the first route of that host whose match holds.
 */
import type { HeaderMatcher, Route, RouteConfiguration, RouteMatch, StringMatcher, VirtualHost } from './types.js';
import { unwrap } from './types.js';

export interface HttpRequestFacts {
  /** :authority / Host, as sent (case is ignored). */
  readonly authority: string;
  /** :path with query; default '/'. */
  readonly path: string;
  /** Request headers, lower-case names, pseudo-headers included (':method', ':authority', ...). */
  readonly headers: Readonly<Record<string, string>>;
}

interface VhostIndex {
  readonly exact: ReadonlyMap<string, VirtualHost>;
  /** Suffix wildcards by suffix (domain without its leading '*'), longest first. */
  readonly suffixes: ReadonlyArray<readonly [string, VirtualHost]>;
  /** Prefix wildcards by prefix (domain without its trailing '*'), longest first. */
  readonly prefixes: ReadonlyArray<readonly [string, VirtualHost]>;
  readonly any: VirtualHost | undefined;
}

const indexes = new WeakMap<RouteConfiguration, VhostIndex>();

function indexOf(rc: RouteConfiguration): VhostIndex {
  const cached = indexes.get(rc);
  if (cached !== undefined) return cached;
  const exact = new Map<string, VirtualHost>();
  const suffixes: Array<[string, VirtualHost]> = [];
  const prefixes: Array<[string, VirtualHost]> = [];
  let any: VirtualHost | undefined;
  // Envoy refuses duplicate domains; the first one is kept here.
  for (const vh of rc.virtual_hosts ?? []) {
    for (const raw of vh.domains ?? []) {
      const d = raw.toLowerCase();
      if (d === '*') any ??= vh;
      else if (d.startsWith('*')) suffixes.push([d.slice(1), vh]);
      else if (d.endsWith('*')) prefixes.push([d.slice(0, -1), vh]);
      else if (!exact.has(d)) exact.set(d, vh);
    }
  }
  const longestFirst = (a: readonly [string, VirtualHost], b: readonly [string, VirtualHost]): number => b[0].length - a[0].length;
  const idx: VhostIndex = { exact, suffixes: suffixes.sort(longestFirst), prefixes: prefixes.sort(longestFirst), any };
  indexes.set(rc, idx);
  return idx;
}

/** Host without ":port" (IPv6 literals keep their brackets). */
export function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end < 0 ? host : host.slice(0, end + 1);
  }
  const colon = host.lastIndexOf(':');
  return colon >= 0 && host.indexOf(':') === colon && /^\d+$/.test(host.slice(colon + 1)) ? host.slice(0, colon) : host;
}

/** The virtual host Envoy picks for `host` (already port-stripped if the config says so), and how. */
export function selectVirtualHost(rc: RouteConfiguration, host: string): { vhost: VirtualHost; how: string } | undefined {
  const h = host.toLowerCase();
  const idx = indexOf(rc);
  const exact = idx.exact.get(h);
  if (exact !== undefined) return { vhost: exact, how: `exact domain "${h}"` };
  for (const [suffix, vh] of idx.suffixes) if (h.length > suffix.length && h.endsWith(suffix)) return { vhost: vh, how: `suffix wildcard "*${suffix}"` };
  for (const [prefix, vh] of idx.prefixes) if (h.length > prefix.length && h.startsWith(prefix)) return { vhost: vh, how: `prefix wildcard "${prefix}*"` };
  if (idx.any !== undefined) return { vhost: idx.any, how: 'default domain "*"' };
  return undefined;
}

const regexes = new Map<string, RegExp>();

/** A RE2 pattern as a full-match JS RegExp (the subset istiod emits is compatible). */
function fullMatch(pattern: string, flags = ''): RegExp {
  const key = `${flags}/${pattern}`;
  let r = regexes.get(key);
  if (r === undefined) {
    r = new RegExp(`^(?:${pattern})$`, flags);
    regexes.set(key, r);
  }
  return r;
}

function stringMatches(m: StringMatcher, value: string): boolean {
  const ci = m.ignore_case === true;
  const v = ci ? value.toLowerCase() : value;
  const t = (s: string): string => (ci ? s.toLowerCase() : s);
  if (m.exact !== undefined) return v === t(m.exact);
  if (m.prefix !== undefined) return v.startsWith(t(m.prefix));
  if (m.suffix !== undefined) return v.endsWith(t(m.suffix));
  if (m.contains !== undefined) return v.includes(t(m.contains));
  if (m.safe_regex?.regex !== undefined) return fullMatch(m.safe_regex.regex).test(value);
  return true;
}

function headerMatches(hm: HeaderMatcher, headers: Readonly<Record<string, string>>): boolean {
  const value = headers[(hm.name ?? '').toLowerCase()];
  let ok: boolean;
  if (hm.present_match !== undefined) ok = (value !== undefined) === hm.present_match;
  else if (value === undefined) ok = false;
  else if (hm.exact_match !== undefined) ok = value === hm.exact_match;
  else if (hm.prefix_match !== undefined) ok = value.startsWith(hm.prefix_match);
  else if (hm.suffix_match !== undefined) ok = value.endsWith(hm.suffix_match);
  else if (hm.contains_match !== undefined) ok = value.includes(hm.contains_match);
  else if (hm.safe_regex_match?.regex !== undefined) ok = fullMatch(hm.safe_regex_match.regex).test(value);
  else if (hm.string_match !== undefined) ok = stringMatches(hm.string_match, value);
  else ok = true; // only a name: the header must be present
  return hm.invert_match === true ? !ok : ok;
}

/** Whether a route's match holds for the request (path without query; headers; grpc). */
export function routeMatches(m: RouteMatch | undefined, req: HttpRequestFacts): boolean {
  if (m === undefined) return false;
  const q = req.path.indexOf('?');
  const path = q >= 0 ? req.path.slice(0, q) : req.path;
  const cs = unwrap(m.case_sensitive, false) ?? true;
  const p = cs ? path : path.toLowerCase();
  const t = (s: string): string => (cs ? s : s.toLowerCase());
  let ok: boolean;
  if (m.prefix !== undefined) ok = p.startsWith(t(m.prefix));
  else if (m.path !== undefined) ok = p === t(m.path);
  else if (m.safe_regex?.regex !== undefined) ok = fullMatch(m.safe_regex.regex).test(path);
  else if (m.path_separated_prefix !== undefined) {
    const pre = t(m.path_separated_prefix);
    ok = p === pre || p.startsWith(`${pre}/`);
  } else ok = false; // a path specifier Envoy has that this does not model
  if (!ok) return false;
  if (m.grpc !== undefined && !(req.headers['content-type'] ?? '').startsWith('application/grpc')) return false;
  return (m.headers ?? []).every((h) => headerMatches(h, req.headers));
}

/** The first route of `vhost` that matches, with its index. */
export function selectRoute(vhost: VirtualHost, req: HttpRequestFacts): { route: Route; index: number } | undefined {
  const routes = vhost.routes ?? [];
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i]!;
    if (routeMatches(r.match, req)) return { route: r, index: i };
  }
  return undefined;
}
