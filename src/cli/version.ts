import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The package version, read from package.json beside dist/ (dist/src/cli -> three levels up).
 * Falls back to "unknown" rather than failing: `--version` must never crash.
 */
export function packageVersion(): string {
  try {
    const file = fileURLToPath(new URL('../../../package.json', import.meta.url));
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
