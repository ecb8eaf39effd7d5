import { createHash, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip as gunzipCb, gzip as gzipCb } from 'node:zlib';
import { OwnershipLabel } from '../snapshot/resource.js';
import { apiError, type KubeClient } from '../sinks/kubernetes/kube-client.js';
import type { CheckpointStore, WriteResult } from './store.js';

const gzip = promisify(gzipCb);
const gunzip = promisify(gunzipCb);

/** The head ConfigMap's `data.format`. */
export const CONFIGMAP_FORMAT = 'meshbridge-checkpoint-configmap/v1';
const PAYLOAD_KEY = 'checkpoint.json.gz';
const PART_KEY = 'part';
const LABEL_CHECKPOINT = 'meshbridge.io/checkpoint';
const LABEL_GENERATION = 'meshbridge.io/checkpoint-generation';
/**
 * Gzipped bytes per ConfigMap. A ConfigMap holds at most 1 MiB, and binaryData travels base64
 * (4/3) in a JSON request; 768 KiB leaves room for both.
 */
export const DEFAULT_PART_BYTES = 768 * 1024;
/** Parts of a generation no head names (a writer that crashed or lost a race) live this long. */
const ORPHAN_GRACE_MS = 10 * 60_000;

export interface ConfigMapStoreOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  /** The head ConfigMap; parts are `<name>-<generation>-<i>`. A DNS label (also a label value). */
  readonly name: string;
  /** Stamped as meshbridge.io/instance on every object. */
  readonly instance: string;
  readonly partBytes?: number;
  readonly now?: () => number;
}

interface Head {
  readonly resourceVersion: string;
  readonly generation: string;
  readonly parts: number;
  readonly sha256: string;
  readonly inline: Buffer | undefined;
}

