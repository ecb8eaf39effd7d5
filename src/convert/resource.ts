/**
 * Builds the Istio objects conversion publishes. Contract: every record is a copy with its keys
 * in sorted order (so equal content serialises equally), and `version` is the content hash of
 * labels, annotations (without the hash) and spec, also written as the content-hash annotation.
 */
import { ContentHashAnnotation, resourceKey, type IstioResource, type ResourceKind } from '../snapshot/index.js';
import { hashOf } from '../util/hash.js';
import { sortStrings } from '../util/sort.js';

/** A copy of `r` with its own enumerable keys inserted in sorted order. */
export function sortedRecord<T>(r: Readonly<Record<string, T>>): Record<string, T> {
  return sortedRecordWith(r, undefined, undefined as T);
}

/**
 * `sortedRecord({ ...r, [key]: value })` without the intermediate object: `key` (when given) is
 * added or overrides, every key inserted in sorted order.
 */
export function sortedRecordWith<T>(r: Readonly<Record<string, T>>, key: string | undefined, value: T): Record<string, T> {
  const keys = Object.keys(r);
  if (key !== undefined && !keys.includes(key)) keys.push(key);
  const out: Record<string, T> = {};
  for (const k of sortStrings(keys)) {
    const v = k === key ? value : (r[k] as T);
    // A data property even for "__proto__" (plain assignment would set the prototype).
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    else out[k] = v;
  }
  return out;
}

/** Builds the resource with its content-hash version and annotation. */
export function buildResource(
  kind: ResourceKind,
  namespace: string,
  name: string,
  labels: Record<string, string>,
  annotations: Record<string, string>,
  spec: Record<string, unknown>,
): IstioResource {
  const version = hashOf({ labels, annotations, spec });
  return {
    kind,
    namespace,
    name,
    key: resourceKey(kind, namespace, name),
    labels,
    annotations: sortedRecordWith(annotations, ContentHashAnnotation, version),
    spec,
    version,
  };
}
