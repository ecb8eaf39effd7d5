/**
 * Floors measured directly, without Meshbridge: the file registry's own notification latency and,
 * when a selected setup reads a real registry, that registry's own watch latency (sources.ts).
 * The server-side apply floor is in kube.ts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileRegistry } from '../../src/registry/file/index.js';
import { adapterCommon, kindSettings } from '../../src/registry/testing/adapter-options.js';
import { percentile } from '../harness.js';
import { sleep, type FloorResult, type Setup } from './setups.js';
import { SourceKind, etcdWatchFloor, sourceMissing, zookeeperWatchFloor } from './sources.js';

/** Floor: the file registry's own notification latency (file written -> registry event). */
export async function fileFloor(): Promise<FloorResult> {
  const dir = await mkdtemp(join(tmpdir(), 'mb-bench-file-'));
  const file = join(dir, 'services.yaml');
  const doc = (i: number): string =>
    `services:\n  - name: floor\n    namespace: team0\n    ports: [{name: http, number: 8080}]\n    instances:\n      - address: 10.8.${(i >> 8) & 255}.${i & 255}\n`;
  await writeFile(file, doc(0));
  const ac = new AbortController();
  let resolveEvent: (() => void) | undefined;
  const reg = new FileRegistry({ ...kindSettings('file', { path: file, pollIntervalMs: 0 }), ...adapterCommon('floor'), debounceMs: 0 });
  reg.onEvent((e) => {
    if (e.type === 'upsert') resolveEvent?.();
  });
  const samples: number[] = [];
  try {
    await reg.start(ac.signal);
    for (let i = 1; i <= 30; i++) {
      const got = new Promise<void>((r) => (resolveEvent = r));
      const t = performance.now();
      await writeFile(file, doc(i));
      await Promise.race([got, sleep(5000)]);
      samples.push(performance.now() - t);
      await sleep(50);
    }
  } finally {
    ac.abort();
    await rm(dir, { recursive: true, force: true });
  }
  const s = samples.sort((a, b) => a - b);
  return { name: 'file registry notification (write -> FileRegistry event)', n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), notes: 'fs.watch + read + parse, debounceMs 0; the default debounceMs is 50' };
}

/** The registries' own watch latency, when a selected setup reads that registry (all: both). */
export async function registryFloors(setups: readonly Setup[]): Promise<FloorResult[]> {
  const floors: FloorResult[] = [];
  for (const [kind, floor] of [
    [SourceKind.ZOOKEEPER, zookeeperWatchFloor],
    [SourceKind.ETCD, etcdWatchFloor],
  ] as const) {
    if (!setups.some((s) => s.source === kind)) continue;
    const missing = await sourceMissing(kind);
    if (missing !== undefined) {
      floors.push({ name: `${kind} watch`, n: 0, p50: Number.NaN, p99: Number.NaN, notes: `skipped: ${missing}` });
      continue;
    }
    try {
      floors.push(await floor());
    } catch (e) {
      floors.push({ name: `${kind} watch`, n: 0, p50: Number.NaN, p99: Number.NaN, notes: `FAILED: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` });
    }
  }
  return floors;
}
