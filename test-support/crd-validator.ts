/**
 * Istio's real CRDs (`../shared/istio/crd-all.gen.yaml` beside the repository) as a validator of
 * what conversion produces: ajv over the v1 openAPIV3Schema, plus the CEL rules and istiod's own
 * checks re-implemented (see crd-schema.test.ts for the list). Shared by the CRD and the
 * property tests.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { isDnsSubdomain, isLabelKey, isLabelValue, isValidHost, type IstioManifest } from '../src/convert/index.js';
import { REPO } from './paths.js';

/** Repository root (with a trailing slash). */
export const repoRoot = REPO;
export const crdPath = fileURLToPath(new URL('../shared/istio/crd-all.gen.yaml', `file://${repoRoot}`));

export type Json = Record<string, unknown>;

export function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The v1 openAPIV3Schema of each kind, from the CRD file. */
export function loadSchemas(): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const doc of parseAllDocuments(readFileSync(crdPath, 'utf8'))) {
    const crd: unknown = doc.toJS();
    if (!isObj(crd) || crd['kind'] !== 'CustomResourceDefinition' || !isObj(crd['spec'])) continue;
    const spec = crd['spec'];
    const names = spec['names'];
    if (!isObj(names) || spec['group'] !== 'networking.istio.io') continue;
    const kind = names['kind'];
    if (kind !== 'ServiceEntry' && kind !== 'WorkloadEntry') continue;
    for (const v of (spec['versions'] as unknown[]) ?? []) {
      if (isObj(v) && v['name'] === 'v1' && isObj(v['schema']) && isObj(v['schema']['openAPIV3Schema'])) {
        out.set(kind, v['schema']['openAPIV3Schema']);
      }
    }
  }
  return out;
}

/** Every CEL rule in a schema, and every x-kubernetes-* keyword name used. */
export function walk(schema: unknown, rules: Set<string>, keywords: Set<string>): void {
  if (Array.isArray(schema)) {
    for (const x of schema) walk(x, rules, keywords);
    return;
  }
  if (!isObj(schema)) return;
  for (const [k, v] of Object.entries(schema)) {
    if (k.startsWith('x-kubernetes-')) keywords.add(k);
    if (k === 'x-kubernetes-validations' && Array.isArray(v)) {
      for (const r of v) if (isObj(r) && typeof r['rule'] === 'string') rules.add(r['rule']);
    }
    walk(v, rules, keywords);
  }
}

/**
 * The CEL rules of the v1 ServiceEntry / WorkloadEntry CRDs and how this test covers each.
 * Keys are the exact rule text from the CRD.
 */
export const KNOWN_CEL_RULES: Readonly<Record<string, string>> = {
  'self.startsWith("unix://") ? (self.substring(7, 8) == "/" || self.substring(7, 8) == "@") : true': 'no unix:// addresses (checked)',
  'self.startsWith("unix://") ? !self.endsWith("/") : true': 'no unix:// addresses (checked)',
  '0 < self && self <= 65535': 'port numbers in 1-65535 (checked)',
  'self.all(key, size(key) < 63 && key.matches("^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$"))': 'endpoint port names (checked)',
  'has(self.address) || has(self.network)': 'address present (checked)',
  '(has(self.address) ? self.address : "").startsWith("unix://") ? !has(self.ports) : true': 'no unix:// addresses (checked)',
  'self != "*"': 'no wildcard host (checked)',
  'self.all(l1, self.exists_one(l2, l1.number == l2.number))': 'port numbers unique (checked)',
  '!self.contains("*")': 'no wildcard in selector values (checked)',
  '(has(self.workloadSelector) ? 1 : 0) + (has(self.endpoints) ? 1 : 0) <= 1': 'workloadSelector XOR endpoints (checked)',
  '!((has(self.addresses) ? self.addresses : []).exists(k, k.contains("/")) && !((has(self.resolution) ? self.resolution : "NONE") in ["STATIC", "NONE"]))':
    'CIDR addresses only with NONE/STATIC (we never set addresses: checked absent)',
  '((has(self.resolution) ? self.resolution : "NONE") == "NONE") ? !has(self.endpoints) : true': 'NONE has no endpoints (checked: resolution always set, never NONE)',
  '((has(self.resolution) ? self.resolution : "") == "DNS_ROUND_ROBIN") ? ((has(self.endpoints) ? self.endpoints : []).size() <= 1) : true':
    'DNS_ROUND_ROBIN has at most one endpoint (checked: never DNS_ROUND_ROBIN)',
};