interface ConfigMapObject {
  metadata?: { name?: string; resourceVersion?: string; creationTimestamp?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/**
 * A checkpoint kept in ConfigMaps of one namespace (docs/safety.md#checkpoint), for a pod whose
 * disk does not survive rescheduling. The document is gzipped. Up to `partBytes` it sits in the
 * head ConfigMap itself; beyond, in part ConfigMaps named by a fresh generation, and the head
 * names that generation, their count and the SHA-256 of the whole.
 *
 * Atomicity: parts of a new generation are written first, then the head is replaced with
 * optimistic concurrency (its resourceVersion), so a reader sees the old or the new document
 * whole; a torn read (parts gone or mismatched) is retried once, then rejected. Two writers (MCP
 * replicas share one checkpoint): the one whose head update loses (409) drops its parts and
 * reports `skipped`. After a head update the previous generation is deleted; orphans of failed
 * writes after ORPHAN_GRACE_MS. Only objects labelled meshbridge.io/checkpoint=<name> and
 * meshbridge.io/instance=<instance> are ever deleted; a head of another instance (or no
 * checkpoint head at all) is neither read nor replaced.
 */
export class ConfigMapCheckpointStore implements CheckpointStore {
  readonly description: string;
  private readonly o: ConfigMapStoreOptions;
  private readonly base: string;
  private inited: Promise<void> | undefined;

  constructor(options: ConfigMapStoreOptions) {
    this.o = options;
    this.description = `ConfigMap ${options.namespace}/${options.name}`;
    this.base = `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/configmaps`;
  }

  async read(signal: AbortSignal): Promise<string | undefined> {
    await this.init();
    let problem = '';
    for (let attempt = 1; attempt <= 2; attempt++) {
      const head = await this.head(signal);
      if (head === undefined) return undefined;
      const payload = head.inline ?? (await this.readParts(head, signal));
      if (payload === undefined) problem = `a part of generation ${head.generation} is missing`;
      else if (sha256(payload) !== head.sha256) problem = `generation ${head.generation} does not match its SHA-256`;
      else return (await gunzip(payload)).toString('utf8');
    }
    throw new Error(`${this.description}: ${problem} (read twice)`);
  }

  async write(text: string, signal: AbortSignal): Promise<WriteResult> {
    await this.init();
    const payload = await gzip(Buffer.from(text, 'utf8'));
    const partBytes = this.o.partBytes ?? DEFAULT_PART_BYTES;
    const previous = await this.head(signal);
    const generation = randomBytes(4).toString('hex');
    const parts: Buffer[] = [];
    if (payload.length > partBytes) for (let i = 0; i < payload.length; i += partBytes) parts.push(payload.subarray(i, i + partBytes));
    for (const [i, part] of parts.entries()) await this.putPart(generation, i, part, signal);
    const head = this.headObject(generation, parts.length, sha256(payload), payload.length, parts.length === 0 ? payload : undefined);
    try {
      if (previous === undefined) await this.o.client.request({ method: 'POST', path: this.base, body: head, signal });
      else {
        head.metadata = { ...head.metadata, resourceVersion: previous.resourceVersion };
        await this.o.client.request({ method: 'PUT', path: `${this.base}/${this.o.name}`, body: head, signal });
      }
    } catch (e) {
      if (apiError(e)?.status !== 409) throw e;
      // Another writer replaced the head first: ours is not the checkpoint, its parts are garbage.
      await this.deleteGeneration(generation, signal).catch(() => undefined);
      return { bytes: payload.length, skipped: true };
    }
    const warning = await this.collect(generation, previous?.generation, signal).then(
      () => undefined,
      (e: unknown) => `old checkpoint parts not deleted: ${e instanceof Error ? e.message : String(e)}`,
    );
    return { bytes: payload.length, ...(warning !== undefined ? { warning } : {}) };
  }

  private init(): Promise<void> {
    this.inited ??= this.o.client.init();
    return this.inited;
  }

  private labels(extra: Record<string, string> = {}): Record<string, string> {
    return { [OwnershipLabel.MANAGED_BY]: OwnershipLabel.MANAGED_BY_VALUE, [OwnershipLabel.INSTANCE]: this.o.instance, [LABEL_CHECKPOINT]: this.o.name, ...extra };
  }

  private headObject(generation: string, parts: number, sha: string, bytes: number, inline: Buffer | undefined): ConfigMapObject & Record<string, unknown> {
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: this.o.name, labels: this.labels() },
      data: { format: CONFIGMAP_FORMAT, generation, parts: String(parts), sha256: sha, bytes: String(bytes), writtenAt: new Date(this.now()).toISOString() },
      ...(inline !== undefined ? { binaryData: { [PAYLOAD_KEY]: inline.toString('base64') } } : {}),
    };
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  private async head(signal: AbortSignal): Promise<Head | undefined> {
    let cm: ConfigMapObject;
    try {
      cm = await this.o.client.request<ConfigMapObject>({ method: 'GET', path: `${this.base}/${this.o.name}`, signal });
    } catch (e) {
      if (apiError(e)?.status === 404) return undefined;
      throw e;
    }
    const d = cm.data ?? {};
    const parts = Number(d['parts']);
    if (d['format'] !== CONFIGMAP_FORMAT || d['generation'] === undefined || d['sha256'] === undefined || !Number.isInteger(parts) || parts < 0) {
      throw new Error(`${this.description} exists but is not a ${CONFIGMAP_FORMAT} head`);
    }
    const owner = cm.metadata?.labels?.[OwnershipLabel.INSTANCE];
    if (owner !== this.o.instance) {
      throw new Error(`${this.description} is the checkpoint of instance "${owner ?? ''}", not "${this.o.instance}": give each deployment its own checkpoint name`);
    }
    const b64 = cm.binaryData?.[PAYLOAD_KEY];
    if (parts === 0 && b64 === undefined) throw new Error(`${this.description} has no ${PAYLOAD_KEY}`);
    return {
      resourceVersion: cm.metadata?.resourceVersion ?? '',
      generation: d['generation'],
      parts,
      sha256: d['sha256'],
      inline: parts === 0 && b64 !== undefined ? Buffer.from(b64, 'base64') : undefined,
    };
  }

  /** The generation's parts joined; undefined when one is missing (the head moved meanwhile). */
  private async readParts(head: Head, signal: AbortSignal): Promise<Buffer | undefined> {
    const out: Buffer[] = [];
    for (let i = 0; i < head.parts; i++) {
      try {
        const cm = await this.o.client.request<ConfigMapObject>({ method: 'GET', path: `${this.base}/${this.partName(head.generation, i)}`, signal });
        const b64 = cm.binaryData?.[PART_KEY];
        if (b64 === undefined) return undefined;
        out.push(Buffer.from(b64, 'base64'));
      } catch (e) {
        if (apiError(e)?.status === 404) return undefined;
        throw e;
      }
    }
    return Buffer.concat(out);
  }

  private partName(generation: string, i: number): string {
    return `${this.o.name}-${generation}-${i}`;
  }

  private async putPart(generation: string, i: number, part: Buffer, signal: AbortSignal): Promise<void> {
    await this.o.client.request({
      method: 'POST',
      path: this.base,
      body: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: this.partName(generation, i), labels: this.labels({ [LABEL_GENERATION]: generation }) },
        binaryData: { [PART_KEY]: part.toString('base64') },
      },
      signal,
    });
  }

  private async listParts(signal: AbortSignal): Promise<ConfigMapObject[]> {
    const selector = `${LABEL_CHECKPOINT}=${this.o.name},${OwnershipLabel.INSTANCE}=${this.o.instance},${LABEL_GENERATION}`;
    const list = await this.o.client.request<{ items?: ConfigMapObject[] }>({ method: 'GET', path: this.base, query: { labelSelector: selector }, signal });
    return list.items ?? [];
  }

  /** Deletes parts not of `keep`: the previous generation at once, any other once it is old. */
  private async collect(keep: string, previous: string | undefined, signal: AbortSignal): Promise<void> {
    const now = this.now();
    for (const cm of await this.listParts(signal)) {
      const gen = cm.metadata?.labels?.[LABEL_GENERATION];
      if (gen === undefined || gen === keep) continue;
      const age = now - Date.parse(cm.metadata?.creationTimestamp ?? '');
      if (gen === previous || age > ORPHAN_GRACE_MS) await this.deleteObject(cm.metadata?.name, signal);
    }
  }

  private async deleteGeneration(generation: string, signal: AbortSignal): Promise<void> {
    for (const cm of await this.listParts(signal)) {
      if (cm.metadata?.labels?.[LABEL_GENERATION] === generation) await this.deleteObject(cm.metadata?.name, signal);
    }
  }

  private async deleteObject(name: string | undefined, signal: AbortSignal): Promise<void> {
    if (name === undefined) return;
    try {
      await this.o.client.request({ method: 'DELETE', path: `${this.base}/${name}`, signal });
    } catch (e) {
      if (apiError(e)?.status !== 404) throw e;
    }
  }
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
