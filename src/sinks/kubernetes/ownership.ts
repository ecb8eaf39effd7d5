import { OwnershipLabel } from '../../snapshot/index.js';
import type { ObservedObject } from './observed.js';

/**
 * Whose an object in the cluster is, seen from one Meshbridge instance (ADR 0014):
 * - `ours`: managed-by=meshbridge and meshbridge.io/instance equal to our instance.
 * - `legacy`: managed-by=meshbridge, no instance label (written before instances existed), and
 *   a registry label naming a registry in our config. Ours to adopt: it is updated (which stamps
 *   our instance label) and may be pruned like our own.
 * - `foreign`: everything else: hand-made objects, another instance's, and legacy objects of a
 *   registry we do not configure (we cannot tell whose they are). Never written or deleted; their
 *   hosts and names are claims our objects clash with.
 */
export type Ownership = 'ours' | 'legacy' | 'foreign';

export interface OwnerIdentity {
  readonly instance: string;
  /** Registry names in today's config: only they make a legacy object adoptable. */
  readonly registries: ReadonlySet<string>;
}

export function ownershipOf(o: Pick<ObservedObject, 'labels'>, id: OwnerIdentity): Ownership {
  const l = o.labels;
  if (l[OwnershipLabel.MANAGED_BY] !== OwnershipLabel.MANAGED_BY_VALUE) return 'foreign';
  const inst = l[OwnershipLabel.INSTANCE];
  if (inst !== undefined) return inst === id.instance ? 'ours' : 'foreign';
  const reg = l[OwnershipLabel.REGISTRY];
  return reg !== undefined && id.registries.has(reg) ? 'legacy' : 'foreign';
}

/** Ours or adoptable (see Ownership). */
export function isOwned(o: Pick<ObservedObject, 'labels'>, id: OwnerIdentity): boolean {
  return ownershipOf(o, id) !== 'foreign';
}

/** The server-side-apply field manager of an instance. */
export function fieldManagerFor(instance: string): string {
  return `meshbridge-${instance}`;
}

/**
 * The field manager every Meshbridge used before instances existed. After adopting a legacy
 * object the sink applies an empty configuration as this manager, so it gives up its fields
 * (they stay, owned by our manager alone) and later removals of fields take effect.
 */
export const LEGACY_FIELD_MANAGER = 'meshbridge';
