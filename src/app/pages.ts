import { ErrorCode, MeshbridgeError } from '../errors/index.js';
import type { Pipeline } from '../core/pipeline.js';
import type { Registry } from '../registry/types.js';
import type { SnapshotStore } from '../snapshot/index.js';
import type { ProblemLog } from './context.js';

/** What the debug pages read: the live parts of the app (kept apart from App to avoid a cycle). */
export interface DebugSources {
  readonly registries: readonly Registry[];
  readonly store: SnapshotStore;
  readonly pipeline: Pipeline;
  readonly problems: ProblemLog;
  readonly xds: { debugState(): unknown } | undefined;
  readonly kubernetes: { debugState(): unknown } | undefined;
  readonly render: { debug(): unknown } | undefined;
}

/**
 * The /debug/<name> pages of the admin server. Each returns a fresh JSON-able view, built per
 * request from the live objects (never cached), so what a person sees is what is served.
 *
 * - registryz: per registry, its status, what its selection rules keep out (counts) and the
 *   neutral model (services with endpoints, before selection).
 * - selection: per registry, the services its selection rules exclude (with the rule) or narrow
 *   to fewer endpoints, and the counts (docs/mapping.md#selection).
 * - snapshot:  the published Istio resources with their versions, by kind, and when it was built.
 * - conflicts: hosts hidden by the precedence policy, services of one registry that share a
 *   host (merged), and listener conflicts (ServiceEntries that want one sidecar listener).
 * - addresses: listener addresses: hosts with addresses, VIPs, shared ServiceEntries.
 * - protect:   the deletion guard per registry (baseline, window peak, hold) and what is held.
 * - problems:  the latest problems registries reported (bounded).
 * - xds / kubernetes / render: the sinks' own state, when configured.
 */
export function debugPages(app: DebugSources): ReadonlyMap<string, () => unknown> {
  const pages = new Map<string, () => unknown>([
    [
      'registryz',
      () => {
        const sel = new Map(app.pipeline.selectionState(0).map((st) => [st.registry, st]));
        return app.registries.map((r) => {
          const st = sel.get(r.name);
          return {
            ...r.status(),
            selection: { excludedServices: st?.excludedServices ?? 0, excludedEndpoints: st?.excludedEndpoints ?? 0, narrowedServices: st?.narrowedServices ?? 0 },
            services: [...r.services().values()].sort((a, b) => a.name.localeCompare(b.name)),
          };
        });
      },
    ],
    ['selection', () => app.pipeline.selectionState()],
    [
      'snapshot',
      () => {
        const snap = app.store.current();
        if (snap === undefined) return { published: false };
        return {
          published: true,
          version: snap.version,
          sequence: snap.sequence,
          createdAt: snap.createdAt.toISOString(),
          kinds: Object.fromEntries(
            [...snap.kinds].map(([kind, ks]) => [
              kind,
              { version: ks.version, resources: [...ks.resources.values()].sort((a, b) => a.key.localeCompare(b.key)) },
            ]),
          ),
        };
      },
    ],
    ['conflicts', () => {
      const d = app.pipeline.debugState();
      return { betweenRegistries: d.conflicts, withinRegistry: d.collisions, listeners: d.listeners };
    }],
    ['addresses', () => {
      const d = app.pipeline.debugState();
      return { ...d.addresses, shared: d.shared };
    }],
    ['protect', () => {
      const d = app.pipeline.debugState();
      return { guard: d.guard, held: d.held };
    }],
    ['problems', () => app.problems.list()],
  ]);
  const { xds, kubernetes, render } = app;
  if (xds !== undefined) pages.set('xds', () => xds.debugState());
  if (kubernetes !== undefined) pages.set('kubernetes', () => kubernetes.debugState());
  if (render !== undefined) pages.set('render', () => render.debug());
  return pages;
}

/**
 * POST /debug/<name> operator actions.
 * - release?registry=NAME: ends the deletion guard's hold of that registry; its current view is
 *   published on the next pass, deletions included (docs/safety.md#release). 404 when the
 *   registry is not holding.
 */
export function adminActions(app: Pick<DebugSources, 'pipeline' | 'registries'>): ReadonlyMap<string, (q: URLSearchParams) => { status: number; body: unknown }> {
  return new Map([
    [
      'release',
      (q: URLSearchParams) => {
        const registry = q.get('registry');
        if (registry === null || registry === '') throw new MeshbridgeError(ErrorCode.ADMIN_BAD_REQUEST, 'release needs ?registry=NAME');
        if (!app.registries.some((r) => r.name === registry) && !app.pipeline.retired().includes(registry)) {
          throw new MeshbridgeError(ErrorCode.ADMIN_BAD_REQUEST, `no registry named ${JSON.stringify(registry)} in the config`);
        }
        const released = app.pipeline.releaseHold(registry);
        return released
          ? { status: 200, body: { registry, released: true } }
          : { status: 404, body: { registry, released: false, reason: 'the registry is not held by the deletion guard' } };
      },
    ],
  ]);
}
