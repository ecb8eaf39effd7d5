/**
 * Problems of one host's conversion. Contract: errors added one by one are kept as they are;
 * counted occurrences are folded into one error per kind (with the count and up to five
 * examples), so 5,000 bad endpoints give one report, not 5,000. done() lists them all.
 */
import { MeshbridgeError, type ErrorCode } from '../errors/index.js';

export class Problems {
  readonly list: MeshbridgeError[] = [];
  private readonly counts = new Map<string, { code: ErrorCode; message: string; count: number; examples: string[] }>();
  constructor(private readonly where: string) {}

  add(e: MeshbridgeError): void {
    this.list.push(e);
  }

  /** Counts one occurrence of `kind`; `message` describes the kind, `example` this occurrence. */
  count(code: ErrorCode, kind: string, message: string, example: string): void {
    let c = this.counts.get(kind);
    if (c === undefined) this.counts.set(kind, (c = { code, message, count: 0, examples: [] }));
    c.count++;
    if (c.examples.length < 5) c.examples.push(example);
  }

  done(): MeshbridgeError[] {
    for (const c of this.counts.values()) {
      this.list.push(
        new MeshbridgeError(c.code, `${c.message} (${c.count}: ${c.examples.join(', ')}${c.count > c.examples.length ? ', ...' : ''})`, {
          path: this.where,
          details: { count: c.count, examples: c.examples },
        }),
      );
    }
    return this.list;
  }
}
