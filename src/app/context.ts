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

/**
 * The RegistryContext handed to every adapter: each reported problem is logged once, counted
 * (meshbridge_registry_errors_total by code) and kept in a bounded ring for /debug/problems.
 */
export class ProblemLog {
  private readonly items: ReportedProblem[] = [];
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
    this.items.push({
      registry,
      code: problem.code,
      path: problem.path,
      message: problem.message,
      time: new Date().toISOString(),
    });
    if (this.items.length > KEEP) this.items.splice(0, this.items.length - KEEP);
  }

  list(registry?: string): readonly ReportedProblem[] {
    return registry === undefined ? [...this.items] : this.items.filter((p) => p.registry === registry);
  }
}
