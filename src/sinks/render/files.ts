import { OwnershipLabel, type IstioResource } from '../../snapshot/index.js';
import { parseAllDocuments } from 'yaml';

/**
 * Folder-mode file naming: `<kind>-<namespace>-<name>.yaml`, kind lowercased. Namespaces and
 * names are DNS labels/subdomains, so the name is safe as a file name; anything else is refused.
 */
export const FILE_PATTERN = /^(serviceentry|workloadentry)-[a-z0-9][a-z0-9.-]*\.yaml$/;

const SAFE = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;

/** The file name of a resource, or undefined when its namespace or name is not file-safe. */
export function fileNameOf(r: Pick<IstioResource, 'kind' | 'namespace' | 'name'>): string | undefined {
  if (!SAFE.test(r.namespace) || !SAFE.test(r.name) || r.name.includes('..')) return undefined;
  const file = `${r.kind.toLowerCase()}-${r.namespace}-${r.name}.yaml`;
  return FILE_PATTERN.test(file) ? file : undefined;
}

/** Temp files of atomic writes: dot-prefixed, so never matched by FILE_PATTERN. */
export const TEMP_PATTERN = /^\.(serviceentry|workloadentry)-.*\.yaml\.tmp-\d+-[0-9a-f]+$/;

export function tempNameOf(file: string, nonce: string): string {
  return `.${file}.tmp-${process.pid}-${nonce}`;
}

/**
 * True when YAML text holds at least one document carrying Meshbridge's managed-by label (and no
 * document without it): the only files folder mode ever deletes.
 */
export function isManagedYaml(text: string): boolean {
  let docs;
  try {
    docs = parseAllDocuments(text);
  } catch {
    return false;
  }
  if (!Array.isArray(docs) || docs.length === 0) return false;
  for (const d of docs) {
    if (d.errors.length > 0) return false;
    const obj: unknown = d.toJS();
    if (!isRecord(obj) || !isRecord(obj.metadata) || !isRecord(obj.metadata.labels)) return false;
    if (obj.metadata.labels[OwnershipLabel.MANAGED_BY] !== OwnershipLabel.MANAGED_BY_VALUE) return false;
  }
  return true;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
