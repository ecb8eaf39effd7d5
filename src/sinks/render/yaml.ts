import { stringify } from 'yaml';
import { ISTIO_API_VERSION, type IstioResource, type Snapshot } from '../../snapshot/index.js';

/** A resource as the complete Kubernetes object `kubectl apply -f` takes. */
export interface KubernetesObject {
  readonly apiVersion: typeof ISTIO_API_VERSION;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations: Readonly<Record<string, string>>;
  };
  readonly spec: Readonly<Record<string, unknown>>;
}

/** Labels and annotations with sorted keys, so equal content renders to equal text. */
function sortedRecord(r: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(r).sort()) {
    const v = r[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export function toKubernetesObject(r: IstioResource): KubernetesObject {
  return {
    apiVersion: ISTIO_API_VERSION,
    kind: r.kind,
    metadata: { name: r.name, namespace: r.namespace, labels: sortedRecord(r.labels), annotations: sortedRecord(r.annotations) },
    spec: r.spec,
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders resources by kind, then namespace, then name (the order of every rendering). */
export function compareResources(a: IstioResource, b: IstioResource): number {
  return cmp(a.kind, b.kind) || cmp(a.namespace, b.namespace) || cmp(a.name, b.name);
}

/** Every resource of the snapshot, in rendering order. */
export function orderedResources(snapshot: Snapshot): IstioResource[] {
  const all: IstioResource[] = [];
  for (const ks of snapshot.kinds.values()) for (const r of ks.resources.values()) all.push(r);
  return all.sort(compareResources);
}

/**
 * One YAML document (starting with `---`). Plain YAML: no anchors/aliases, no line folding;
 * strings that would read as other types ("1.0", "true") are quoted.
 */
export function renderDocument(r: IstioResource): string {
  return `---\n${stringify(toKubernetesObject(r), { aliasDuplicateObjects: false, lineWidth: 0 })}`;
}

/**
 * The snapshot as multi-document YAML for `kubectl apply -f -`: one document per resource,
 * ordered by (kind, namespace, name). Equal snapshots render to equal text. An empty snapshot
 * renders to the empty string.
 */
export function renderYaml(snapshot: Snapshot): string {
  return orderedResources(snapshot).map(renderDocument).join('');
}
