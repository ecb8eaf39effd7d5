/**
 * A unified diff of two texts, line by line (Myers' O(ND) algorithm). Pure.
 *
 * Contract: `unifiedDiff(a, b)` is '' when the texts are equal; otherwise `--- from` / `+++ to`
 * headers and hunks `@@ -start,count +start,count @@` with `context` unchanged lines around each
 * change, lines prefixed ' ', '-' or '+', every line ending in '\n'. Equal prefixes and suffixes
 * are trimmed before the search, so a small change to a large text stays cheap; a difference
 * larger than MAX_EDIT_DISTANCE edits is shown as the whole middle removed and added.
 */

/** Beyond this many edits the search stops and the middle is shown replaced as a whole. */
export const MAX_EDIT_DISTANCE = 4000;

type Op = { readonly type: ' ' | '-' | '+'; readonly line: string };

export interface UnifiedDiffOptions {
  readonly from?: string;
  readonly to?: string;
  /** Unchanged lines shown around each change (default 3). */
  readonly context?: number;
}

export function unifiedDiff(a: string, b: string, options: UnifiedDiffOptions = {}): string {
  if (a === b) return '';
  const ops = diffLines(splitLines(a), splitLines(b));
  if (!ops.some((o) => o.type !== ' ')) return '';
  const header = `--- ${options.from ?? 'a'}\n+++ ${options.to ?? 'b'}\n`;
  return header + hunks(ops, options.context ?? 3).join('');
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The edit script turning `a` into `b`: every line of both, in order, as kept, removed or added. */
export function diffLines(a: readonly string[], b: readonly string[]): Op[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const keep = (lines: readonly string[]): Op[] => lines.map((line) => ({ type: ' ', line }));
  const middle = myers(a.slice(start, endA), b.slice(start, endB));
  return [...keep(a.slice(0, start)), ...middle, ...keep(a.slice(endA))];
}

function myers(a: readonly string[], b: readonly string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, MAX_EDIT_DISTANCE);
  const off = n + m + 1;
  const v = new Int32Array(2 * off + 1);
  // trace[d]: v over k in [-d, d] before step d (index k + d).
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice(off - d, off + d + 1));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1]! < v[off + k + 1]!) ? v[off + k + 1]! : v[off + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[off + k] = x;
      if (x >= n && y >= m) return backtrack(trace, a, b, d);
    }
  }
  return [...a.map((line): Op => ({ type: '-', line })), ...b.map((line): Op => ({ type: '+', line }))];
}

function backtrack(trace: readonly Int32Array[], a: readonly string[], b: readonly string[], depth: number): Op[] {
  const out: Op[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = depth; d > 0; d--) {
    const v = trace[d]!;
    const at = (k: number): number => v[k + d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      out.push({ type: ' ', line: a[--x]! });
      y--;
    }
    if (x === prevX) out.push({ type: '+', line: b[--y]! });
    else out.push({ type: '-', line: a[--x]! });
  }
  while (x > 0 && y > 0) {
    out.push({ type: ' ', line: a[--x]! });
    y--;
  }
  return out.reverse();
}

/** Groups an edit script into hunks with `context` lines around each change. */
function hunks(ops: readonly Op[], context: number): string[] {
  const changed: number[] = [];
  ops.forEach((o, i) => {
    if (o.type !== ' ') changed.push(i);
  });
  // Ranges [from, to) of ops, merged when their context touches.
  const ranges: Array<[number, number]> = [];
  for (const i of changed) {
    const from = Math.max(0, i - context);
    const to = Math.min(ops.length, i + context + 1);
    const last = ranges[ranges.length - 1];
    if (last !== undefined && from <= last[1]) last[1] = Math.max(last[1], to);
    else ranges.push([from, to]);
  }
  // Line numbers (1-based) of each op in a and b.
  const aLine: number[] = [];
  const bLine: number[] = [];
  let la = 1;
  let lb = 1;
  for (const o of ops) {
    aLine.push(la);
    bLine.push(lb);
    if (o.type !== '+') la++;
    if (o.type !== '-') lb++;
  }
  return ranges.map(([from, to]) => {
    const slice = ops.slice(from, to);
    const aCount = slice.filter((o) => o.type !== '+').length;
    const bCount = slice.filter((o) => o.type !== '-').length;
    const aStart = aCount === 0 ? aLine[from]! - 1 : aLine[from]!;
    const bStart = bCount === 0 ? bLine[from]! - 1 : bLine[from]!;
    return `@@ -${aStart},${aCount} +${bStart},${bCount} @@\n${slice.map((o) => `${o.type}${o.line}\n`).join('')}`;
  });
}
