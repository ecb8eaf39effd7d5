import { stringify } from 'yaml';
import { toObject, type IstioResource, type Snapshot } from '../../snapshot/index.js';
import { compareStrings } from '../../util/sort.js';


/** Orders resources by kind, then namespace, then name (the order of every rendering). */
export function compareResources(a: IstioResource, b: IstioResource): number {
  return compareStrings(a.kind, b.kind) || compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name);
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
  return `---\n${stringify(toObject(r), { aliasDuplicateObjects: false, lineWidth: 0 })}`;
}

/**
 * The snapshot as multi-document YAML for `kubectl apply -f -`: one document per resource,
 * ordered by (kind, namespace, name). Equal snapshots render to equal text. An empty snapshot
 * renders to the empty string.
 */
export function renderYaml(snapshot: Snapshot): string {
  return orderedResources(snapshot).map(renderDocument).join('');
}
