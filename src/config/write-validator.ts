/**
 * Writes dist/src/config/runtime-validator.cjs (the config validator precompiled by ajv
 * standalone) beside validator-code.js. Part of `npm run build`; a script (side effect on import).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PRECOMPILED_FILE, precompiledSource } from './validator-code.js';

const target = fileURLToPath(new URL(`./${PRECOMPILED_FILE}`, import.meta.url));
writeFileSync(target, precompiledSource());
