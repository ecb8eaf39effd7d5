/**
 * The real `helm` CLI for the chart tests (test/deploy): built by test-support/peers/peers.d/helm.sh into
 * ${MESHBRIDGE_PEERS_CACHE:-~/.cache/meshbridge-peers}/helm-<version>/helm, the version being the
 * HELM_VERSION default in that script (the one place it is pinned). Plus rendering the chart into
 * objects, and server-side apply of those objects to the test kube-apiserver over plain HTTPS.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { kube } from './kube.js';
import { PEERS_DIR, REPO } from './paths.js';
import type { KubeApi } from './peers.js';

export const CHART_DIR = join(REPO, 'deploy', 'helm', 'meshbridge');
export const HELM_SCRIPT = join(PEERS_DIR, 'peers.d', 'helm.sh');

/** The helm version pinned in test-support/peers/peers.d/helm.sh (`HELM_VERSION=${HELM_VERSION:-vX}`). */
export function helmVersion(): string {
  const m = /^HELM_VERSION=\$\{HELM_VERSION:-(v[0-9][^}\s]*)\}/m.exec(readFileSync(HELM_SCRIPT, 'utf8'));
  if (m?.[1] === undefined) throw new Error(`no HELM_VERSION default in ${HELM_SCRIPT}`);
  return m[1];
}

export function helmPath(): string {
  const cache = process.env['MESHBRIDGE_PEERS_CACHE'] || join(homedir(), '.cache', 'meshbridge-peers');
  return join(cache, `helm-${helmVersion()}`, 'helm');
}

/**
 * undefined when helm is built; else the reason to skip. In CI (CI=true) a missing helm is a
 * failure: this throws instead (as requirePeers does).
 */
export function requireHelm(): string | undefined {
  const bin = helmPath();
  if (existsSync(bin)) return undefined;
  const msg = `helm is not built: ${bin} is missing; run bash test-support/peers/peers.d/helm.sh`;
  if (process.env['CI'] === 'true') throw new Error(msg);
  return msg;
}

export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let helmHome: Promise<string> | undefined;

/** Runs helm with its config, cache and data folders in a temp folder (nothing read from ~). */
export async function helm(args: readonly string[], options: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<HelmResult> {
  helmHome ??= mkdtemp(join(tmpdir(), 'meshbridge-helm-home-'));
  const home = await helmHome;
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: home,
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_DATA_HOME: join(home, 'data'),
    KUBECONFIG: join(home, 'no-kubeconfig'),
    ...(options.env ?? {}),
  };
  return new Promise((resolve, reject) => {
    execFile(helmPath(), [...args], { env, timeout: options.timeoutMs ?? 60000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') {
        reject(new Error(`helm ${args.join(' ')}: ${err.message}\n${stderr}`));
        return;
      }
      resolve({ code: err === null ? 0 : (err.code as number), stdout, stderr });
    });
  });
}

/** Removes the temp helm home (call from after()). */
export async function cleanupHelm(): Promise<void> {
  if (helmHome === undefined) return;
  const home = await helmHome;
  helmHome = undefined;
  await rm(home, { recursive: true, force: true });
}

/** A values file (JSON, which is YAML) in a temp folder; resolves with its path. */
export async function writeValues(values: unknown): Promise<string> {
  helmHome ??= mkdtemp(join(tmpdir(), 'meshbridge-helm-home-'));
  const file = join(await helmHome, `values-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify(values, null, 2));
  return file;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A rendered Kubernetes object; kind-specific fields are read through the typed views below. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** Splits multi-document YAML into objects (empty documents dropped). */
export function parseManifests(text: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors.map((e) => e.message).join('; ')}`);
    const v: unknown = doc.toJS();
    if (v === null || v === undefined) continue;
    const o = v as Partial<K8sObject>;
    if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string') {
      throw new Error(`rendered document is not a Kubernetes object: ${JSON.stringify(v).slice(0, 300)}`);
    }
    out.push(o as K8sObject);
  }
  return out;
}

export interface RenderOptions {
  readonly release?: string;
  readonly namespace?: string;
  readonly extraArgs?: readonly string[];
}

/** `helm template` of the chart with `values` (an object); rejects with helm's stderr on failure. */
export async function renderChart(values: unknown = {}, options: RenderOptions = {}): Promise<K8sObject[]> {
  const r = await renderChartRaw(values, options);
  if (r.code !== 0) throw new Error(`helm template failed (${r.code}): ${r.stderr}`);
  return parseManifests(r.stdout);
}

export async function renderChartRaw(values: unknown = {}, options: RenderOptions = {}): Promise<HelmResult> {
  const file = await writeValues(values);
  return helm(['template', options.release ?? 'mb', CHART_DIR, '--namespace', options.namespace ?? 'meshbridge', '--values', file, ...(options.extraArgs ?? [])]);
}