const ENDPOINT_PORT_NAME = /^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$/;

function isPort(n: unknown): boolean {
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n <= 65535;
}

function checkLabels(labels: unknown, where: string, errors: string[]): void {
  if (labels === undefined) return;
  if (!isObj(labels)) {
    errors.push(`${where}: labels not a map`);
    return;
  }
  for (const [k, v] of Object.entries(labels)) {
    if (!isLabelKey(k)) errors.push(`${where}: label key ${JSON.stringify(k)} is not Kubernetes label syntax`);
    if (typeof v !== 'string' || !isLabelValue(v)) errors.push(`${where}: label value ${JSON.stringify(v)} of ${k} is not Kubernetes label syntax`);
  }
}

/** Checks of one endpoint (inline or WorkloadEntry spec): CEL rules plus istiod's checks. */
function checkEndpoint(e: Json, portNames: ReadonlySet<string> | undefined, resolution: unknown, where: string, errors: string[]): void {
  const address = e['address'];
  if (typeof address !== 'string' && typeof e['network'] !== 'string') errors.push(`${where}: Address is required`);
  if (typeof address === 'string') {
    if (address.startsWith('unix://')) errors.push(`${where}: unix:// address`);
    // istiod (validation of ServiceEntry): STATIC resolution needs IP endpoint addresses.
    if (resolution === 'STATIC' && isIP(address) === 0) errors.push(`${where}: STATIC resolution with non-IP address ${address}`);
    if (isIP(address) === 0 && !isValidHost(address)) errors.push(`${where}: address ${address} is neither IP nor DNS name`);
  }
  const ports = e['ports'];
  if (ports !== undefined) {
    if (!isObj(ports)) errors.push(`${where}: ports not a map`);
    else {
      for (const [k, v] of Object.entries(ports)) {
        if (!(k.length < 63 && ENDPOINT_PORT_NAME.test(k))) errors.push(`${where}: port name must be valid: ${k}`);
        if (!isPort(v)) errors.push(`${where}: port ${k} must be between 1-65535`);
        // istiod: endpoint ports must name ports of the ServiceEntry.
        if (portNames !== undefined && !portNames.has(k)) errors.push(`${where}: endpoint port ${k} is not a service port`);
      }
    }
  }
  checkLabels(e['labels'], `${where}.labels`, errors);
}

