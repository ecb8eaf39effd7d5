import { Counter } from 'prom-client';
import type { Metrics } from '../../observability/index.js';

const NAME = 'meshbridge_xds_nacks_total';

/**
 * meshbridge_xds_nacks_total{type_url}: responses a client rejected. Registered on the shared
 * Metrics registry on first use (several servers may share one registry, as tests do).
 * TODO(observability owner): move into Metrics beside the other xds_* metrics.
 */
export function nackCounter(metrics: Metrics): Counter<'type_url'> {
  const existing = metrics.registry.getSingleMetric(NAME);
  if (existing instanceof Counter) return existing;
  return new Counter({
    name: NAME,
    help: 'DiscoveryResponses rejected by a client (NACK), by type URL. istiod never NACKs.',
    labelNames: ['type_url'] as const,
    registers: [metrics.registry],
  });
}
