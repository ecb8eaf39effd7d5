import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { compileValidator, loadValidator } from './validator-code.js';

test('the build precompiled the validator for the schema in code (no ajv compiler at start)', () => {
  assert.equal(loadValidator().precompiled, true, 'dist/src/config/runtime-validator.cjs missing or stale: run npm run build');
});

test('the precompiled and the compiled validator accept and reject the same documents with the same errors', () => {
  const pre = loadValidator().validate;
  const fresh = compileValidator();
  const docs: unknown[] = [
    { registries: [{ name: 'a', kind: 'file', file: { path: 'x.yaml' } }], sinks: { xds: { address: '127.0.0.1:15050' } } },
    { registries: [{ name: 'a', kind: 'zookeeper', zookeeper: { servers: 'zk:2181', dubbo: { levels: 'both' } } }], sinks: { kubernetes: { qps: 5 } } },
    { registries: [{ name: 'Bad Name', kind: 'file', file: {} }], sinks: { xds: { addres: 'x' } } },
    { registries: [{ name: 'e', kind: 'etcd', etcd: { endpoints: [], prefix: 3 } }], debounce: { quietPeriodMs: -1 } },
    { registries: 'nope', sinks: { kubernetes: { concurrency: 1000, leaderElection: { enabled: true } } } },
    {},
  ];
  for (const doc of docs) {
    const a = pre(doc);
    const b = fresh(doc);
    assert.equal(a, b, JSON.stringify(doc));
    const strip = (errs: typeof pre.errors): unknown => (errs ?? []).map((e) => ({ ...e, schema: JSON.stringify(e.schema), parentSchema: JSON.stringify(e.parentSchema) }));
    assert.deepEqual(strip(pre.errors), strip(fresh.errors), JSON.stringify(doc));
  }
});

test('a loaded validator is garbage once its caller lets go (nothing in the module graph holds it)', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  let v: unknown = loadValidator().validate;
  const ref = new WeakRef(v as object);
  v = undefined;
  // A WeakRef target stays alive until the end of the current job: collect in a later turn.
  for (let i = 0; i < 5 && ref.deref() !== undefined; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  assert.equal(ref.deref(), undefined, 'the precompiled validator is still reachable');
});
