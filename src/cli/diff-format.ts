/**
 * How `meshbridge diff` prints a DiffReport. Pure.
 *
 * Text: one line per entry (`<action> <kind> <namespace>/<name> (registry R): <reason>`), each
 * update followed by its unified diff, then a summary: totals, a table of counts per kind and
 * action, and whether a run would write. JSON: one document, `{changes, summary, held, entries}`
 * (summary: counts per action and kind, and `unchanged`), for scripts. Both in the report's
 * order (stable).
 */
import type { DiffAction, DiffReport } from '../sinks/kubernetes/plan-diff.js';

const ACTIONS: readonly DiffAction[] = ['create', 'update', 'delete', 'held', 'clash'];
const KINDS = ['ServiceEntry', 'WorkloadEntry'] as const;

export function formatDiffText(report: DiffReport): string {
  const lines: string[] = [];
  for (const e of report.entries) {
    const registry = e.registry === '' ? '' : ` (registry ${e.registry})`;
    lines.push(`${e.action.padEnd(6)} ${e.kind} ${e.namespace}/${e.name}${registry}: ${e.reason}`);
    if (e.diff !== undefined && e.diff !== '') lines.push(e.diff.trimEnd());
  }
  if (lines.length > 0) lines.push('');
  const total = (a: DiffAction): number => report.counts[a].ServiceEntry + report.counts[a].WorkloadEntry + report.counts[a].Sidecar;
  lines.push(
    `summary: ${total('create')} to create, ${total('update')} to update, ${total('delete')} to delete, ${total('held')} held, ${total('clash')} ${total('clash') === 1 ? 'clash' : 'clashes'}; ${report.unchanged} unchanged`,
  );
  const width = Math.max(...KINDS.map((k) => k.length));
  lines.push(`  ${''.padEnd(width)} ${ACTIONS.map((a) => a.padStart(6)).join(' ')}`);
  // The Sidecar row only when a registry publishes Sidecars (opt-in): the table stays as it was otherwise.
  const kinds = ACTIONS.some((a) => report.counts[a].Sidecar > 0) ? [...KINDS, 'Sidecar' as const] : KINDS;
  for (const k of kinds) lines.push(`  ${k.padEnd(width)} ${ACTIONS.map((a) => String(report.counts[a][k]).padStart(6)).join(' ')}`);
  for (const h of report.held) {
    lines.push(`held by the deletion guard: ${h.wouldDelete} of ${h.owned} ${h.kind === 'ServiceEntry' ? 'ServiceEntries' : `${h.kind}s`} of registry ${h.registry || '(none)'}`);
  }
  lines.push(report.changes ? 'a run would write these changes' : 'no changes: a run would write nothing');
  return `${lines.join('\n')}\n`;
}

export function formatDiffJson(report: DiffReport): string {
  const doc = {
    changes: report.changes,
    summary: { ...report.counts, unchanged: report.unchanged },
    held: report.held,
    entries: report.entries,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