export function findObject(objects: readonly K8sObject[], kind: string, name?: string, namespace?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name) && (namespace === undefined || o.metadata.namespace === namespace));
  if (found.length !== 1) {
    throw new Error(`expected one ${kind}${name !== undefined ? ` ${name}` : ''}${namespace !== undefined ? ` in ${namespace}` : ''}, found ${found.length}: ${objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).join(', ')}`);
  }
  return found[0]!;
}

// --- typed views of the kinds the tests read --------------------------------------------------

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } };
}

export interface Probe {
  httpGet?: { path: string; port: string | number };
  initialDelaySeconds?: number;
  periodSeconds?: number;
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: { name: string; containerPort: number; protocol?: string }[];
  env?: EnvVar[];
  envFrom?: unknown[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsNonRoot?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
    seccompProfile?: { type: string };
  };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

export interface Deployment extends K8sObject {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: ObjectMeta;
      spec: {
        serviceAccountName: string;
        automountServiceAccountToken?: boolean;
        securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
        containers: Container[];
        volumes?: { name: string; configMap?: { name: string } }[];
      };
    };
  };
}

export interface Service extends K8sObject {
  spec: { selector: Record<string, string>; ports: { name: string; port: number; targetPort: string | number; appProtocol?: string; protocol?: string }[] };
}

export const rulesOf = (o: K8sObject): PolicyRule[] => (o as K8sObject & { rules: PolicyRule[] }).rules;
export const asDeployment = (o: K8sObject): Deployment => o as Deployment;
export const asService = (o: K8sObject): Service => o as Service;
export const dataOf = (o: K8sObject): Record<string, string> => (o as K8sObject & { data: Record<string, string> }).data;

// --- server-side apply over HTTPS -------------------------------------------------------------

/** REST collection of each kind the chart renders: [group-version path, plural, namespaced]. */
const KINDS: Record<string, readonly [string, string, boolean]> = {
  'v1/Namespace': ['/api/v1', 'namespaces', false],
  'v1/ServiceAccount': ['/api/v1', 'serviceaccounts', true],
  'v1/ConfigMap': ['/api/v1', 'configmaps', true],
  'v1/Service': ['/api/v1', 'services', true],
  'apps/v1/Deployment': ['/apis/apps/v1', 'deployments', true],
  'policy/v1/PodDisruptionBudget': ['/apis/policy/v1', 'poddisruptionbudgets', true],
  'rbac.authorization.k8s.io/v1/ClusterRole': ['/apis/rbac.authorization.k8s.io/v1', 'clusterroles', false],
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ['/apis/rbac.authorization.k8s.io/v1', 'clusterrolebindings', false],
  'rbac.authorization.k8s.io/v1/Role': ['/apis/rbac.authorization.k8s.io/v1', 'roles', true],
  'rbac.authorization.k8s.io/v1/RoleBinding': ['/apis/rbac.authorization.k8s.io/v1', 'rolebindings', true],
  'monitoring.coreos.com/v1/ServiceMonitor': ['/apis/monitoring.coreos.com/v1', 'servicemonitors', true],
};

export function objectPath(o: K8sObject): string {
  const k = KINDS[`${o.apiVersion}/${o.kind}`];
  if (k === undefined) throw new Error(`no REST path known for ${o.apiVersion} ${o.kind}`);
  const [gv, plural, namespaced] = k;
  if (namespaced && o.metadata.namespace === undefined) throw new Error(`${o.kind} ${o.metadata.name} has no namespace`);
  return namespaced ? `${gv}/namespaces/${o.metadata.namespace}/${plural}/${o.metadata.name}` : `${gv}/${plural}/${o.metadata.name}`;
}

export interface ApplyResult {
  readonly object: K8sObject;
  readonly status: number;
  readonly body: unknown;
}

/**
 * Server-side apply of one object (PATCH application/apply-patch+yaml, force, strict field
 * validation so an unknown or misspelt field is refused). `dryRun`: admission and validation run
 * in full, nothing is stored.
 */
export async function serverSideApply(api: KubeApi, o: K8sObject, options: { dryRun: boolean; fieldManager?: string; token?: string }): Promise<ApplyResult> {
  const q = new URLSearchParams({ fieldManager: options.fieldManager ?? 'meshbridge-helm-test', force: 'true', fieldValidation: 'Strict' });
  if (options.dryRun) q.set('dryRun', 'All');
  const r = await kube(api, 'PATCH', `${objectPath(o)}?${q.toString()}`, o, 'application/apply-patch+yaml', options.token ?? api.token);
  return { object: o, status: r.status, body: r.body };
}
