/**
 * A consumer of snapshots: the Kubernetes writer, the MCP-over-xDS server, the renderer.
 *
 * Contract:
 * - A sink reads what it publishes only from the SnapshotStore (`current()` and `subscribe`);
 *   it never reaches into registries, conversion or another sink. The snapshot is the only
 *   hand-off between computing and serving.
 * - Build, then start: the constructor only stores its options and allocates; it does no I/O
 *   (no sockets, files, timers). `start(signal)` does the I/O and resolves once the sink is
 *   running (listening, watching); it rejects with a MeshbridgeError if it cannot start.
 * - Aborting `signal` stops the sink; work in flight is finished or abandoned gracefully.
 *   `start` is called at most once per instance.
 * - A sink never publishes anything before a first snapshot exists (every registry synced).
 */
export interface Sink {
  /** Stable, short name for logs, metrics and /debug ("kubernetes", "xds", "render"). */
  readonly name: string;
  start(signal: AbortSignal): Promise<void>;
}
