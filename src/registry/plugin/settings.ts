import { createRequire } from 'node:module';
import type { Ajv as AjvClass, ErrorObject } from 'ajv';
import { describeError, ErrorCode, MeshbridgeError } from '../../errors/index.js';
import type { AddProblem, JsonSchema } from '../kind.js';

const require = createRequire(import.meta.url);

let ajv: AjvClass | undefined;

/**
 * Validates a plug-in's settings against its own JSON Schema and adds one problem per error at
 * its key path below `settings` (values are never quoted: they may have come from the
 * environment). The config's own schema is precompiled at build time (src/config/validator-code.ts);
 * a plug-in's cannot be, so ajv's compiler is loaded here, on first use only: a process without
 * plug-ins never pays for it (~60 ms and ~12 MB RSS, docs/benchmarks.md "footprint").
 *
 * @throws MB_PLUGIN_INVALID when the schema itself does not compile.
 */
export function checkPluginSettings(pkg: string, schema: JsonSchema, settings: unknown, add: AddProblem): void {
  if (ajv === undefined) {
    const { Ajv } = require('ajv') as { Ajv: typeof AjvClass };
    ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false, allowUnionTypes: true });
  }
  let validate;
  try {
    validate = ajv.compile(schema);
  } catch (e) {
    throw new MeshbridgeError(ErrorCode.PLUGIN_INVALID, `registry plug-in "${pkg}": its settingsSchema does not compile: ${describeError(e)}`, { cause: e });
  }
  if (validate(settings)) return;
  for (const e of validate.errors ?? []) {
    const at = ['settings', ...pointerKeys(e.instancePath, settings)];
    const d = describe(e);
    if (d !== undefined) add([...at, ...d.below], d.message);
  }
}

function describe(e: ErrorObject): { below: Array<string | number>; message: string } | undefined {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'if':
      return undefined;
    case 'required':
      return { below: [String(p['missingProperty'])], message: 'is required' };
    case 'additionalProperties':
      return { below: [String(p['additionalProperty'])], message: 'unknown key' };
    case 'enum':
      return { below: [], message: `must be one of: ${(p['allowedValues'] as unknown[]).map(String).join(', ')}` };
    default:
      return { below: [], message: e.message ?? 'is invalid' };
  }
}

/** Key path of an ajv instancePath: an index where `root` has an array, else a key. */
function pointerKeys(pointer: string, root: unknown): Array<string | number> {
  if (pointer === '') return [];
  const out: Array<string | number> = [];
  let node = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out.push(Array.isArray(node) ? Number(key) : key);
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  }
  return out;
}
