export { FileRegistry, createFileRegistry } from './file-registry.js';
export type { FileRegistryOptions } from './file-registry.js';
export { FILE_REGISTRY_KIND, validateDocument } from './validate.js';
export type { ValidateOptions, ValidateResult } from './validate.js';
export { parseSource, detectFormat, SourceFormat } from './parse.js';
