import { Counter } from 'prom-client';
import type { Metrics } from '../../observability/index.js';

export const RENDER_WRITES_METRIC = 'meshbridge_render_writes_total';

export type RenderWrites = Counter<'op' | 'result'>;

/**
 * `meshbridge_render_writes_total{op="write"|"delete"|"stream", result="ok"|"error"}`, on the
 * Metrics registry. Registered on first use, shared by every render sink of that registry.
 */
export function renderWrites(metrics: Metrics): RenderWrites {
  const existing = metrics.registry.getSingleMetric(RENDER_WRITES_METRIC);
  if (existing instanceof Counter) return existing;
  return new Counter({
    name: RENDER_WRITES_METRIC,
    help: 'Files written or deleted by the render sink (op write/delete), or snapshots written to its stream (op stream), by result.',
    labelNames: ['op', 'result'] as const,
    registers: [metrics.registry],
  });
}
