import { ErrorCode } from '../../errors/index.js';
import { normaliseHost, isPort } from './address.js';
import { clip, decodeNodeName, parseDubboUrl } from './dubbo-url.js';
import type { EndpointPart } from './build-service.js';

/** One provider URL of an interface, ready to become (part of) an endpoint. */
export interface ProviderEntry {
  /** Dubbo protocol of the URL (`dubbo`, `tri`, ...), lowercase. */
  readonly protocol: string;
  readonly address: string;
  readonly port: number;
  /** '' when the provider sets none. */
  readonly group: string;
  /** '' when the provider sets none. */
  readonly version: string;
  readonly weight?: number;
  readonly labels: Readonly<Record<string, string>>;
  /** Diagnostic id: `protocol://address:port`. */
  readonly id: string;
  /** The `timestamp` parameter (ms), only to pair the URLs of one process; never in the model. */
  readonly registeredAt?: number;
}

export type ProviderParse =
  | { readonly type: 'ok'; readonly entry: ProviderEntry }
  /** `enabled=false` or `disabled=true`: the provider is switched off, not an error. */
  | { readonly type: 'disabled' }
  /** A URL of another category (consumers, routers, ...) or a non-provider side: ignored. */
  | { readonly type: 'ignored' }
  | { readonly type: 'invalid'; readonly code: ErrorCode; readonly message: string };

/**
 * URL parameters that do not become endpoint labels: volatile ones (a re-registration that only
 * changes them must not change the model), ones the model carries elsewhere (weight, enabled),
 * long lists, and secrets (`token`).
 */
export const DROPPED_PARAMETERS: ReadonlySet<string> = new Set([
  'timestamp',
  'pid',
  'methods',
  'interface',
  'weight',
  'enabled',
  'disabled',
  'token',
  'anyhost',
  'generic',
  'dynamic',
  'deprecated',
  'background',
  'bind.ip',
  'bind.port',
  'category',
  'service-name-mapping',
  'register-mode',
  'executor-management-mode',
  'file-cache',
  'prefer.serialization',
  'qos.enable',
  'metadata-type',
  'register',
  'ipv6',
  'check',
]);

const MAX_WEIGHT = 4294967295;

/**
 * Parses one node name under `/dubbo/<interfaceName>/providers`. Contract: pure, never throws.
 * The interface is the folder's (what consumers subscribe to), whatever the URL's path says.
 * Group and version come from the `group`/`version` parameters; the other parameters (minus
 * DROPPED_PARAMETERS) are labels.
 */
export function parseProviderNode(nodeName: string): ProviderParse {
  const text = decodeNodeName(nodeName);
  if (text === undefined) return { type: 'invalid', code: ErrorCode.ENTRY_INVALID, message: 'node name is not URL-encoded text; provider skipped' };
  const parsed = parseDubboUrl(text);
  if (parsed.type === 'invalid') {
    return { type: 'invalid', code: ErrorCode.ENTRY_INVALID, message: `not a Dubbo provider URL: ${parsed.reason}; provider skipped` };
  }
  const { url } = parsed;
  const p = url.params;
  if (url.protocol === 'consumer' || url.protocol === 'override' || url.protocol === 'route' || url.protocol === 'empty') return { type: 'ignored' };
  const category = p.get('category');
  if (category !== undefined && category !== '' && category !== 'providers') return { type: 'ignored' };
  if (p.get('enabled') === 'false' || p.get('disabled') === 'true') return { type: 'disabled' };
  const address = normaliseHost(url.host);
  if (address === undefined) {
    return { type: 'invalid', code: ErrorCode.ENTRY_BAD_ADDRESS, message: `host "${clip(url.host)}" is not a usable IP address or DNS name; provider skipped` };
  }
  if (!isPort(url.port)) return { type: 'invalid', code: ErrorCode.ENTRY_BAD_PORT, message: `port ${url.port} is outside 1-65535; provider skipped` };
  const weight = readWeight(p.get('weight'));
  if (weight === 'invalid') return { type: 'invalid', code: ErrorCode.ENTRY_INVALID, message: `weight "${clip(p.get('weight') ?? '')}" is not an integer >= 0; provider skipped` };
  const labels = new Map<string, string>();
  for (const [k, v] of p) if (!DROPPED_PARAMETERS.has(k)) labels.set(k, v);
  return {
    type: 'ok',
    entry: {
      protocol: url.protocol,
      address,
      port: url.port,
      group: p.get('group') ?? '',
      version: p.get('version') ?? '',
      ...(weight !== undefined ? { weight } : {}),
      labels: Object.fromEntries(labels),
      id: `${url.protocol}://${url.host.includes(':') ? `[${address}]` : address}:${url.port}`,
      ...(/^[0-9]{1,15}$/.test(p.get('timestamp') ?? '') ? { registeredAt: Number(p.get('timestamp')) } : {}),
    },
  };
}

/** The `weight` parameter: absent/empty is undefined; anything but an integer 0..2^32-1 is invalid. */
function readWeight(w: string | undefined): number | undefined | 'invalid' {
  if (w === undefined || w === '') return undefined;
  const n = /^[0-9]{1,10}$/.test(w) ? Number(w) : NaN;
  return n <= MAX_WEIGHT ? n : 'invalid';
}

/**
 * The name of an interface-level service: the interface, prefixed by the version and the group
 * when the provider sets them, most specific first as in DNS (`1.0.0.g1.com.example.Foo`). It is
 * Dubbo's service key (`g1/com.example.Foo:1.0.0`) reordered so that `{name}` renders a valid
 * host; `{interface}`, `{group}` and `{version}` stay available as attributes.
 */
export function interfaceServiceName(interfaceName: string, group: string, version: string): string {
  return [version, group, interfaceName].filter((x) => x !== '').join('.');
}

/** The endpoint part (build-service.ts) of one parsed provider URL. */
export function providerPart(e: ProviderEntry): EndpointPart {
  return {
    address: e.address,
    protocol: e.protocol,
    port: e.port,
    labels: e.labels,
    id: e.id,
    ...(e.weight !== undefined ? { weight: e.weight } : {}),
    ...(e.registeredAt !== undefined ? { order: e.registeredAt } : {}),
  };
}

