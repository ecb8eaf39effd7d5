/** One server-sent event (WHATWG HTML, "Server-sent events"): its type and data. */
export interface SseEvent {
  /** `message` unless the server named it with an `event:` line. */
  readonly type: string;
  readonly data: string;
}

/**
 * An incremental parser of a text/event-stream: feed it chunks as they arrive, it calls `onEvent`
 * for each complete event, in order. Lines end in LF, CR or CRLF (also split across chunks);
 * `data:` lines join with LF; comments (`:` lines, the usual keep-alive) and `id:`/`retry:`
 * lines are ignored; an event without any `data:` line is dispatched with empty data only when it
 * named a type (a notification such as `event: changed`). Pure apart from the callback.
 */
export class SseParser {
  private buffer = '';
  private type = '';
  private data: string[] | undefined;
  private lastWasCr = false;

  constructor(private readonly onEvent: (e: SseEvent) => void) {}

  push(chunk: string): void {
    let text = chunk;
    if (this.lastWasCr && text.startsWith('\n')) text = text.slice(1);
    this.lastWasCr = text.endsWith('\r');
    this.buffer += text;
    const lines = this.buffer.split(/\r\n|\r|\n/);
    this.buffer = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data !== undefined || this.type !== '') this.onEvent({ type: this.type || 'message', data: (this.data ?? []).join('\n') });
      this.type = '';
      this.data = undefined;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.type = value;
    else if (field === 'data') (this.data ??= []).push(value);
  }
}
