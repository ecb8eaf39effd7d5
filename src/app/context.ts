import type { MeshbridgeError } from '../errors/index.js';
import type { Logger, Metrics } from '../observability/index.js';
import type { RegistryContext } from '../registry/types.js';

/** Problems a registry reported, newest last, for /debug and `meshbridge check`. */
export interface ReportedProblem {
  readonly registry: string;
  readonly code: string;
  readonly path: string | undefined;
  readonly message: string;
  readonly time: string;
}

const KEEP = 200;

/** Problems of one code (ProblemLog.byCode): how many since start, where, and the latest one. */
export interface ProblemCount {
  readonly code: string;
  /** Reported since the process started (not only those still in the ring). */
  readonly count: number;
  readonly registries: readonly string[];
  readonly last: ReportedProblem;
}

/**
 * The RegistryContext handed to every adapter: each reported problem is logged once, counted
 * (meshbridge_registry_errors_total by code) and kept in a bounded ring for /debug/problems.
 */
export class ProblemLog {
  private readonly items: ReportedProblem[] = [];
  private readonly counts = new Map<string, { count: number; registries: Set<string>; last: ReportedProblem }>();
  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  contextFor(registry: string): RegistryContext {
    return {
      report: (problem: MeshbridgeError): void => this.report(registry, problem),
    };
  }

  report(registry: string, problem: MeshbridgeError): void {
    this.metrics.registryErrors.inc({ registry, code: problem.code });
    this.logger.warn({ registry, code: problem.code, path: problem.path }, problem.message);
    const item: ReportedProblem = { registry, code: problem.code, path: problem.path, message: problem.message, time: new Date().toISOString() };
    this.items.push(item);
    const c = this.counts.get(item.code);
    if (c === undefined) this.counts.set(item.code, { count: 1, registries: new Set([registry]), last: item });
    else {
      c.count++;
      c.registries.add(registry);
      c.last = item;
    }
    if (this.items.length > KEEP) this.items.splice(0, this.items.length - KEEP);
  }

  /** One entry per code ever reported, most frequent first (then by code). O(codes). */
  byCode(): ProblemCount[] {
    return [...this.counts.entries()]
      .map(([code, c]) => ({ code, count: c.count, registries: [...c.registries].sort(), last: c.last }))
      .sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
  }

  list(registry?: string): readonly ReportedProblem[] {
    return registry === undefined ? [...this.items] : this.items.filter((p) => p.registry === registry);
  }
}
