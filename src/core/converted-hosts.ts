/**
 * What each live host publishes: its conversion output, cached per host, with the listener
 * addresses the address plan gives it (docs/mapping.md#listener-addresses), and the listener
 * conflicts of every ServiceEntry handed out (the hosts' and the shared ones).
 *
 * Contract:
 * - convert() reuses a host's output while its input is made of the same service objects (the
 *   fixed point of conversion, since equal input and form give equal output); otherwise it
 *   converts again, passing the host's previous form as `previousForm` (the hysteresis around
 *   the inline limit), reports the result and updates the host's listener claim.
 * - addressed() gives a host's resources with its current addresses (rebuilt only when those
 *   changed) and keeps its ServiceEntry in the listener conflicts; `touched` says it changed.
 * - drop() forgets a host: its output, claim and listener-conflict entry.
 * - reconvertAll(): the conversion options changed (a reload); every host is converted again on
 *   its next convert(), keeping its form (hysteresis) and its place in the address plan.
 * - `conversion` is the pipeline's own map, read on every conversion: a reload updates it.
 */
import type { ConversionOptions, ConvertInput } from '../convert/options.js';
import { formOf } from '../convert/form.js';
import { claimOf, withAddresses, type ListenerClaim } from '../convert/addresses.js';
import { ResourceKind, type IstioResource } from '../snapshot/index.js';
import { AddressIndex, NO_ADDRESSES } from './address-index.js';
import { ListenerConflicts, type ListenerConflict } from './listener-conflicts.js';
import { VipPool } from './vip-pool.js';
import type { ConvertOutput } from './pipeline-options.js';
import type { AddressStats, PipelineReport } from './pipeline-report.js';

export interface ConvertedHostsOptions {
  /** Range VIPs are taken from. */
  readonly vipCidr: string;
  readonly conversion: ReadonlyMap<string, ConversionOptions>;
  readonly convert: (input: ConvertInput, options: ConversionOptions) => ConvertOutput;
  /** Told of every fresh conversion. */
  readonly report: Pick<PipelineReport, 'converted'>;
}

interface CacheEntry {
  readonly input: ConvertInput;
  readonly output: ConvertOutput;
  readonly claim: ListenerClaim | undefined;
  /** output.resources with the addresses `addressed` was built for. */
  addresses: readonly string[];
  addressed: readonly IstioResource[];
  /** The ServiceEntry last recorded in the listener conflicts. */
  noted: IstioResource | undefined;
  /** ConvertedHosts.generation when converted: an older one is converted again. */
  readonly generation: number;
}

export class ConvertedHosts {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly addresses: AddressIndex;
  private readonly listeners = new ListenerConflicts();
  /** The shared ServiceEntries last recorded in the listener conflicts, by key. */
  private readonly sharedNoted = new Map<string, IstioResource>();
  /** Bumped by reconvertAll(). */
  private generation = 0;

  constructor(private readonly o: ConvertedHostsOptions) {
    this.addresses = new AddressIndex(new VipPool(o.vipCidr));
  }

  /** The host's conversion output for `fresh` (see the module contract). */
  convert(fresh: ConvertInput): ConvertOutput {
    const prev = this.cache.get(fresh.host);
    if (prev !== undefined && prev.generation === this.generation && sameInput(prev.input, fresh)) return prev.output;
    const previousForm = prev === undefined ? undefined : formOf(prev.output.resources);
    const input: ConvertInput = previousForm === undefined ? fresh : { ...fresh, previousForm };
    const opts = this.o.conversion.get(input.primary.registry);
    if (opts === undefined) return { resources: [], problems: [], droppedLabels: 0 };
    const output = this.o.convert(input, opts);
    this.o.report.converted(input.primary.registry, output);
    // Hosts in mode none take no part in the address plan: no claim to compute on this path.
    const mode = opts.addresses ?? 'none';
    const claim = mode === 'none' ? undefined : claimOf(input.host, output.resources);
    this.addresses.update(input.host, claim, mode);
    this.cache.set(input.host, { input, output, claim, addresses: NO_ADDRESSES, addressed: output.resources, noted: prev?.noted, generation: this.generation });
    return output;
  }

