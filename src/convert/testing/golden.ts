/** Golden-case helpers for conversion tests (test support only; pure, the tests do the file I/O). */
import { stringify } from 'yaml';
import { MeshbridgeError } from '../../errors/index.js';
import { convert, type ConvertOutput } from '../convert.js';
import { toManifest, type IstioManifest } from '../../snapshot/index.js';
import { hostFor } from '../names.js';
import type { Fixture } from './fixtures.js';
import { inputOf } from './fixtures.js';

export interface CaseResult {
  readonly service: string;
  readonly host?: string;
  readonly error?: { readonly code: string; readonly message: string };
  readonly output?: ConvertOutput;
}

/** Runs hostFor + convert over every service of a fixture, as the pipeline would. */
export function runFixture(f: Fixture): CaseResult[] {
  return f.services.map((s) => {
    let host: string;
    try {
      host = hostFor(s, f.options);
    } catch (e) {
      if (!(e instanceof MeshbridgeError)) throw e;
      return { service: s.name, error: { code: e.code, message: e.message } };
    }
    return { service: s.name, host, output: convert(inputOf(s, host), f.options) };
  });
}

/** The YAML text of a fixture's results: what the golden file holds. */
export function goldenText(f: Fixture, results: readonly CaseResult[]): string {
  const doc = results.map((r) => {
    if (r.error !== undefined) return { service: r.service, error: r.error };
    const out = r.output;
    const manifests: IstioManifest[] = out?.resources.map(toManifest) ?? [];
    return {
      service: r.service,
      host: r.host,
      droppedLabels: out?.droppedLabels ?? 0,
      problems: out?.problems.map((p) => ({ code: p.code, message: p.message })) ?? [],
      resources: manifests,
    };
  });
  return `# Golden file of src/convert/convert.test.ts: ${f.description}.\n# Regenerate with UPDATE_GOLDEN=1 (then review the diff).\n${stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })}`;
}
