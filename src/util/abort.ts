/**
 * Many short-lived waits on one long-lived signal, with one listener on it.
 *
 * Node warns (`MaxListenersExceededWarning`, printed as plain text on stderr, which breaks
 * JSON-lines logs) once more than ten listeners sit on one AbortSignal. A sink's concurrent
 * writes, an adapter's concurrent blocking queries or its queued slot waiters all wait on the
 * same shutdown signal. Here each signal carries exactly one listener, whatever the number of
 * waiters; each waiter registers a callback or gets a child signal and releases it when done.
 *
 * Contract: callbacks run once, in registration order, when the signal aborts (at once when it
 * already has); a released waiter is never called; nothing is kept for a signal once it is
 * garbage (WeakMap).
 */
const waiters = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `fn` when `signal` aborts; returns the function that unregisters it. */
export function whenAborted(signal: AbortSignal, fn: () => void): () => void {
  if (signal.aborted) {
    fn();
    return () => undefined;
  }
  let set = waiters.get(signal);
  if (set === undefined) {
    const s = new Set<() => void>();
    set = s;
    waiters.set(signal, s);
    signal.addEventListener(
      'abort',
      () => {
        const all = [...s];
        s.clear();
        for (const f of all) f();
      },
      { once: true },
    );
  }
  const own = set;
  own.add(fn);
  return () => void own.delete(fn);
}

export interface ChildSignal {
  readonly signal: AbortSignal;
  release(): void;
}

/** A signal of its own that aborts (with the parent's reason) when `parent` does. */
export function childSignal(parent: AbortSignal): ChildSignal {
  const controller = new AbortController();
  const release = whenAborted(parent, () => controller.abort(parent.reason));
  return { signal: controller.signal, release };
}
