import { ErrorCode } from '../../errors/index.js';
import { clip, decodeNodeName, parseDubboUrl } from './dubbo-url.js';

/**
 * Dubbo consumer registrations: `/dubbo/<interface>/consumers/<URL-encoded consumer URL>`, e.g.
 * `consumer://10.0.0.7/org.apache.dubbo.demo.DemoService?application=shop&category=consumers&
 * group=g1&version=1.0.0&side=consumer&...` (no port). Only the application and what it asks
 * for (group, version) matter: they say which services the application's proxies need.
 */

/** One consumer URL: the application and the group/version it subscribes to ('' when unset). */
export interface ConsumerEntry {
  readonly application: string;
  readonly group: string;
  readonly version: string;
}

export type ConsumerParse =
  | { readonly type: 'ok'; readonly entry: ConsumerEntry }
  /** A URL of another category or side (providers, routers, configurators): ignored. */
  | { readonly type: 'ignored' }
  | { readonly type: 'invalid'; readonly code: ErrorCode; readonly message: string };

/** An application name Meshbridge accepts: what Dubbo allows, bounded (it becomes a label value). */
const APPLICATION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/**
 * Parses one node name under `/dubbo/<interface>/consumers`. Contract: pure, never throws. The
 * interface is the folder's; a consumer URL needs `application` (a name of letters, digits, `.`,
 * `_`, `-`), anything else is invalid; other categories and sides are ignored.
 */
export function parseConsumerNode(nodeName: string): ConsumerParse {
  const text = decodeNodeName(nodeName);
  if (text === undefined) return invalid('node name is not URL-encoded text');
  const parsed = parseDubboUrl(text, { portOptional: true });
  if (parsed.type === 'invalid') return invalid(`not a Dubbo consumer URL: ${parsed.reason}`);
  const { url } = parsed;
  const p = url.params;
  const category = p.get('category');
  if (category !== undefined && category !== '' && category !== 'consumers') return { type: 'ignored' };
  const side = p.get('side');
  if (url.protocol !== 'consumer' && side !== 'consumer') return { type: 'ignored' };
  const application = p.get('application') ?? '';
  if (application === '') return invalid('no application parameter');
  if (!APPLICATION.test(application)) return invalid(`application "${clip(application)}" is not a name of letters, digits, ".", "_" and "-"`);
  return { type: 'ok', entry: { application, group: p.get('group') ?? '', version: p.get('version') ?? '' } };
}

function invalid(reason: string): ConsumerParse {
  return { type: 'invalid', code: ErrorCode.ENTRY_INVALID, message: `${reason}; consumer skipped` };
}

/**
 * Whether a consumer asking for `c.group`/`c.version` uses a provider of `group`/`version`, as
 * Dubbo matches them (UrlUtils.isMatch): group `*`, equal, or a comma list naming it; version
 * `*` or equal. Unset is '' on both sides, so an unset group matches only unset providers.
 */
export function consumes(c: ConsumerEntry, group: string, version: string): boolean {
  const groupOk = c.group === '*' || c.group === group || (c.group.includes(',') && c.group.split(',').some((g) => g.trim() === group));
  return groupOk && (c.version === '*' || c.version === version);
}

/** The applications among `nodes` that consume (group, version), sorted and unique. */
export function consumingApplications(nodes: Iterable<ConsumerParse>, group: string, version: string): string[] {
  const apps = new Set<string>();
  for (const n of nodes) if (n.type === 'ok' && consumes(n.entry, group, version)) apps.add(n.entry.application);
  return [...apps].sort();
}
