import { ErrorCode, MeshbridgeError } from '../../errors/index.js';
import type { Logger, Metrics } from '../../observability/index.js';
import type { HeldDeletion, HostClash } from './plan.js';

/**
 * Where coded problems are listed (/debug/problems) and counted by code: the app's ProblemLog
 * has this shape. It logs what it is handed.
 */
export interface ProblemReporter {
  report(registry: string, problem: MeshbridgeError): void;
}

/**
 * Reports a plan's clashes and held deletions: the gauge every pass, each distinct clash or
 * hold logged (and a hold counted) once per process, not once per pass. With `problems`, a new
 * clash is handed to it (under the registry of our resource, MB_HOST_CONFLICT) instead of being
 * logged here.
 */
export class PlanReporter {
  private readonly reportedClashes = new Set<string>();
  private readonly reportedHeld = new Set<string>();

  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly maxDeletePercent: number,
    private readonly problems?: ProblemReporter | undefined,
  ) {}

  /** `registryOf`: the registry (label) of one of our resources, by key. */
  report(clashes: readonly HostClash[], held: readonly HeldDeletion[], registryOf: (resource: string) => string = () => ''): void {
    this.metrics.kubeClashes.set(clashes.length);
    for (const c of clashes) {
      const k = `${c.resource}|${c.claimedBy}`;
      if (this.reportedClashes.has(k)) continue;
      this.reportedClashes.add(k);
      if (this.problems !== undefined) {
        const message = `${c.claimedBy}, an object Meshbridge does not own, claims host or name ${c.host}; skipping it`;
        const details = { host: c.host, claimedBy: c.claimedBy };
        this.problems.report(registryOf(c.resource), new MeshbridgeError(ErrorCode.HOST_CONFLICT, message, { path: c.resource, details }));
        continue;
      }
      this.logger.warn({ code: ErrorCode.HOST_CONFLICT, resource: c.resource, host: c.host, claimedBy: c.claimedBy }, 'an object Meshbridge does not own claims this host or name; skipping it');
    }
    for (const h of held) {
      const k = `${h.registry}|${h.kind}|${h.wouldDelete}|${h.owned}`;
      if (this.reportedHeld.has(k)) continue;
      this.reportedHeld.add(k);
      this.metrics.protectHeld.inc({ registry: h.registry });
      this.logger.error(
        { code: ErrorCode.PROTECT_HELD, registry: h.registry, kind: h.kind, wouldDelete: h.wouldDelete, owned: h.owned },
        `refusing to delete ${h.wouldDelete} of ${h.owned} ${h.kind === 'ServiceEntry' ? 'ServiceEntries' : 'WorkloadEntries'} of registry ${h.registry} in one pass (protect threshold ${this.maxDeletePercent}%); none of the registry's deletions happen`,
      );
    }
  }
}
