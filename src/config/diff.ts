/**
 * What changed between two resolved configs, and whether a running `meshbridge run` can apply
 * it (docs/operations.md#reloading-the-config, ADR 0017). Pure.
 *
 * Applied live:
 * - registries added, removed, re-ordered (precedence) or changed. A change to a registry's
 *   kind, its kind's settings block (`file:`, `consul:`, ...) or `defaultProtocol` (the adapter
 *   reads it) restarts that registry's adapter; its mapping fields (namespace, hostTemplate,
 *   form, labels, ...) and guard thresholds (protect*) apply without a restart of anything.
 * - conflictPolicy and log.level.
 * Needs a restart (with any of these changed, nothing of the reload is applied): everything
 * else, e.g. instance, vipCidr, startup, checkpoint, debounce, sinks.*, admin, log.format, and,
 * with the Kubernetes sink, a change of the namespaces the registries write (the sink watches a
 * fixed set of namespaces) and turning `publish.kubernetesServices` on for the first registry or
 * off for the last (the sink decides at start whether it watches Services and EndpointSlices).
 */
import { stableStringify } from '../util/hash.js';
import type { Config, RegistryConfig } from './types.js';

export interface RegistryChange {
  readonly name: string;
  /** The changed fields, as paths in the registry's entry (`namespace`, `file.path`). */
  readonly fields: readonly string[];
  /** The adapter is rebuilt and restarted (its kind, kind settings or defaultProtocol changed). */
  readonly restart: boolean;
}

export interface ConfigDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly RegistryChange[];
  /** The configured registries kept their names but not their order (precedence). */
  readonly reordered: boolean;
  /** Other fields that are applied live (`conflictPolicy`, `log.level`). */
  readonly live: readonly string[];
  /** Fields a running process cannot apply, each with why when it is not obvious. */
  readonly needsRestart: readonly string[];
}

/** Registry fields that change only how its services are converted. */
const CONVERSION_FIELDS: ReadonlySet<string> = new Set([
  'namespace',
  'hostTemplate',
  'exportTo',
  'form',
  'addresses',
  'includeUnhealthy',
  'portProtocols',
  'namespaceMap',
  'network',
  'labels',
  'select',
  'identity',
  'publish',
]);

/** Registry fields of its deletion guard. */
const GUARD_FIELDS: ReadonlySet<string> = new Set(['protectPercent', 'protectEndpointPercent', 'protectWindowSeconds', 'protectHoldMaxSeconds', 'protectSettleSeconds']);

/** Top-level fields applied live (the rest needs a restart); `source` is where it came from. */
const LIVE_TOP: ReadonlySet<string> = new Set(['registries', 'conflictPolicy', 'log', 'source']);

export function diffConfig(prev: Config, next: Config): ConfigDiff {
  const before = new Map(prev.registries.map((r) => [r.name, r]));
  const after = new Map(next.registries.map((r) => [r.name, r]));
  const added = next.registries.filter((r) => !before.has(r.name)).map((r) => r.name);
  const removed = prev.registries.filter((r) => !after.has(r.name)).map((r) => r.name);
  const changed: RegistryChange[] = [];
  for (const r of next.registries) {
    const old = before.get(r.name);
    if (old === undefined) continue;
    const fields = changedPaths(old, r, '');
    if (fields.length === 0) continue;
    const restart = fields.some((f) => {
      const top = f.split('.')[0] ?? f;
      // sidecars.<key>: set before and after, only how Sidecars are built changed; `sidecars`
      // itself (turned on or off) changes what the adapter watches.
      if (f.startsWith('sidecars.')) return false;
      return !CONVERSION_FIELDS.has(top) && !GUARD_FIELDS.has(top);
    });
    changed.push({ name: r.name, fields, restart });
  }
  const kept = (c: Config): string[] => c.registries.map((r) => r.name).filter((n) => before.has(n) && after.has(n));
  const reordered = kept(prev).join('\n') !== kept(next).join('\n');
  const live: string[] = [];
  if (prev.conflictPolicy !== next.conflictPolicy) live.push('conflictPolicy');
  if (prev.log.level !== next.log.level) live.push('log.level');
  return { added, removed, changed, reordered, live, needsRestart: needsRestart(prev, next) };
}

/** True when nothing at all changed. */
export function isEmptyDiff(d: ConfigDiff): boolean {
  return d.added.length + d.removed.length + d.changed.length + d.live.length + d.needsRestart.length === 0 && !d.reordered;
}

/** One line for the log: what the reload changes. */
export function describeDiff(d: ConfigDiff): string {
  const parts: string[] = [];
  if (d.added.length > 0) parts.push(`registries added: ${d.added.join(', ')}`);
  if (d.removed.length > 0) parts.push(`registries removed: ${d.removed.join(', ')}`);
  for (const c of d.changed) parts.push(`registry ${c.name} ${c.restart ? 'restarted' : 're-tuned'} (${c.fields.join(', ')})`);
  if (d.reordered) parts.push('registry order (precedence) changed');
  if (d.live.length > 0) parts.push(`changed: ${d.live.join(', ')}`);
  if (d.needsRestart.length > 0) parts.push(`needs a restart: ${d.needsRestart.join(', ')}`);
  return parts.length === 0 ? 'no change' : parts.join('; ');
}

function needsRestart(prev: Config, next: Config): string[] {
  const out: string[] = [];
  const keys = new Set([...Object.keys(prev), ...Object.keys(next)]);
  for (const k of [...keys].sort()) {
    if (LIVE_TOP.has(k)) continue;
    out.push(...changedPaths((prev as unknown as Record<string, unknown>)[k], (next as unknown as Record<string, unknown>)[k], k));
  }
  out.push(...changedPaths(prev.log, next.log, 'log').filter((p) => p !== 'log.level'));
  if (prev.sinks.kubernetes !== undefined && next.sinks.kubernetes !== undefined) {
    const a = namespacesOf(prev.registries);
    const b = namespacesOf(next.registries);
    if (a !== b) out.push(`the namespaces the registries write (the Kubernetes sink watches a fixed set: ${a} -> ${b})`);
    const sidecars = (c: Config): boolean => c.registries.some((r) => r.sidecars !== undefined);
    if (sidecars(next) && !sidecars(prev)) out.push('sidecars on a first registry (the Kubernetes sink watches Sidecars only when some registry has sidecars)');
    const services = (c: Config): boolean => c.registries.some((r) => r.publish.kubernetesServices);
    if (services(prev) !== services(next)) out.push('publish.kubernetesServices turned on or off for the last registry (the Kubernetes sink decides at start whether it watches Services)');
  }
  return out;
}

/** The sorted, unique namespaces registries write to, as text. */
function namespacesOf(rs: readonly RegistryConfig[]): string {
  const sidecars = (r: RegistryConfig): string[] => (r.sidecars === undefined ? [] : [...(r.sidecars.namespace !== undefined ? [r.sidecars.namespace] : []), ...Object.values(r.sidecars.namespaces)]);
  return [...new Set(rs.flatMap((r) => [r.namespace, ...Object.values(r.namespaceMap), ...sidecars(r)]))].sort().join(',');
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Paths (under `prefix`) where `a` and `b` differ; arrays and scalars compare whole. */
export function changedPaths(a: unknown, b: unknown, prefix: string): string[] {
  if (isPlainObject(a) && isPlainObject(b)) {
    const out: string[] = [];
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      out.push(...changedPaths(a[k], b[k], prefix === '' ? k : `${prefix}.${k}`));
    }
    return out;
  }
  return stableStringify(a) === stableStringify(b) ? [] : [prefix];
}
