/**
 * The registries' selection rules (ConversionOptions.selection, convert/selection.ts) as the
 * flush passes apply them, and what they excluded, for /debug/selection and the
 * meshbridge_selection_excluded_* gauges.
 *
 * Contract:
 * - outcome(s) is the rules of s's registry applied to s, memoised per service object (adapters
 *   replace a service object on every change) until reset(): a reload changed the rules.
 * - pick(s) is the service to publish: s itself, s with fewer endpoints (the same object for the
 *   same s), or undefined when it is excluded.
 * - note(registry, key, outcome) records the latest outcome of a service key (undefined: the key
 *   is gone); restart(registry) forgets a registry's records before a full pass notes them all
 *   again; retain(names) forgets registries no longer passed over.
 * - The deletion guard never sees any of this: it judges the registry's own view, so a selection
 *   that narrows (a reload) is not a loss, and excluded services still count for the registry's
 *   health (docs/mapping.md#selection).
 */
import type { Service } from '../model/index.js';
import type { ConversionOptions } from '../convert/options.js';
import { compileSelection, type SelectionOutcome } from '../convert/selection.js';

/** One excluded service, or one whose endpoints were narrowed. */
export interface SelectionRecord {
  readonly service: string;
  /** The rule that excluded the service; undefined: kept with fewer endpoints. */
  readonly rule: string | undefined;
  /** Endpoints not published because of the rules (all of an excluded service's). */
  readonly endpoints: number;
}

/** Per registry: how many services and endpoints the rules keep out. */
export interface SelectionStats {
  readonly registry: string;
  readonly excludedServices: number;
  readonly excludedEndpoints: number;
  /** Services published with only part of their endpoints. */
  readonly narrowedServices: number;
}

interface RegistryRecords {
  readonly byKey: Map<string, SelectionRecord>;
  services: number;
  endpoints: number;
  narrowed: number;
}

export class ServiceSelection {
  private cache = new WeakMap<Service, SelectionOutcome>();
  private readonly records = new Map<string, RegistryRecords>();

  /** `conversion` is the pipeline's own map (read on every call: a reload changes it). */
  constructor(private readonly conversion: ReadonlyMap<string, ConversionOptions>) {}

  /** The rules changed: every outcome is worked out again. */
  reset(): void {
    this.cache = new WeakMap();
  }

  outcome(s: Service): SelectionOutcome {
    const rules = compileSelection(this.conversion.get(s.registry)?.selection);
    if (rules.everything) return { kept: s, excludedEndpoints: 0 };
    let o = this.cache.get(s);
    if (o === undefined) this.cache.set(s, (o = rules.apply(s)));
    return o;
  }

  pick(s: Service): Service | undefined {
    const o = this.outcome(s);
    return 'kept' in o ? o.kept : undefined;
  }

  /** Forgets `registry`'s records (a full pass notes them again). */
  restart(registry: string): void {
    this.records.delete(registry);
  }

  /** Forgets the registries not in `names`. */
  retain(names: ReadonlySet<string>): void {
    for (const r of [...this.records.keys()]) if (!names.has(r)) this.records.delete(r);
  }

  /** Records the outcome for `key` of `registry` (undefined: the service is gone). */
  note(registry: string, key: string, s: Service | undefined): void {
    const o = s === undefined ? undefined : this.outcome(s);
    let rs = this.records.get(registry);
    const before = rs?.byKey.get(key);
    const after: SelectionRecord | undefined =
      o === undefined || s === undefined
        ? undefined
        : 'excluded' in o
          ? { service: s.name, rule: o.excluded, endpoints: o.endpoints }
          : o.excludedEndpoints > 0
            ? { service: s.name, rule: undefined, endpoints: o.excludedEndpoints }
            : undefined;
    if (before === undefined && after === undefined) return;
    if (rs === undefined) this.records.set(registry, (rs = { byKey: new Map(), services: 0, endpoints: 0, narrowed: 0 }));
    if (before !== undefined) {
      rs.byKey.delete(key);
      this.count(rs, before, -1);
    }
    if (after !== undefined) {
      rs.byKey.set(key, after);
      this.count(rs, after, 1);
    }
  }

  private count(rs: RegistryRecords, r: SelectionRecord, sign: 1 | -1): void {
    if (r.rule !== undefined) rs.services += sign;
    else rs.narrowed += sign;
    rs.endpoints += sign * r.endpoints;
  }

  /** The counts of every registry in `registries` (zeros when nothing is excluded). */
  stats(registries: readonly string[]): SelectionStats[] {
    return registries.map((registry) => {
      const rs = this.records.get(registry);
      return { registry, excludedServices: rs?.services ?? 0, excludedEndpoints: rs?.endpoints ?? 0, narrowedServices: rs?.narrowed ?? 0 };
    });
  }

  /** Up to `limit` records of `registry`, by service name. */
  list(registry: string, limit: number): SelectionRecord[] {
    const rs = this.records.get(registry);
    if (rs === undefined || limit <= 0) return [];
    return [...rs.byKey.values()].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0)).slice(0, limit);
  }
}
