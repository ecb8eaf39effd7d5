/**
 * Writes schema/meshbridge.schema.json from the schema in code (src/config/schema.ts).
 * Run after changing the schema: `npx tsc -p tsconfig.json && node dist/src/config/write-schema.js`.
 * Prints the path written. The only module here with a side effect on import: it is a script.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SCHEMA_FILE, schemaFileText } from './schema.js';

// dist/src/config/write-schema.js -> repository root
const target = fileURLToPath(new URL(`../../../${SCHEMA_FILE}`, import.meta.url));
writeFileSync(target, schemaFileText());
process.stdout.write(`wrote ${target}\n`);
