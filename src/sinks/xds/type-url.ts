import { ISTIO_GROUP, ISTIO_KINDS, type ResourceKind } from '../../snapshot/index.js';

/** An MCP collection type URL, `<group>/<version>/<Kind>` (e.g. networking.istio.io/v1/ServiceEntry). */
export interface CollectionType {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

/**
 * Parses an MCP collection type URL. Returns undefined for anything that is not exactly three
 * non-empty `/`-separated parts (an Envoy `type.googleapis.com/...` URL is not a collection).
 */
export function parseTypeUrl(typeUrl: string): CollectionType | undefined {
  const parts = typeUrl.split('/');
  if (parts.length !== 3) return undefined;
  const [group, version, kind] = parts;
  if (group === undefined || version === undefined || kind === undefined) return undefined;
  if (group === '' || version === '' || kind === '') return undefined;
  return { group, version, kind };
}

/** Only the Istio kinds: the core Kubernetes kinds in a snapshot are never served over MCP. */
const KINDS: ReadonlySet<string> = ISTIO_KINDS;

function isResourceKind(kind: string): kind is ResourceKind {
  return KINDS.has(kind);
}

/**
 * The snapshot kind a type URL asks for, matching on group + kind only (istiod asks v1alpha3 up
 * to 1.23 and v1 from 1.24; v1beta1 is valid too). Undefined: a type Meshbridge does not publish,
 * answered with an empty response (MeshConfig always falls here).
 */
export function kindOfTypeUrl(typeUrl: string): ResourceKind | undefined {
  const t = parseTypeUrl(typeUrl);
  if (t === undefined || t.group !== ISTIO_GROUP) return undefined;
  return isResourceKind(t.kind) ? t.kind : undefined;
}
