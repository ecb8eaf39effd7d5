import type { ConversionOptions } from '../convert/options.js';
import type { Service } from '../model/index.js';
import type { Logger } from '../observability/index.js';
import { SseHub } from '../observability/sse.js';
import { buildStatus, type StatusSources } from './status.js';
import { hostResolver, listServices, objectsForHost } from './status-services.js';

/**
 * The admin endpoints behind the status page (docs/operations.md#status-page):
 * - GET /debug/status:   the summary (status.ts), the same value the event stream pushes;
 * - GET /debug/services: the searchable service list (?q, ?registry, ?limit, ?offset);
 * - GET /debug/objects:  the published objects of one host as YAML (?host);
 * - GET /debug/events:   server-sent `status` events: the summary, at most once a second while
 *   it changes, heartbeats every 15 s (SseHub).
 */
export function statusEndpoints(
  app: StatusSources,
  conversion: ReadonlyMap<string, ConversionOptions>,
  hostFor: (s: Service, o: ConversionOptions) => string,
  logger: Logger,
): { pages: ReadonlyMap<string, (q: URLSearchParams) => unknown>; events: SseHub } {
  const hostOf = hostResolver(conversion, hostFor);
  const pages = new Map<string, (q: URLSearchParams) => unknown>([
    ['status', () => buildStatus(app)],
    ['services', (q) => listServices(app.registries, hostOf, q)],
    ['objects', (q) => objectsForHost(app.store.current(), q)],
  ]);
  return { pages, events: new SseHub({ produce: () => buildStatus(app), logger }) };
}
