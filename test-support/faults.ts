/**
 * What the fault scenarios (run.ts, registry-restarts.ts, kubernetes.ts) share: the row they
 * report, the size switch, an RSS sampler, what an ADS client posing as istiod holds, waiting,
 * and a Meshbridge config for the MCP route.
 */
import type { AdsClient } from './xds/adsc.js';
import type { PeersModule } from './peers.js';
import { metricSum, writeRunConfig, type FileService, type MeshbridgeProcess } from './meshbridge.js';

export const SE = 'networking.istio.io/v1/ServiceEntry';
export const SHORT = process.argv.includes('--short');
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Row {
  readonly scenario: string;
  readonly route: string;
  readonly services: number;
  readonly removed: number;
  readonly convergeMs: number | undefined;
  readonly writes: number;
  readonly peakRssMiB: number;
  readonly note: string;
  readonly ok: boolean;
}

/** Polls a Meshbridge's RSS until stopped; resolves with the peak in MiB. */
export function rssSampler(getProc: () => MeshbridgeProcess | undefined): { stop: () => Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const p = getProc();
      if (p?.running() === true) {
        try {
          peak = Math.max(peak, metricSum(await p.metrics(), 'meshbridge_process_resident_memory_bytes'));
        } catch {
          /* restarting */
        }
      }
      await sleep(250);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return Math.round(peak / 1048576);
    },
  };
}

/** Registry services seen by an ADS client: the non-shared ServiceEntries of its last response. */
export function registryEntries(c: AdsClient, from = 0): number[] {
  return c
    .responsesFor(SE)
    .slice(from)
    .map((r) => r.resources.filter((x) => !x.name.endsWith('.shared.meshbridge.internal')).length);
}

/** The names of the registry ServiceEntries (shared ones left out) of each response from the `from`th on. */
export function registryNames(c: AdsClient, from = 0): Array<Set<string>> {
  return c
    .responsesFor(SE)
    .slice(from)
    .map((r) => new Set(r.resources.map((x) => x.name).filter((n) => !n.endsWith('.shared.meshbridge.internal'))));
}

/** Of `expected`, the most that one response (from the `from`th on) lacked: services wrongly removed. */
export function mostMissing(c: AdsClient, expected: Iterable<string>, from = 0): number {
  const want = [...expected];
  let worst = 0;
  for (const names of registryNames(c, from)) worst = Math.max(worst, want.filter((n) => !names.has(n)).length);
  return worst;
}

/** Waits until the sum of a Meshbridge metric (series matching `labels`) satisfies `ok`; resolves with it. */
export async function untilMetric(
  mb: MeshbridgeProcess,
  name: string,
  labels: Readonly<Record<string, string>>,
  ok: (v: number) => boolean,
  ms: number,
  what: string,
): Promise<number> {
  let v = Number.NaN;
  try {
    await until(async () => ok((v = metricSum(await mb.metrics(), name, labels))), ms, what);
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)} (${name} ${JSON.stringify(labels)} = ${v})`, { cause: e });
  }
  return v;
}

export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(50);
  }
}

export async function mcpConfig(dir: string, peers: PeersModule, registries: string, extra = ''): Promise<{ config: string; admin: number; xds: number }> {
  const [admin, xds] = (await peers.freePorts(2)) as [number, number];
  const config = await writeRunConfig(dir, { registries, sinks: `  xds: {address: 127.0.0.1:${xds}}`, admin, logLevel: 'warn', extra });
  return { config, admin, xds };
}

export function fileServices(n: number, prefix = 'svc'): FileService[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `${prefix}-${i}`,
    namespace: 'shop',
    ports: [{ number: 20880, name: 'tcp-dubbo', protocol: 'TCP' }],
    instances: [0, 1].map((k) => ({ address: `10.${(i >> 8) & 255}.${i & 255}.${k + 1}`, weight: 1, labels: { app: `${prefix}-${i}` } })),
  }));
}
