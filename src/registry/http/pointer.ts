/**
 * JSON Pointer (RFC 6901): `""` is the whole document, `/services/0/name` walks keys and array
 * indices, `~1` stands for `/` and `~0` for `~` inside a key. Pure; used by the http kind's
 * field mapping (docs/mapping.md, "http").
 */

/** The reference tokens of `pointer`, or undefined when it is not a JSON pointer. */
export function parsePointer(pointer: string): readonly string[] | undefined {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return undefined;
  const tokens = pointer.slice(1).split('/');
  if (tokens.some((t) => /~[^01]|~$/.test(t))) return undefined;
  return tokens.map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The value at `tokens` below `doc`; undefined when a step is missing (never throws). */
export function valueAt(doc: unknown, tokens: readonly string[]): unknown {
  let cur: unknown = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9][0-9]*)$/.test(t)) return undefined;
      cur = cur[Number(t)];
    } else if (typeof cur === 'object' && cur !== null && Object.prototype.hasOwnProperty.call(cur, t)) {
      cur = (cur as Record<string, unknown>)[t];
    } else {
      return undefined;
    }
  }
  return cur;
}

/**
 * The tokens as an entry-path suffix in the notation of error messages: `/meta/app.kind` ->
 * `.meta["app.kind"]`, `/ports/0` -> `.ports[0]` (a token of digits reads as an index).
 */
export function pointerSuffix(tokens: readonly string[]): string {
  return tokens.map((t) => (/^(0|[1-9][0-9]*)$/.test(t) ? `[${t}]` : /^[A-Za-z_][A-Za-z0-9_-]*$/.test(t) ? `.${t}` : `[${JSON.stringify(t)}]`)).join('');
}
