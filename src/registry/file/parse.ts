import { extname } from 'node:path';
import { isMap, isPair, isScalar, LineCounter, parseDocument, visit, Scalar } from 'yaml';
import { ErrorCode, MeshbridgeError } from '../../errors/index.js';

export const SourceFormat = {
  YAML: 'yaml',
  JSON: 'json',
} as const;
export type SourceFormat = (typeof SourceFormat)[keyof typeof SourceFormat];

/**
 * The format of a registry file: `.json` is JSON, `.yaml`/`.yml` is YAML; any other extension is
 * decided by content (JSON when the first non-blank character is `{`).
 */
export function detectFormat(path: string, text: string): SourceFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.json') return SourceFormat.JSON;
  if (ext === '.yaml' || ext === '.yml') return SourceFormat.YAML;
  return text.trimStart().startsWith('{') ? SourceFormat.JSON : SourceFormat.YAML;
}

/** Keys whose mapping values are free-form strings: unquoted YAML numbers keep their source text. */
const STRING_MAPS = new Set(['labels', 'attributes']);

/**
 * Parses the text of a registry file into plain data. Throws a MeshbridgeError MB_SOURCE_PARSE
 * (with line and column when known) when the text is not one well-formed document.
 *
 * Contract: blank text is a parse error, not an empty registry: a half-written file (truncated
 * to zero bytes by a non-atomic writer) must not delete every service. An empty registry is
 * written explicitly as `services: []`.
 *
 * In YAML, unquoted numbers under `labels:` and `attributes:` keep their text (`version: 1.10`
 * stays "1.10", not "1.1"); elsewhere YAML 1.2 core types apply. Aliases are limited (100) so a
 * hostile file cannot expand without bound.
 */
export function parseSource(text: string, file: string, format: SourceFormat): unknown {
  if (text.trim().length === 0) {
    throw new MeshbridgeError(ErrorCode.SOURCE_PARSE, 'file is empty (write `services: []` for an empty registry)', {
      path: file,
    });
  }
  if (format === SourceFormat.JSON) {
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      throw new MeshbridgeError(ErrorCode.SOURCE_PARSE, `not valid JSON: ${(e as Error).message}`, {
        path: file,
        cause: e,
      });
    }
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  const err = doc.errors[0];
  if (err !== undefined) {
    const pos = lineCounter.linePos(err.pos[0]);
    const where = ` (line ${pos.line}, column ${pos.col})`;
    // The library's hints speak to its callers ("please use YAML.parseAllDocuments()"), not to users.
    const message = err.code === 'MULTIPLE_DOCS' ? 'the file holds more than one YAML document (---): a registry file is one document' : (err.message.split('\n')[0] ?? '');
    throw new MeshbridgeError(ErrorCode.SOURCE_PARSE, `not valid YAML${where}: ${message}`, {
      path: file,
      cause: err,
      details: { line: pos.line, column: pos.col },
    });
  }
  visit(doc, {
    Pair(_key, pair) {
      if (!isScalar(pair.key) || !STRING_MAPS.has(String(pair.key.value)) || !isMap(pair.value)) return;
      for (const item of pair.value.items) {
        if (isPair(item) && isScalar(item.value) && typeof item.value.value === 'number' && item.value.source !== undefined) {
          item.value = new Scalar(item.value.source);
        }
      }
    },
  });
  try {
    return doc.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (e) {
    throw new MeshbridgeError(ErrorCode.SOURCE_PARSE, `not valid YAML: ${(e as Error).message}`, { path: file, cause: e });
  }
}
