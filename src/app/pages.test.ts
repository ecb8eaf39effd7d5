import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotStore, ResourceKind, resourceKey, type IstioResource } from '../snapshot/index.js';
import { hashOf } from '../util/hash.js';
import { debugPages, type DebugSources } from './pages.js';

function se(name: string): IstioResource {
  const spec = { hosts: [`${name}.ns.local`] };
  return { kind: ResourceKind.ServiceEntry, namespace: 'ns', name, key: resourceKey(ResourceKind.ServiceEntry, 'ns', name), labels: {}, annotations: {}, spec, version: hashOf(spec) };
}

test('/debug/snapshot: unpublished, then version, sequence, creation time and resources by kind', () => {
  const store = new SnapshotStore();
  const page = debugPages({ store } as unknown as DebugSources).get('snapshot');
  assert.ok(page);
  assert.deepEqual(page(), { published: false });
  const before = Date.now();
  store.publish([se('b'), se('a')]);
  const view = page() as { published: boolean; sequence: number; createdAt: string; kinds: Record<string, { resources: Array<{ name: string }> }> };
  assert.equal(view.published, true);
  assert.equal(view.sequence, 1);
  const created = Date.parse(view.createdAt);
  assert.ok(created >= before - 1 && created <= Date.now(), `createdAt ${view.createdAt} is the publish time`);
  assert.deepEqual(view.kinds[ResourceKind.ServiceEntry]?.resources.map((r) => r.name), ['a', 'b']);
});
