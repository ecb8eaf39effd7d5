export { RenderSink } from './sink.js';
export type { RenderSinkOptions, RenderSinkDebug } from './sink.js';
export { renderYaml, renderDocument, orderedResources, compareResources } from './yaml.js';
export { FolderWriter } from './folder.js';
export type { FolderSyncResult, FolderFailure } from './folder.js';
export { fileNameOf, FILE_PATTERN } from './files.js';
export { RENDER_WRITES_METRIC } from '../../observability/metrics.js';
