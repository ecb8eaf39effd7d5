/**
 * The endpoint form of one host: inline endpoints in the ServiceEntry, or one WorkloadEntry per
 * endpoint. Pure functions; the hysteresis around the inline limit is decided from the previous
 * form the caller passes in (the pipeline remembers it), so conversion stays pure.
 */
import { ResourceKind, type IstioResource } from '../snapshot/index.js';
import { EndpointForm } from './options.js';

/** CRD limit: ServiceEntry.spec.endpoints maxItems. More endpoints switch to WorkloadEntry form. */
export const MAX_INLINE_ENDPOINTS = 4096;
/**
 * A host in WorkloadEntry form goes back to inline only at or below this share of the limit, so a
 * service hovering around the limit does not switch (thousands of writes) on every change.
 */
export const INLINE_RETURN_RATIO = 0.9;

/**
 * The endpoint form of a host with `endpoints` endpoints (after filtering). Pure.
 *
 * Contract: `workloadEntry` when the registry's `form` says so; else above `limit` (default
 * MAX_INLINE_ENDPOINTS); else, for a host last published in WorkloadEntry form, it stays so
 * while it has more than floor(limit x INLINE_RETURN_RATIO) endpoints (3,686 of 4,096);
 * else inline.
 */
export function formFor(endpoints: number, configured: EndpointForm, previous: EndpointForm | undefined, limit: number = MAX_INLINE_ENDPOINTS): EndpointForm {
  if (configured === EndpointForm.WORKLOAD_ENTRY || endpoints > limit) return EndpointForm.WORKLOAD_ENTRY;
  if (previous === EndpointForm.WORKLOAD_ENTRY && endpoints > Math.floor(limit * INLINE_RETURN_RATIO)) return EndpointForm.WORKLOAD_ENTRY;
  return EndpointForm.INLINE;
}

/** The form `resources` (one host's conversion output) are in. */
export function formOf(resources: readonly IstioResource[]): EndpointForm | undefined {
  const se = resources[0];
  if (se === undefined || se.kind !== ResourceKind.ServiceEntry) return undefined;
  return se.spec['workloadSelector'] !== undefined ? EndpointForm.WORKLOAD_ENTRY : EndpointForm.INLINE;
}