/** CEL rules and istiod checks of a ServiceEntry spec; returns the error messages. */
export function celChecks(m: IstioManifest, all: readonly IstioManifest[]): string[] {
  const errors: string[] = [];
  const where = `${m.kind}/${m.metadata.namespace}/${m.metadata.name}`;
  if (!isDnsSubdomain(m.metadata.name)) errors.push(`${where}: metadata.name is not DNS-1123`);
  checkLabels(m.metadata.labels, `${where}: metadata.labels`, errors);
  const spec = m.spec;
  if (m.kind === 'WorkloadEntry') {
    const se = all.find((x) => x.kind === 'ServiceEntry' && x.metadata.namespace === m.metadata.namespace && selects(x, m));
    if (se === undefined) errors.push(`${where}: no ServiceEntry in the same namespace selects it`);
    const portNames = se !== undefined ? new Set((se.spec['ports'] as Json[]).map((p) => String(p['name']))) : undefined;
    checkEndpoint(spec, portNames, se?.spec['resolution'], where, errors);
    return errors;
  }
  const hosts = spec['hosts'] as unknown[];
  for (const h of hosts) {
    if (h === '*') errors.push(`${where}: hostname cannot be wildcard`);
    if (typeof h !== 'string' || !isValidHost(h)) errors.push(`${where}: host ${String(h)} is not a DNS name`);
  }
  if (new Set(hosts).size !== hosts.length) errors.push(`${where}: duplicate hosts`);
  const ports = (spec['ports'] as Json[] | undefined) ?? [];
  const numbers = ports.map((p) => p['number']);
  const names = ports.map((p) => p['name']);
  if (new Set(numbers).size !== numbers.length) errors.push(`${where}: port number cannot be duplicated`);
  if (new Set(names).size !== names.length) errors.push(`${where}: port names are list-map keys: must be unique`);
  for (const p of ports) {
    if (!isPort(p['number'])) errors.push(`${where}: port must be between 1-65535`);
    if (p['targetPort'] !== undefined && !isPort(p['targetPort'])) errors.push(`${where}: targetPort must be between 1-65535`);
    // Service port names are used as endpoint port keys: they must satisfy that rule too.
    const n = String(p['name']);
    if (!(n.length < 63 && ENDPOINT_PORT_NAME.test(n))) errors.push(`${where}: port name ${n} cannot be an endpoint port key`);
  }
  const hasSelector = spec['workloadSelector'] !== undefined;
  const hasEndpoints = spec['endpoints'] !== undefined;
  if (hasSelector && hasEndpoints) errors.push(`${where}: only one of WorkloadSelector or Endpoints can be set`);
  const resolution = spec['resolution'] ?? 'NONE';
  if (resolution === 'NONE' && hasEndpoints) errors.push(`${where}: NONE mode cannot set endpoints`);
  if (resolution === 'DNS_ROUND_ROBIN' && ((spec['endpoints'] as unknown[] | undefined) ?? []).length > 1) errors.push(`${where}: DNS_ROUND_ROBIN with several endpoints`);
  const addresses = (spec['addresses'] as unknown[] | undefined) ?? [];
  // CEL: CIDR addresses only for NONE/STATIC; istiod's validation: each an IP or CIDR, no repeats.
  if (addresses.some((a) => String(a).includes('/')) && !['NONE', 'STATIC'].includes(resolution as string)) errors.push(`${where}: CIDR addresses need NONE/STATIC`);
  for (const a of addresses) if (typeof a !== 'string' || isIP(a.split('/')[0] ?? '') === 0) errors.push(`${where}: address ${String(a)} is not an IP or CIDR`);
  if (new Set(addresses).size !== addresses.length) errors.push(`${where}: repeated addresses`);
  if (hasSelector) {
    const sel = (spec['workloadSelector'] as Json)['labels'];
    checkLabels(sel, `${where}: workloadSelector`, errors);
    for (const v of Object.values(isObj(sel) ? sel : {})) if (String(v).includes('*')) errors.push(`${where}: wildcard is not supported in selector`);
  }
  const portNames = new Set(names.map(String));
  ((spec['endpoints'] as Json[] | undefined) ?? []).forEach((e, i) => checkEndpoint(e, portNames, resolution, `${where}: endpoints[${i}]`, errors));
  return errors;
}

function selects(se: IstioManifest, we: IstioManifest): boolean {
  const sel = (se.spec['workloadSelector'] as Json | undefined)?.['labels'];
  const labels = we.spec['labels'];
  if (!isObj(sel) || !isObj(labels)) return false;
  return Object.entries(sel).every(([k, v]) => labels[k] === v);
}

/** Why the CRD tests cannot run (undefined: they can); throws in CI when the CRD file is missing. */
export function crdSkip(): string | false {
  const missing = !existsSync(crdPath);
  if (missing && process.env['CI'] === 'true') throw new Error(`Istio CRD file missing at ${crdPath} (required in CI)`);
  return missing ? `Istio CRD file not found at ${crdPath}; skipped (set CI=true to make this fatal)` : false;
}

/** Every CRD's openAPIV3Schema compiled by one ajv (the CRDs' own keywords accepted): kind -> validator. */
export function schemaValidators(): { readonly ajv: Ajv; readonly validators: ReadonlyMap<string, ValidateFunction> } {
  const schemas = loadSchemas();
  const keywords = new Set<string>();
  for (const s of schemas.values()) walk(s, new Set(), keywords);
  const ajv = new Ajv({ strict: false, allErrors: true });
  for (const k of keywords) ajv.addKeyword(k);
  const validators = new Map<string, ValidateFunction>();
  for (const [kind, schema] of schemas) validators.set(kind, ajv.compile(schema));
  return { ajv, validators };
}

/** Validates manifests (one object set) against the CRDs; returns the problems found. */
export function crdValidator(): (manifests: readonly IstioManifest[]) => string[] {
  const { ajv, validators } = schemaValidators();
  return (manifests) => {
    const out: string[] = [];
    for (const m of manifests) {
      const v = validators.get(m.kind);
      const data: unknown = m;
      if (v === undefined) out.push(`${m.kind}: no CRD`);
      else if (!v(data)) out.push(`${m.kind} ${m.metadata.name}: ${ajv.errorsText(v.errors)}`);
      for (const e of celChecks(m, manifests)) out.push(`${m.kind} ${m.metadata.name}: ${e}`);
    }
    return out;
  };
}
