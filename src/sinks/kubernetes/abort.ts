/**
 * Child signals of one long-lived signal, for short-lived requests.
 *
 * Node's http adds an 'abort' listener to the signal of every request in flight. With one signal
 * shared by all of a sink's requests, more than ten concurrent writes made Node print
 * `MaxListenersExceededWarning` as plain text on stderr (breaking JSON-lines logs). Each parent
 * here carries exactly one listener, whatever the number of requests; each request gets a child
 * signal of its own that it releases when it ends.
 *
 * Contract: `childSignal(parent)` returns a signal that aborts (with the parent's reason) when the
 * parent does, or at once if it already has; `release()` forgets it. Nothing is kept for a
 * parent once it is garbage (WeakMap).
 */
const fanouts = new WeakMap<AbortSignal, Set<AbortController>>();

export interface ChildSignal {
  readonly signal: AbortSignal;
  release(): void;
}

export function childSignal(parent: AbortSignal): ChildSignal {
  const controller = new AbortController();
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { signal: controller.signal, release: () => undefined };
  }
  let children = fanouts.get(parent);
  if (children === undefined) {
    const set = new Set<AbortController>();
    children = set;
    fanouts.set(parent, set);
    parent.addEventListener(
      'abort',
      () => {
        for (const c of set) c.abort(parent.reason);
        set.clear();
      },
      { once: true },
    );
  }
  children.add(controller);
  const set = children;
  return { signal: controller.signal, release: () => void set.delete(controller) };
}
