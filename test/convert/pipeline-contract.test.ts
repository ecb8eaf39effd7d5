import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PipelineOptions } from '../../src/core/pipeline.js';
import { convert, hostFor } from '../../src/convert/index.js';

test('convert and hostFor fit the functions the pipeline injects (compile-time contract)', () => {
  const c: PipelineOptions['convert'] = convert;
  const h: PipelineOptions['hostFor'] = hostFor;
  assert.equal(typeof c, 'function');
  assert.equal(typeof h, 'function');
});
