/**
 * The Sidecars a flush hands the store (docs/mapping.md#sidecars): which published hosts which
 * consumer applications consume, kept per host from the passes' merged inputs, and the Sidecars
 * convertSidecars makes of them, rebuilt only when that changed.
 *
 * Contract:
 * - replaceAll() (a full pass) takes every host's input; update() (an incremental pass) the
 *   inputs of the hosts it redid. Either marks the Sidecars for a rebuild when a host with
 *   consumers (before or now) was among them; a full pass always rebuilds (options may have
 *   changed).
 * - resources() lists only hosts whose ServiceEntry is published (`serviceEntryOf`), with that
 *   ServiceEntry's namespace; registries without `sidecars` contribute nothing.
 * - Each application skipped (MB_SIDECAR_SKIPPED) is reported once, until it is no longer skipped.
 */
import type { ConversionOptions, ConvertInput, HostConsumer } from '../convert/options.js';
import { sanitizeLabels } from '../convert/labels.js';
import { convertSidecars, type ConsumedHost, type SidecarRegistry } from '../convert/sidecars.js';
import type { Registry } from '../registry/types.js';
import type { IstioResource } from '../snapshot/index.js';
import type { PipelineReport } from './pipeline-report.js';

export interface SidecarPassOptions {
  /** In precedence order; the pipeline's own list, read on every rebuild. */
  readonly registries: readonly Registry[];
  readonly conversion: ReadonlyMap<string, ConversionOptions>;
  readonly report: Pick<PipelineReport, 'skipped'>;
}

export class SidecarPass {
  private consumed = new Map<string, readonly HostConsumer[]>();
  private dirty = true;
  private built: readonly IstioResource[] = [];
  private reported = new Set<string>();

  constructor(private readonly o: SidecarPassOptions) {}

  /** A full pass: `inputs` are every host's. */
  replaceAll(inputs: readonly ConvertInput[]): void {
    const next = new Map<string, readonly HostConsumer[]>();
    for (const i of inputs) if (i.consumers !== undefined && i.consumers.length > 0) next.set(i.host, i.consumers);
    this.consumed = next;
    this.dirty = true;
  }

  /** An incremental pass redid `affected`; `inputs` are those of them that still have an input. */
  update(affected: ReadonlySet<string>, inputs: readonly ConvertInput[]): void {
    for (const host of affected) if (this.consumed.delete(host)) this.dirty = true;
    for (const i of inputs) {
      if (i.consumers === undefined || i.consumers.length === 0) continue;
      this.consumed.set(i.host, i.consumers);
      this.dirty = true;
    }
  }

  /** The Sidecars now, rebuilt when the consumers changed. */
  resources(serviceEntryOf: (host: string) => IstioResource | undefined): readonly IstioResource[] {
    if (!this.dirty) return this.built;
    this.dirty = false;
    const registries: SidecarRegistry[] = [];
    for (const r of this.o.registries) {
      const opts = this.o.conversion.get(r.name);
      if (opts?.sidecars !== undefined) registries.push({ name: r.name, sidecars: opts.sidecars, extraLabels: sanitizeLabels(opts.extraLabels).labels });
    }
    if (registries.length === 0 || this.consumed.size === 0) {
      this.built = [];
      this.reportSkipped([]);
      return this.built;
    }
    const hosts: ConsumedHost[] = [];
    for (const [host, consumers] of this.consumed) {
      const se = serviceEntryOf(host);
      if (se !== undefined) hosts.push({ host, namespace: se.namespace, consumers });
    }
    const out = convertSidecars(hosts, registries);
    this.built = out.resources;
    this.reportSkipped(out.skipped);
    return this.built;
  }

  private reportSkipped(skipped: ReturnType<typeof convertSidecars>['skipped']): void {
    const now = new Set<string>();
    for (const e of skipped) {
      const key = `${e.path ?? ''}|${e.message}`;
      now.add(key);
      const registry = e.details?.['registry'];
      if (!this.reported.has(key)) this.o.report.skipped(typeof registry === 'string' ? registry : '', e);
    }
    this.reported = now;
  }
}