  /**
   * `host`'s resources with its current listener addresses (rebuilt when those changed), its
   * ServiceEntry noted in the listener conflicts; undefined when the host has no conversion.
   */
  addressed(host: string): { resources: readonly IstioResource[]; touched: boolean } | undefined {
    const entry = this.cache.get(host);
    if (entry === undefined) return undefined;
    const addrs = this.addresses.addressesOf(host);
    if (entry.addresses !== addrs) {
      entry.addresses = addrs;
      entry.addressed = withAddresses(entry.output.resources, addrs);
    }
    // Only a ServiceEntry takes part in the listener conflicts (a host may publish Services only).
    const first = entry.addressed[0];
    const se = first?.kind === ResourceKind.ServiceEntry ? first : undefined;
    let touched = false;
    if (entry.noted !== se) {
      if (entry.noted !== undefined && entry.noted.key !== se?.key) this.listeners.update(entry.noted.key, undefined);
      if (se !== undefined) this.listeners.update(se.key, se);
      entry.noted = se;
      touched = true;
    }
    return { resources: entry.addressed, touched };
  }

  /** The host's converted ServiceEntry (no listener addresses needed), if it has one. */
  serviceEntryOf(host: string): IstioResource | undefined {
    const se = this.cache.get(host)?.output.resources[0];
    return se?.kind === 'ServiceEntry' ? se : undefined;
  }

  /** Every host is converted again on its next convert() (the options changed). */
  reconvertAll(): void {
    this.generation += 1;
  }

  drop(host: string): void {
    const entry = this.cache.get(host);
    if (entry?.noted !== undefined) this.listeners.update(entry.noted.key, undefined);
    this.cache.delete(host);
    this.addresses.update(host, undefined, 'none');
  }

  /** Drops every host not in `live`. */
  keepOnly(live: ReadonlySet<string>): void {
    // Every cached host is live unless the cache holds more hosts than are live.
    if (this.cache.size > live.size) for (const host of [...this.cache.keys()]) if (!live.has(host)) this.drop(host);
  }

  /** Redoes the address plan for the claims updated since the last settle (AddressIndex.settle). */
  settle(): ReturnType<AddressIndex['settle']> {
    return this.addresses.settle();
  }

  /** The shared ServiceEntries; with `changed`, first recorded in the listener conflicts. */
  shared(changed: boolean): readonly IstioResource[] {
    const shared = this.addresses.sharedResources();
    if (changed) this.noteShared(shared);
    return shared;
  }

  /** How many listener conflicts there are now. */
  get conflictCount(): number {
    return this.listeners.size;
  }

  listenerConflicts(): ListenerConflict[] {
    return this.listeners.list();
  }

  addressStats(): AddressStats {
    return this.addresses.stats();
  }

  sharedGroups(): ReturnType<AddressIndex['sharedGroups']> {
    return this.addresses.sharedGroups();
  }

  /** Records the shared ServiceEntries in the listener conflicts. */
  private noteShared(shared: readonly IstioResource[]): void {
    const conflicts = this.listeners;
    const live = new Set<string>();
    for (const r of shared) {
      live.add(r.key);
      if (this.sharedNoted.get(r.key) !== r) {
        conflicts.update(r.key, r);
        this.sharedNoted.set(r.key, r);
      }
    }
    for (const k of [...this.sharedNoted.keys()]) {
      if (live.has(k)) continue;
      conflicts.update(k, undefined);
      this.sharedNoted.delete(k);
    }
  }
}

function sameInput(a: ConvertInput, b: ConvertInput): boolean {
  if (a.primary !== b.primary || a.origins.length !== b.origins.length) return false;
  if (a.ports === b.ports && a.endpoints === b.endpoints) return true;
  if (a.ports.length !== b.ports.length || a.endpoints.length !== b.endpoints.length) return false;
  for (let i = 0; i < a.ports.length; i++) if (a.ports[i] !== b.ports[i]) return false;
  for (let i = 0; i < a.endpoints.length; i++) if (a.endpoints[i] !== b.endpoints[i]) return false;
  return true;
}
