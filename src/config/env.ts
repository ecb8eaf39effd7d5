import { formatPath, type PathSegment } from './path.js';

/** Environment lookups: process.env or a test's record. */
export type Env = Readonly<Record<string, string | undefined>>;

export interface EnvProblem {
  /** Key path of the string value, e.g. `sinks.kubernetes.context`. */
  readonly path: string;
  readonly message: string;
  /** The variable, when the problem is an unset one. */
  readonly variable?: string;
}

export interface EnvResult {
  /** A copy of the input with every reference replaced (the input is not modified). */
  readonly value: unknown;
  /** Key paths whose value came (partly) from the environment: never echo their values. */
  readonly substituted: ReadonlySet<string>;
  /** Unset variables without a default. */
  readonly missing: readonly EnvProblem[];
  /** References that are not `${ENV:NAME}` / `${ENV:NAME:-default}`. */
  readonly malformed: readonly EnvProblem[];
}

const TOKEN = /\$\$\{|\$\{ENV:([^}]*)\}|\$\{ENV:/g;
const INNER = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/**
 * Replaces `${ENV:NAME}` and `${ENV:NAME:-default}` inside string values (not keys) of a parsed
 * document. Shell semantics for the default: it applies when NAME is unset or empty. `$${`
 * yields a literal `${`. Other `${...}` text is left alone. The result is always a string: a
 * reference cannot produce a number or a boolean.
 *
 * Contract: pure; variable values appear only in `value`, never in problems.
 */
export function substituteEnv(input: unknown, env: Env): EnvResult {
  const substituted = new Set<string>();
  const missing: EnvProblem[] = [];
  const malformed: EnvProblem[] = [];

  const str = (text: string, at: readonly PathSegment[]): string => {
    if (!text.includes('${')) return text;
    let used = false;
    const out = text.replace(TOKEN, (tok: string, inner: string | undefined) => {
      if (tok === '$${') return '${';
      const path = formatPath(at);
      if (inner === undefined) {
        malformed.push({ path, message: 'unterminated ${ENV:...} reference (missing "}")' });
        return tok;
      }
      const m = INNER.exec(inner);
      if (m === null) {
        malformed.push({ path, message: `malformed reference \${ENV:${inner}}: expected \${ENV:NAME} or \${ENV:NAME:-default}` });
        return tok;
      }
      const name = m[1] ?? '';
      const fallback = m[2];
      used = true;
      const v = env[name];
      if (v !== undefined && (v !== '' || fallback === undefined)) return v;
      if (fallback !== undefined) return fallback;
      missing.push({
        path,
        variable: name,
        message: `environment variable ${name} is not set (set it, or give a default: \${ENV:${name}:-default})`,
      });
      return '';
    });
    if (used) substituted.add(formatPath(at));
    return out;
  };

  const walk = (v: unknown, at: PathSegment[]): unknown => {
    if (typeof v === 'string') return str(v, at);
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...at, i]));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      // defineProperty: a `__proto__` key stays an own key (and is then rejected as unknown).
      for (const [k, x] of Object.entries(v)) {
        Object.defineProperty(out, k, { value: walk(x, [...at, k]), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    return v;
  };

  return { value: walk(input, []), substituted, missing, malformed };
}
