import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCli } from './args.js';

const cases: Array<[string[], unknown]> = [
  [['run', '--config', 'a.yaml'], { type: 'run', config: 'a.yaml' }],
  [['run', '-c', 'a.yaml'], { type: 'run', config: 'a.yaml' }],
  [['render', '--config', 'a.yaml', '--out', 'd'], { type: 'render', config: 'a.yaml', out: 'd' }],
  [['render', '--config', 'a.yaml'], { type: 'render', config: 'a.yaml', out: undefined }],
  [['check', '--config=a.yaml'], { type: 'check', config: 'a.yaml' }],
  [['--version'], { type: 'version' }],
  [['version'], { type: 'version' }],
  [['--help'], { type: 'help', topic: undefined }],
  [[], { type: 'help', topic: undefined }],
  [['help', 'run'], { type: 'help', topic: 'run' }],
  [['run'], { type: 'usage-error', message: 'run needs --config FILE' }],
  [['frobnicate', '-c', 'x'], { type: 'usage-error', message: 'unknown command: frobnicate' }],
  [['run', '-c', 'x', '--out', 'd'], { type: 'usage-error', message: '--out is only for render' }],
  // node:util's own texts ("To specify a positional argument starting with a '-' ...") never show.
  [['run', '--bogus'], { type: 'usage-error', message: 'unknown option --bogus' }],
  [['run', '--config'], { type: 'usage-error', message: '--config needs a value' }],
  [['diff', '-c', 'a.yaml'], { type: 'diff', config: 'a.yaml', output: 'text' }],
  [['diff', '-c', 'a.yaml', '--output', 'json'], { type: 'diff', config: 'a.yaml', output: 'json' }],
  [['diff', '--output=text', '--config=a.yaml'], { type: 'diff', config: 'a.yaml', output: 'text' }],
  // diff's exit status 2 means "changes": its usage errors say so, runCli exits 1 for them.
  [['diff'], { type: 'usage-error', message: 'diff needs --config FILE', command: 'diff' }],
  [['diff', '-c', 'a.yaml', '--output', 'yaml'], { type: 'usage-error', message: '--output must be text or json, not yaml', command: 'diff' }],
  [['diff', '-c', 'a.yaml', '--out', 'd'], { type: 'usage-error', message: '--out is only for render', command: 'diff' }],
  [['diff', '--bogus'], { type: 'usage-error', message: 'unknown option --bogus', command: 'diff' }],
  [['check', '-c', 'a.yaml', '--output', 'json'], { type: 'usage-error', message: '--output is only for diff' }],
  [['render', '-c', 'a.yaml', '--output', 'json'], { type: 'usage-error', message: '--output is only for diff' }],
  [['render', '-c', 'x', '-o'], { type: 'usage-error', message: '--out needs a value' }],
];

for (const [argv, want] of cases) {
  test(`parseCli ${JSON.stringify(argv)}`, () => {
    assert.deepEqual(parseCli(argv), want);
  });
}

test('unknown flags are usage errors', () => {
  const r = parseCli(['run', '--confg', 'x']);
  assert.equal(r.type, 'usage-error');
});
