/**
 * What goes into docs/bench/*.json: figures, not raw samples. Every array of numbers under a key
 * ending in `Samples` becomes its distribution in 1 % steps (`{ n, quantiles }`, 101 values, ms
 * rounded to 0.1), enough for the CDF plots; the raw samples stay out of git.
 */
export interface Distribution {
  readonly n: number;
  /** quantiles[i] is the i-th percentile (nearest rank), i = 0..100. */
  readonly quantiles: readonly number[];
}

export function distribution(samples: readonly number[]): Distribution {
  const s = [...samples].sort((a, b) => a - b);
  const quantiles = s.length === 0 ? [] : Array.from({ length: 101 }, (_, i) => Math.round((s[Math.min(s.length - 1, Math.max(0, Math.ceil((i / 100) * s.length) - 1))] ?? 0) * 10) / 10);
  return { n: s.length, quantiles };
}

/** A copy of `data` with every `*Samples` number array replaced by its distribution. */
export function summarize(data: unknown): unknown {
  if (Array.isArray(data)) return data.map(summarize);
  if (typeof data !== 'object' || data === null) return data;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    out[k] = k.endsWith('Samples') && Array.isArray(v) && v.every((x) => typeof x === 'number') ? distribution(v) : summarize(v);
  }
  return out;
}
