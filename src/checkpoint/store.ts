/**
 * Where a checkpoint document is kept. Implementations: a file (file-store.ts) and ConfigMaps
 * (configmap-store.ts). Constructors do no I/O.
 *
 * Contract: `read` resolves undefined when nothing was ever stored (a first start) and rejects
 * when something is stored but cannot be read back whole; `write` replaces the document
 * atomically (a reader sees the old or the new one, never a mix) and rejects on failure, leaving
 * the old one readable. Both honour `signal`.
 */
export interface CheckpointStore {
  /** For logs and errors: "file /var/lib/meshbridge/checkpoint.json", "ConfigMap ns/name". */
  readonly description: string;
  read(signal: AbortSignal): Promise<string | undefined>;
  write(text: string, signal: AbortSignal): Promise<WriteResult>;
}

/** `bytes`: what the store keeps (after compression); `skipped`: another writer won the race. */
export interface WriteResult {
  readonly bytes: number;
  readonly skipped?: boolean;
  /** The write succeeded, but something beside it did not (e.g. old parts left behind). */
  readonly warning?: string;
}
