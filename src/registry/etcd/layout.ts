/**
 * How an etcd key (below the registry's prefix) names a service instance. Two forms:
 *
 * - a template of `/`-separated segments, each either literal text or one placeholder
 *   (`{service}/{instance}`, `{namespace}/{service}/{instance}`, `{group}/{service}/{instance}`):
 *   a placeholder matches one non-empty segment (no `/`);
 * - a regular expression with named groups, anchored at both ends
 *   (`^(?<service>[^/]+)/instances/(?<instance>.+)$`).
 *
 * Groups/placeholders: `service` and `instance` are required; `namespace` is optional; every
 * other name becomes a service attribute (for host templates: `{group}`, `{version}`, ...).
 */

export const LAYOUT_SERVICE = 'service';
export const LAYOUT_INSTANCE = 'instance';
export const LAYOUT_NAMESPACE = 'namespace';

/** The default template: `<prefix><service>/<instance>`. */
export const DEFAULT_LAYOUT = '{service}/{instance}';

/** What a key below the prefix names. */
export interface KeyMatch {
  readonly service: string;
  readonly instance: string;
  readonly namespace?: string;
  /** Attributes from the other placeholders/groups, in name order. */
  readonly attributes: Readonly<Record<string, string>>;
}

export interface KeyLayout {
  /** The layout as configured, for messages. */
  readonly source: string;
  /** The match, or undefined when the key is outside the layout. */
  match(relativeKey: string): KeyMatch | undefined;
}

/** A layout that cannot be used; `message` says why (for config checks). */
export class LayoutError extends Error {}

const PLACEHOLDER = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Compiles a `{placeholder}` template; throws LayoutError when it is unusable. */
export function templateLayout(template: string): KeyLayout {
  if (template.length === 0) throw new LayoutError('the layout is empty');
  const names = new Set<string>();
  const parts = template.split('/').map((segment) => {
    if (segment.length === 0) throw new LayoutError(`layout "${template}" has an empty segment (leading, trailing or double "/")`);
    const m = PLACEHOLDER.exec(segment);
    if (m === null) {
      if (/[{}]/.test(segment)) {
        throw new LayoutError(`layout segment "${segment}" must be literal text or exactly one {placeholder}`);
      }
      return escapeRegex(segment);
    }
    const name = m[1] ?? '';
    if (names.has(name)) throw new LayoutError(`layout "${template}" uses {${name}} twice`);
    names.add(name);
    return `(?<${name}>[^/]+)`;
  });
  return compile(template, `^${parts.join('/')}$`, names);
}

/** Compiles a regular expression with named groups; throws LayoutError when it is unusable. */
export function regexLayout(source: string): KeyLayout {
  try {
    new RegExp(source, 'u');
  } catch (e) {
    throw new LayoutError(`keyRegex is not a valid regular expression: ${e instanceof Error ? e.message : String(e)}`);
  }
  const names = new Set<string>();
  for (const m of source.matchAll(/\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g)) names.add(m[1] ?? '');
  // Anchored at both ends, whether or not the source says ^...$ itself.
  return compile(source, `^(?:${source})$`, names);
}

function compile(source: string, pattern: string, names: ReadonlySet<string>): KeyLayout {
  for (const required of [LAYOUT_SERVICE, LAYOUT_INSTANCE]) {
    if (!names.has(required)) throw new LayoutError(`layout "${source}" has no {${required}}`);
  }
  let re: RegExp;
  try {
    re = new RegExp(pattern, 'u');
  } catch (e) {
    throw new LayoutError(`layout "${source}" does not compile: ${e instanceof Error ? e.message : String(e)}`);
  }
  const attributeNames = [...names].filter((n) => n !== LAYOUT_SERVICE && n !== LAYOUT_INSTANCE && n !== LAYOUT_NAMESPACE).sort();
  return {
    source,
    match(relativeKey: string): KeyMatch | undefined {
      const groups = re.exec(relativeKey)?.groups;
      if (groups === undefined) return undefined;
      const service = groups[LAYOUT_SERVICE];
      const instance = groups[LAYOUT_INSTANCE];
      if (service === undefined || service.length === 0 || instance === undefined || instance.length === 0) return undefined;
      const namespace = groups[LAYOUT_NAMESPACE];
      const attributes = new Map<string, string>();
      for (const n of attributeNames) {
        const v = groups[n];
        if (v !== undefined && v.length > 0) attributes.set(n, v);
      }
      return {
        service,
        instance,
        ...(namespace !== undefined && namespace.length > 0 ? { namespace } : {}),
        attributes: Object.fromEntries(attributes),
      };
    },
  };
}

/** The layout a registry uses: `keyRegex` when given, else the `layout` template (default). */
export function buildLayout(o: { readonly layout?: string | undefined; readonly keyRegex?: string | undefined }): KeyLayout {
  return o.keyRegex !== undefined ? regexLayout(o.keyRegex) : templateLayout(o.layout ?? DEFAULT_LAYOUT);
}
