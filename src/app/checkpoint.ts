import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErrorCode, MeshbridgeError, describeError } from '../errors/index.js';
import { serviceKey, type Service } from '../model/index.js';
import type { Logger, Metrics } from '../observability/index.js';

/**
 * The checkpoint: each registry's last healthy view (the deletion guard's baseline), in a file
 * that survives restarts (docs/safety.md#checkpoint). After a restart it is the guard's baseline
 * and what a registry publishes until it syncs, so a restarted Meshbridge answers istiod at once
 * and a registry that comes back partial cannot delete what it lost.
 *
 * File format (JSON): `{ "format": "meshbridge-checkpoint/v1", "writtenAt": ISO time,
 * "registries": { "<name>": [Service, ...] } }`, services in the neutral model.
 */
export const CHECKPOINT_FORMAT = 'meshbridge-checkpoint/v1';

export type CheckpointData = ReadonlyMap<string, ReadonlyMap<string, Service>>;

/**
 * Reads a checkpoint. A missing file is an empty checkpoint (first start). A file that cannot be
 * read or parsed, or has another format, is reported (MB_CHECKPOINT_READ) and ignored: start-up
 * goes on without it. Services that do not have the model's shape are skipped and counted.
 */
export async function readCheckpoint(path: string, logger: Logger, metrics: Metrics): Promise<CheckpointData> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return new Map();
    report(logger, metrics, `cannot read checkpoint ${path}: ${describeError(e)}`);
    return new Map();
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    report(logger, metrics, `checkpoint ${path} is not valid JSON: ${describeError(e)}`);
    return new Map();
  }
  const o = doc as { format?: unknown; registries?: unknown; writtenAt?: unknown };
  if (typeof doc !== 'object' || doc === null || o.format !== CHECKPOINT_FORMAT || typeof o.registries !== 'object' || o.registries === null) {
    report(logger, metrics, `checkpoint ${path} is not a ${CHECKPOINT_FORMAT} file`);
    return new Map();
  }
  const out = new Map<string, Map<string, Service>>();
  let skipped = 0;
  for (const [name, list] of Object.entries(o.registries as Record<string, unknown>)) {
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
  if (skipped > 0) report(logger, metrics, `checkpoint ${path}: ${skipped} entries without the service model's shape were skipped`);
  logger.info(
    { path, writtenAt: o.writtenAt, registries: Object.fromEntries([...out].map(([n, m]) => [n, m.size])) },
    'checkpoint loaded: the guard judges each registry against it; registries publish from it until they sync',
  );
  return out;
}

function report(logger: Logger, metrics: Metrics, message: string): void {
  const err = new MeshbridgeError(ErrorCode.CHECKPOINT_READ, message);
  metrics.checkpointErrors.inc({ op: 'read' });
  logger.error({ code: err.code }, `${err.message}; starting without it`);
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

/** The neutral model's shape, as far as conversion relies on it. */
function isService(v: unknown, registry: string): v is Service {
  if (!isRecord(v) || v['registry'] !== registry || typeof v['name'] !== 'string' || typeof v['registryKind'] !== 'string') return false;
  if (v['namespace'] !== undefined && typeof v['namespace'] !== 'string') return false;
  const { attributes, ports, endpoints } = v;
  return isRecord(attributes) && Array.isArray(ports) && ports.every(isPort) && Array.isArray(endpoints) && endpoints.every(isEndpoint);
}

export interface CheckpointWriterOptions {
  readonly path: string;
  readonly intervalMs: number;
  /** What to write now, and a number that changes whenever it does (the snapshot sequence). */
  readonly source: () => { readonly sequence: number | undefined; readonly data: CheckpointData };
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * Writes the checkpoint at most every `intervalMs`, only when the source's sequence moved, and
 * once more on shutdown. Writes are atomic (temporary file, then rename). A failed write is
 * reported (MB_CHECKPOINT_WRITE) and retried at the next interval; it never stops publishing.
 * The constructor does no I/O.
 */
export class CheckpointWriter {
  private readonly o: CheckpointWriterOptions;
  private written: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(options: CheckpointWriterOptions) {
    this.o = options;
  }

  start(signal: AbortSignal): void {
    this.timer = setInterval(() => void this.write(), this.o.intervalMs);
    this.timer.unref();
    signal.addEventListener('abort', () => clearInterval(this.timer), { once: true });
  }

  /** Writes now if the source moved since the last write; resolves when done (never rejects). */
  write(): Promise<void> {
    this.writing = this.writing.then(() => this.writeOnce());
    return this.writing;
  }

  private async writeOnce(): Promise<void> {
    const { sequence, data } = this.o.source();
    if (sequence === undefined || sequence === this.written) return;
    const start = performance.now();
    const registries: Record<string, Service[]> = {};
    for (const [name, services] of data) registries[name] = [...services.values()];
    const text = JSON.stringify({ format: CHECKPOINT_FORMAT, writtenAt: new Date().toISOString(), registries });
    const tmp = `${this.o.path}.tmp`;
    try {
      await mkdir(dirname(this.o.path), { recursive: true });
      await writeFile(tmp, text);
      await rename(tmp, this.o.path);
      this.written = sequence;
      this.o.metrics.checkpointWrites.inc();
      this.o.metrics.checkpointBytes.set(Buffer.byteLength(text));
      this.o.logger.debug({ path: this.o.path, bytes: text.length, ms: Math.round(performance.now() - start) }, 'checkpoint written');
    } catch (e) {
      const err = new MeshbridgeError(ErrorCode.CHECKPOINT_WRITE, `cannot write checkpoint ${this.o.path}: ${describeError(e)}`, { cause: e });
      this.o.metrics.checkpointErrors.inc({ op: 'write' });
      this.o.logger.error({ code: err.code }, `${err.message}; retrying at the next interval`);
    }
  }
}
