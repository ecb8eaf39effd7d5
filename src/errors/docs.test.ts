import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ErrorCode, errorSummaries } from './codes.js';

const docs = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

test('every error code is documented in docs/errors.md', () => {
  for (const code of Object.values(ErrorCode)) {
    assert.match(docs, new RegExp(`\\| \`${code}\` \\|`), `${code} missing from docs/errors.md`);
    assert.ok(errorSummaries[code].length > 10);
  }
});

test('codes are unique and prefixed', () => {
  const values = Object.values(ErrorCode);
  assert.equal(new Set(values).size, values.length);
  for (const v of values) assert.match(v, /^MB_[A-Z_]+$/);
});
