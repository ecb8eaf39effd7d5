/**
 * Secrets never leave the process through what Meshbridge says: every log line, admin reply
 * and CLI message passes through `redactSecrets`, which replaces each registered secret (and the
 * forms it takes on the wire: JSON-escaped, URL-encoded, and for user/password pairs the base64
 * of HTTP basic authentication) with `[REDACTED]`. An error message may well hold a secret that
 * a server echoed back (a proxy's error page quoting the request); redacting at the outputs
 * covers every such path, not only the ones someone thought of.
 *
 * Contract: process-wide (secrets belong to the process's config); registering is idempotent;
 * values shorter than 4 characters are not registered (they would redact ordinary text).
 */
const secrets = new Set<string>();
let pattern: RegExp | undefined;

export const REDACTED = '[REDACTED]';

/** Registers a secret value, with its wire forms. */
export function registerSecret(value: string | undefined): void {
  if (value === undefined || value.length < 4) return;
  const forms = [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)];
  let added = false;
  for (const f of forms) {
    if (f.length < 4 || secrets.has(f)) continue;
    secrets.add(f);
    added = true;
  }
  if (added) pattern = undefined;
}

/** Registers an HTTP basic-auth pair: the password and the base64 credentials. */
export function registerBasicAuth(username: string | undefined, password: string | undefined): void {
  registerSecret(password);
  if (password !== undefined && password.length > 0) registerSecret(Buffer.from(`${username ?? ''}:${password}`).toString('base64'));
}

/** `text` with every registered secret replaced by [REDACTED]. */
export function redactSecrets(text: string): string {
  if (secrets.size === 0) return text;
  pattern ??= new RegExp(
    [...secrets]
      .sort((a, b) => b.length - a.length)
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('|'),
    'g',
  );
  return text.replace(pattern, REDACTED);
}

/**
 * Every secret of a resolved config, found by key name: string values under keys named like a
 * password, token, secret or credentials (the key ends so: `password`, `token`, `accessToken`; at any depth), user/password pairs as basic auth, and passwords in
 * URLs (`http://user:pass@host`).
 */
export function registerConfigSecrets(config: unknown): void {
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      for (const m of v.matchAll(/[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:([^@\s/]+)@/gi)) registerSecret(decodeURIComponentSafe(m[1] ?? ''));
      return;
    }
    if (Array.isArray(v)) {
      for (const x of v) walk(x);
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    const o = v as Record<string, unknown>;
    for (const [k, x] of Object.entries(o)) {
      if (typeof x === 'string' && /(password|passwd|token|secret|credentials?)$/i.test(k)) registerSecret(x);
      else walk(x);
    }
    if (typeof o['password'] === 'string') registerBasicAuth(typeof o['username'] === 'string' ? o['username'] : '', o['password']);
  };
  walk(config);
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
