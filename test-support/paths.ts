/**
 * Where things are, for every kit module, test and bench (compiled to dist/test-support/paths.js,
 * so the repository root is two folders up).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (with a trailing slash). */
export const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** The compiled CLI. */
export const MAIN = join(REPO, 'dist', 'src', 'main.js');
/** The peer builders and starters (plain ESM and shell, no build step). */
export const PEERS_DIR = join(REPO, 'test-support', 'peers');

/** The URL of one of the peer starters in test-support/peers/ (e.g. 'peers.mjs'), for import(). */
export function peerModuleUrl(file: string): URL {
  return new URL(`../../test-support/peers/${file}`, import.meta.url);
}
