/**
 * What of a live object a set of field managers owns, read from metadata.managedFields
 * (server-side apply's FieldsV1 sets). Pure.
 *
 * Contract: `ownedPart(raw, managers)` is the object cut down to the fields any entry of those
 * managers (on the main resource, not a subresource such as status) lists: a map field listed
 * with sub-fields keeps only those; a field listed without sub-fields, and any list (atomic, or
 * by key or value), is kept whole. name and namespace are always kept, apiVersion and kind as
 * they are. Undefined when no entry of `managers` exists (the object was not applied by them).
 */
type Json = Record<string, unknown>;

interface ManagedFieldsEntry {
  readonly manager?: string;
  readonly subresource?: string;
  readonly fieldsType?: string;
  readonly fieldsV1?: Json;
}

interface RawObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: Json & { readonly name?: string; readonly namespace?: string; readonly managedFields?: readonly ManagedFieldsEntry[] };
}

export function ownedPart(raw: unknown, managers: ReadonlySet<string>): Json | undefined {
  const o = raw as RawObject;
  const entries = (o.metadata?.managedFields ?? []).filter(
    (e) => e.manager !== undefined && managers.has(e.manager) && (e.subresource ?? '') === '' && (e.fieldsType ?? 'FieldsV1') === 'FieldsV1',
  );
  if (entries.length === 0) return undefined;
  let fields: Json = {};
  for (const e of entries) fields = mergeFields(fields, e.fieldsV1 ?? {});
  const cut = project(raw, fields) as Json;
  const metadata = { name: o.metadata?.name, namespace: o.metadata?.namespace, ...((cut['metadata'] as Json | undefined) ?? {}) };
  return { apiVersion: o.apiVersion, kind: o.kind, ...cut, metadata };
}

function isMap(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Keys of a FieldsV1 set naming map fields (`f:name`). */
function fieldKeys(set: Json): string[] {
  return Object.keys(set).filter((k) => k.startsWith('f:'));
}

function mergeFields(a: Json, b: Json): Json {
  const out: Json = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = isMap(prev) && isMap(v) ? mergeFields(prev, v) : v;
  }
  return out;
}

function project(value: unknown, set: Json): unknown {
  if (!isMap(value)) return value;
  const out: Json = {};
  for (const k of fieldKeys(set)) {
    const name = k.slice(2);
    if (!(name in value)) continue;
    const child = value[name];
    const sub = set[k];
    out[name] = isMap(sub) && fieldKeys(sub).length > 0 && isMap(child) ? project(child, sub) : child;
  }
  return out;
}
