import type { Logger } from '../../observability/index.js';
import { NacosRequestError } from './connection.js';
import { parseServiceKey, type ServiceRef } from './map.js';
import type { NacosMessage } from './wire.js';

/**
 * The naming requests a session makes and the pushes it reads, as plain data over a request
 * function (the adapter's, which re-logs in once on an expired token). Pure but for `request`.
 */
export type NamingRequest = (type: string, body: object) => Promise<Record<string, unknown>>;

/** The body fields naming one service in a request. */
export function nacosRef(ref: ServiceRef): { namespace: string; groupName: string; serviceName: string } {
  return { namespace: ref.namespace, groupName: ref.group, serviceName: ref.name };
}

/** Every service name of one namespace x group, page by page (ServiceListRequest). */
export async function listServiceNames(request: NamingRequest, namespace: string, group: string, pageSize: number): Promise<string[]> {
  const names: string[] = [];
  for (let pageNo = 1; ; pageNo++) {
    const res = await request('ServiceListRequest', { namespace, groupName: group, serviceName: '', pageNo, pageSize, selector: '' });
    const page = Array.isArray(res['serviceNames']) ? res['serviceNames'].filter((n): n is string => typeof n === 'string' && n !== '') : [];
    names.push(...page);
    const count = typeof res['count'] === 'number' ? res['count'] : 0;
    if (page.length < pageSize || names.length >= count) return names;
  }
}

/** Starts fuzzy watch on every namespace x group; false when the server does not offer it (2.x). */
export async function startFuzzyWatch(request: NamingRequest, namespaces: readonly string[], groups: readonly string[], log: Logger): Promise<boolean> {
  try {
    for (const namespace of namespaces) {
      for (const group of groups) {
        await request('NamingFuzzyWatchRequest', {
          namespace,
          groupKeyPattern: `${namespace}>>${group}>>*`,
          watchType: 'WATCH',
          initializing: true,
          receivedGroupKeys: [],
        });
      }
    }
    return true;
  } catch (e) {
    if (!(e instanceof NacosRequestError)) throw e;
    log.info({ err: e.message }, 'server has no fuzzy watch (Nacos 2.x?): re-listing the service set periodically');
    return false;
  }
}

/**
 * The service a NotifySubscriberRequest is about: its group and name (a `group@@name` name cut to
 * the name), its namespace when the push carries one (Nacos 3.x's do not), and its ServiceInfo.
 */
export function notifyTarget(body: Readonly<Record<string, unknown>>): { namespace: string | undefined; group: string; name: string; info: unknown } {
  const info = body['serviceInfo'];
  const infoRec = (typeof info === 'object' && info !== null ? info : {}) as Record<string, unknown>;
  const group = str(body['groupName']) ?? str(infoRec['groupName']) ?? '';
  const rawName = str(body['serviceName']) ?? str(infoRec['name']) ?? '';
  const name = rawName.includes('@@') ? rawName.slice(rawName.indexOf('@@') + 2) : rawName;
  return { namespace: str(body['namespace']), group, name, info };
}

/** The services a fuzzy-watch push (sync or change notification) names, with their change types. */
export function fuzzyChanges(m: NacosMessage): Array<{ ref: ServiceRef; changed: unknown }> {
  const b = m.body;
  const contexts = m.type === 'NamingFuzzyWatchSyncRequest' ? (Array.isArray(b['contexts']) ? (b['contexts'] as unknown[]) : []) : [b];
  const out: Array<{ ref: ServiceRef; changed: unknown }> = [];
  for (const c of contexts) {
    const cr = (typeof c === 'object' && c !== null ? c : {}) as Record<string, unknown>;
    const ref = parseServiceKey(cr['serviceKey']);
    if (ref !== undefined) out.push({ ref, changed: cr['changedType'] });
  }
  return out;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
