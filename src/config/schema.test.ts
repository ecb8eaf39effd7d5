import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { XdsDefaults } from '../sinks/xds/options.js';
import { Defaults } from './defaults.js';
import { SCHEMA_FILE, buildSchema, schemaFileText } from './schema.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

test(`${SCHEMA_FILE} is the schema in code`, () => {
  let committed = '';
  try {
    committed = readFileSync(`${repo}${SCHEMA_FILE}`, 'utf8');
  } catch {
    // reported below
  }
  assert.ok(
    committed === schemaFileText(),
    `${SCHEMA_FILE} differs from src/config/schema.ts; regenerate it with:\n  npx tsc -p tsconfig.json && node dist/src/config/write-schema.js`,
  );
});

function editorValidator() {
  return new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false, allowUnionTypes: true }).compile(buildSchema('editor'));
}

test('the editor schema is valid draft-07 and accepts the bundled example', () => {
  const validate = editorValidator();
  const example: unknown = parse(readFileSync(`${repo}examples/meshbridge.yaml`, 'utf8'));
  assert.ok(validate(example), JSON.stringify(validate.errors));
});

test('the editor schema accepts ${ENV:...} where a constrained string is expected; runtime does not', () => {
  const doc = {
    registries: [{ name: 'a', kind: 'file', file: { path: 'x' }, namespace: '${ENV:POD_NAMESPACE}', form: '${ENV:FORM:-inline}' }],
    sinks: { render: {} },
  };
  assert.ok(editorValidator()(doc));
  const runtime = new Ajv({ allErrors: true, strictTypes: false, strictRequired: false, allowUnionTypes: true }).compile(buildSchema('runtime'));
  assert.equal(runtime(doc), false);
  const typo = { ...doc, sinkz: {} };
  assert.equal(editorValidator()(typo), false, 'typos are caught in editors too');
});

test('every object in the schema forbids unknown keys and every property has a description', () => {
  const walk = (node: unknown, at: string): void => {
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${at}[${i}]`));
    if (node === null || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (o['type'] === 'object' && o['properties'] !== undefined) assert.equal(o['additionalProperties'], false, at);
    if (o['properties'] !== undefined) {
      for (const [k, v] of Object.entries(o['properties'] as Record<string, Record<string, unknown>>)) {
        assert.equal(typeof v['description'], 'string', `${at}.${k} has no description`);
      }
    }
    for (const [k, v] of Object.entries(o)) if (k !== 'if') walk(v, `${at}/${k}`); // `if` only selects
  };
  walk(buildSchema('editor'), '#');
});

test('xDS defaults match the xDS sink', () => {
  assert.equal(Defaults.xds.keepaliveTimeMs, XdsDefaults.keepaliveTimeMs);
  assert.equal(Defaults.xds.keepaliveTimeoutMs, XdsDefaults.keepaliveTimeoutMs);
  assert.equal(Defaults.xds.maxSendMessageBytes, XdsDefaults.maxSendMessageBytes);
  assert.equal(Defaults.xds.maxReceiveMessageBytes, XdsDefaults.maxReceiveMessageBytes);
  assert.equal(Defaults.xds.shutdownGraceMs, XdsDefaults.shutdownGraceMs);
});

test('docs/configuration.md names every key of the schema, and its full example loads', async () => {
  const docs = readFileSync(`${repo}docs/configuration.md`, 'utf8');
  const keys = new Set<string>();
  const walk = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (o['properties'] !== undefined) for (const k of Object.keys(o['properties'] as object)) keys.add(k);
    for (const v of Object.values(o)) walk(v);
  };
  walk(buildSchema('runtime'));
  for (const k of keys) assert.ok(new RegExp(`[\`.]${k.replace(/\$/g, '\\$')}[\`.,]`).test(docs), `docs/configuration.md does not mention ${k}`);
  const blocks = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const { parseConfig } = await import('./load.js');
  const full = parseConfig(blocks.at(-1)!, { sourcePath: `${repo}docs/x.yaml`, env: { POD_NAMESPACE: 'mb' } });
  assert.equal(full.registries.length, 3);
  assert.deepEqual(full.registries[1]?.sidecars, {
    namespace: 'shop',
    namespaces: { 'billing-web': 'billing' },
    workloadLabels: { app: '{application}' },
    alwaysInclude: ['istio-system/*', './*'],
  });
  assert.equal(parseConfig(blocks[0]!, { env: {} }).registries.length, 1);
});
