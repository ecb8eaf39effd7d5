import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, type MeshbridgeError } from '../../errors/index.js';
import { Metrics, silentLogger } from '../../observability/index.js';
import { PlanReporter } from './plan-report.js';

const clash = { host: 'a.example', resource: 'ServiceEntry/ns/a', claimedBy: 'ServiceEntry/ns/hand-made' };

test('with a problem reporter, each distinct clash is handed to it once, coded, under its registry', async () => {
  const got: [string, MeshbridgeError][] = [];
  const metrics = new Metrics();
  const r = new PlanReporter(silentLogger(), metrics, 50, { report: (registry, p) => got.push([registry, p]) });
  const registryOf = (key: string): string => (key === clash.resource ? 'reg-a' : '');
  r.report([clash], [], registryOf);
  r.report([clash], [], registryOf);
  assert.equal(got.length, 1);
  const [registry, p] = got[0] ?? [];
  assert.equal(registry, 'reg-a');
  assert.equal(p?.code, ErrorCode.HOST_CONFLICT);
  assert.equal(p?.path, clash.resource);
  assert.match(p?.message ?? '', /hand-made.*a\.example/);
  assert.match(await metrics.registry.getSingleMetricAsString('meshbridge_kube_host_clashes'), /meshbridge_kube_host_clashes 1$/);
});
