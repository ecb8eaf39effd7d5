import { serviceKey, type Service } from '../model/index.js';

/**
 * The checkpoint document: each registry's last healthy view (the deletion guard's baseline),
 * in the neutral model (docs/safety.md#checkpoint). Stores keep its text as they like (a file as
 * is, a ConfigMap gzipped); the text is the same.
 *
 * Format (JSON): `{ "format": "meshbridge-checkpoint/v1", "writtenAt": ISO time,
 * "registries": { "<name>": [Service, ...] } }`.
 */
export const CHECKPOINT_FORMAT = 'meshbridge-checkpoint/v1';

export type CheckpointData = ReadonlyMap<string, ReadonlyMap<string, Service>>;

/** Pure: the document for `data`, stamped `now`. */
export function encodeCheckpoint(data: CheckpointData, now: Date): string {
  const registries: Record<string, Service[]> = {};
  for (const [name, services] of data) registries[name] = [...services.values()];
  return JSON.stringify({ format: CHECKPOINT_FORMAT, writtenAt: now.toISOString(), registries });
}

/**
 * The same text as encodeCheckpoint, built in slices of `slice` services with a macrotask yield
 * between them: at 10,000 services x 10 endpoints the document is ~30 MB and one
 * JSON.stringify holds the event loop for ~0.7 s, long enough to hurt registry heartbeats.
 */
export async function encodeCheckpointSliced(data: CheckpointData, now: Date, slice = 500): Promise<string> {
  const parts: string[] = [];
  let n = 0;
  for (const [name, services] of data) {
    const items: string[] = [];
    for (const s of services.values()) {
      items.push(JSON.stringify(s));
      if (++n % slice === 0) await new Promise((r) => setImmediate(r));
    }
    parts.push(`${JSON.stringify(name)}:[${items.join(',')}]`);
  }
  return `{"format":${JSON.stringify(CHECKPOINT_FORMAT)},"writtenAt":${JSON.stringify(now.toISOString())},"registries":{${parts.join(',')}}}`;
}

export type Decoded =
  | { readonly ok: true; readonly data: CheckpointData; readonly skipped: number; readonly writtenAt: unknown }
  | { readonly ok: false; readonly error: string };

/**
 * Pure: parses a document. Not JSON or not this format: `ok: false` with the reason. Entries
 * without the model's shape (as far as conversion relies on it) are skipped and counted; a
 * service filed under another registry's name is such an entry.
 */
export function decodeCheckpoint(text: string): Decoded {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `not valid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  const o = doc as { format?: unknown; registries?: unknown; writtenAt?: unknown };
  if (!isRecord(doc) || o.format !== CHECKPOINT_FORMAT || !isRecord(o.registries)) {
    return { ok: false, error: `not a ${CHECKPOINT_FORMAT} document` };
  }
  const out = new Map<string, Map<string, Service>>();
  let skipped = 0;
  for (const [name, list] of Object.entries(o.registries)) {
    if (!Array.isArray(list)) {
      skipped += 1;
      continue;
    }
    const services = new Map<string, Service>();
    for (const s of list) {
      if (isService(s, name)) services.set(serviceKey(s), s);
      else skipped += 1;
    }
    out.set(name, services);
  }
  return { ok: true, data: out, skipped, writtenAt: o.writtenAt };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPort(v: unknown): boolean {
  return isRecord(v) && typeof v['number'] === 'number' && typeof v['name'] === 'string' && typeof v['protocol'] === 'string';
}

function isEndpoint(v: unknown): boolean {
  return (
    isRecord(v) &&
    typeof v['address'] === 'string' &&
    isRecord(v['ports']) &&
    isRecord(v['labels']) &&
    typeof v['health'] === 'string' &&
    typeof v['origin'] === 'string'
  );
}

function isService(v: unknown, registry: string): v is Service {
  if (!isRecord(v) || v['registry'] !== registry || typeof v['name'] !== 'string' || typeof v['registryKind'] !== 'string') return false;
  if (v['namespace'] !== undefined && typeof v['namespace'] !== 'string') return false;
  const { attributes, ports, endpoints, consumers } = v;
  if (consumers !== undefined && !(Array.isArray(consumers) && consumers.every((c) => typeof c === 'string'))) return false;
  return isRecord(attributes) && Array.isArray(ports) && ports.every(isPort) && Array.isArray(endpoints) && endpoints.every(isEndpoint);
}
