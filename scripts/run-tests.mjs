#!/usr/bin/env node
// Runs every compiled test under dist/ with Node's test runner.
// Usage: node scripts/run-tests.mjs [unit|integration|all] (default all).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const which = process.argv[2] ?? 'all';
// unit: the tests beside their module (src, bench and the test kit); integration: test/<area>/.
const roots = { unit: ['dist/src', 'dist/bench', 'dist/test-support'], integration: ['dist/test'], all: ['dist/src', 'dist/bench', 'dist/test-support', 'dist/test'] }[which];
if (roots === undefined) {
  console.error(`unknown suite ${which}: use unit, integration or all`);
  process.exit(2);
}
function walk(dir, out) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (n.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const files = roots.flatMap((r) => walk(r, [])).sort();
if (files.length === 0) {
  console.error('no test files found: run `npm run build` first');
  process.exit(1);
}
const args = ['--enable-source-maps', '--test', '--test-concurrency=2', '--test-timeout=300000', ...files];
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
