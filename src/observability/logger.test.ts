import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, setLogLevel } from './logger.js';

test('setLogLevel reaches the children made before it (a config reload changes log.level)', async () => {
  const file = join(await mkdtemp(join(tmpdir(), 'meshbridge-log-')), 'log');
  const fd = openSync(file, 'w');
  const root = createLogger({ level: 'info', fd });
  const child = root.child({ sink: 'xds' });
  const grandchild = child.child({ stream: 1 });
  grandchild.debug('hidden at info');
  setLogLevel(root, 'debug');
  grandchild.debug('shown at debug');
  child.child({ late: true }).debug('a child made after it too');
  setLogLevel(root, 'warn');
  child.info('hidden at warn');
  root.flush();
  await new Promise((r) => setTimeout(r, 50));
  closeSync(fd);
  const msgs = readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg);
  assert.deepEqual(msgs, ['shown at debug', 'a child made after it too']);
});
