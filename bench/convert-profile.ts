/**
 * Driver for profiling the pure conversion (not part of `npm run bench`): hostFor + convert of
 * 10,000 services x 10 endpoints, repeated, then a SHA-256 fingerprint of every produced resource
 * (stableStringify of the whole output) so an optimisation can be checked to change nothing.
 *
 *   npx tsc -p tsconfig.json && node --cpu-prof dist/bench/convert-profile.js [rounds]
 */
import { createHash } from 'node:crypto';
import { convert, hostFor } from '../src/convert/index.js';
import { stableStringify } from '../src/util/hash.js';
import { benchService, bigService, options, workloadEntryOptions } from './data.js';

const rounds = Number(process.argv[2] ?? '5');
const services = Array.from({ length: 10_000 }, (_, i) => benchService(i, 0, { endpoints: 10 }));
const big = bigService(5_000);
const times: number[] = [];
const fp = createHash('sha256');
for (let r = 0; r < rounds; r++) {
  const t = process.hrtime.bigint();
  for (const s of services) {
    const out = convert({ host: hostFor(s, options), primary: s, ports: s.ports, endpoints: s.endpoints, origins: [s.registry] }, options);
    if (r === 0) fp.update(stableStringify(out.resources)).update(String(out.droppedLabels)).update(out.problems.map((e) => e.message).join('|'));
  }
  times.push(Number(process.hrtime.bigint() - t) / 1e6);
}
const bigOut = convert({ host: hostFor(big, workloadEntryOptions), primary: big, ports: big.ports, endpoints: big.endpoints, origins: [big.registry] }, workloadEntryOptions);
fp.update(stableStringify(bigOut.resources));
const sorted = [...times].sort((a, b) => a - b);
console.log(`rounds ms: ${times.map((x) => x.toFixed(0)).join(' ')}; median ${(sorted[Math.floor(sorted.length / 2)] ?? 0).toFixed(0)} ms`);
console.log(`fingerprint ${fp.digest('hex')}`);
