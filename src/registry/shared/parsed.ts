import type { MeshbridgeError } from '../../errors/index.js';

/**
 * What every parser and builder of untrusted registry input returns, in every adapter: the value
 * (possibly with problems about parts of it that were skipped or ignored), or no value and the
 * problems why. Problems are coded (MB_ENTRY_*, MB_SOURCE_PARSE) and never thrown: one bad entry
 * never stops its neighbours.
 */
export interface Parsed<T> {
  /** Undefined when nothing usable was left; `problems` then says why. */
  readonly value: T | undefined;
  readonly problems: readonly MeshbridgeError[];
}

/** What a builder that always yields a value returns (problems name the parts it left out). */
export type Built<T> = Parsed<T> & { readonly value: T };

/** A usable value, with the problems of the parts that were skipped. */
export function parsed<T>(value: T, problems: readonly MeshbridgeError[] = []): Parsed<T> {
  return { value, problems };
}

/** Nothing usable: the whole input was refused. */
export function refused<T>(problem: MeshbridgeError, ...more: MeshbridgeError[]): Parsed<T> {
  return { value: undefined, problems: [problem, ...more] };
}
