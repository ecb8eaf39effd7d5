/**
 * Runs `fn` over `items` with at most `concurrency` calls in flight, in order of `items`.
 * No item is started once `stop()` returns true (those in flight finish). Resolves when every
 * started call settled; a rejection rejects the pool (callers that must not stop catch in `fn`).
 */
export async function runPool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>, stop: () => boolean = () => false): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && !stop()) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(0, Math.min(concurrency, items.length)) }, worker));
}
