/**
 * Dubbo provider URLs as ZooKeeper stores them: the node name under `/dubbo/<interface>/providers`
 * is `URLEncoder.encode(url.toFullString(), "UTF-8")` (Java's form encoding: `+` is a space), e.g.
 * `dubbo%3A%2F%2F10.0.0.5%3A20880%2Forg.apache.dubbo.demo.DemoService%3Fapplication%3Ddemo%26...`.
 * After decoding, parameters are raw `key=value` pairs separated by `&` (Dubbo does not encode them).
 */

/** A parsed Dubbo URL. Parameters keep their first occurrence; keys are case-sensitive. */
export interface DubboUrl {
  readonly protocol: string;
  /** As written, without brackets for IPv6. */
  readonly host: string;
  readonly port: number;
  /** The path without its leading `/` (the interface name for providers). */
  readonly path: string;
  readonly params: ReadonlyMap<string, string>;
}

export type DubboUrlResult =
  | { readonly type: 'ok'; readonly url: DubboUrl }
  | { readonly type: 'invalid'; readonly reason: string };

const PROTOCOL = /^[A-Za-z][A-Za-z0-9+.-]*$/;

/** Java `URLDecoder.decode(s, UTF-8)`: `+` is a space, `%XX` are UTF-8 bytes. Undefined if malformed. */
export function decodeNodeName(name: string): string | undefined {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * Parses one decoded Dubbo URL (`protocol://[user[:pw]@]host:port/path?k=v&...`). Contract: pure;
 * never throws; a URL without protocol, host or a numeric port is invalid (the port range is the
 * caller's check, so the reason can name it). With `portOptional` (consumer URLs carry no port)
 * a missing port reads as 0.
 */
export function parseDubboUrl(text: string, options: { readonly portOptional?: boolean } = {}): DubboUrlResult {
  const invalid = (reason: string): DubboUrlResult => ({ type: 'invalid', reason });
  const sep = text.indexOf('://');
  if (sep <= 0) return invalid('not a URL (no "protocol://")');
  const protocol = text.slice(0, sep);
  if (!PROTOCOL.test(protocol)) return invalid(`bad protocol "${clip(protocol)}"`);
  let rest = text.slice(sep + 3);
  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  const slash = rest.indexOf('/');
  const authority = slash >= 0 ? rest.slice(0, slash) : rest;
  const path = slash >= 0 ? rest.slice(slash + 1) : '';
  const at = authority.lastIndexOf('@');
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
  const hp = splitHostPort(hostPort, options.portOptional === true);
  if (typeof hp === 'string') return invalid(hp);
  const [host, portText] = hp;
  if (host.length === 0) return invalid('no host');
  if (!/^[0-9]{1,6}$/.test(portText)) return invalid(`port "${clip(portText)}" is not a number`);
  const params = new Map<string, string>();
  if (query.length > 0) {
    for (const pair of query.split('&')) {
      if (pair.length === 0) continue;
      const eq = pair.indexOf('=');
      const key = (eq >= 0 ? pair.slice(0, eq) : pair).trim();
      const value = eq >= 0 ? pair.slice(eq + 1) : '';
      if (key.length > 0 && !params.has(key)) params.set(key, value);
    }
  }
  return { type: 'ok', url: { protocol: protocol.toLowerCase(), host, port: Number(portText), path, params } };
}

/** `host:port` or `[v6]:port` -> [host, port text]; a missing port is '0' when optional; else why not. */
function splitHostPort(hostPort: string, portOptional: boolean): readonly [string, string] | string {
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close < 0) return `unterminated IPv6 address in "${clip(hostPort)}"`;
    const after = hostPort.slice(close + 1);
    if (after === '' && portOptional) return [hostPort.slice(1, close), '0'];
    if (!after.startsWith(':')) return `no port in "${clip(hostPort)}"`;
    return [hostPort.slice(1, close), after.slice(1)];
  }
  const colon = hostPort.lastIndexOf(':');
  if (colon >= 0) return [hostPort.slice(0, colon), hostPort.slice(colon + 1)];
  return portOptional ? [hostPort, '0'] : `no port in "${clip(hostPort)}"`;
}

/** Shortens user-supplied text for messages. */
export function clip(s: string, max = 60): string {
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}
