import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';

/** How a resolved kubeconfig authenticates and trusts the API server (plain request options). */
export interface KubeConfigTarget {
  readonly server: string;
  /** TLS material and static headers: ca, cert, key, rejectUnauthorized, servername, headers. */
  readonly options: Record<string, unknown>;
  /** A bearer token read from this file, re-read as it rotates (in-cluster, `tokenFile`). */
  readonly tokenFile?: string | undefined;
}

/** The kubeconfig needs what only @kubernetes/client-node does (exec and auth-provider plugins, proxies, impersonation). */
export interface UnsupportedKubeConfig {
  readonly unsupported: string;
}

/** Keys of a kubeconfig `user` read here; any other key set means the library resolves it. */
const USER_KEYS = new Set(['token', 'tokenFile', 'client-certificate', 'client-certificate-data', 'client-key', 'client-key-data', 'username', 'password']);
const CLUSTER_KEYS = new Set(['server', 'certificate-authority', 'certificate-authority-data', 'insecure-skip-tls-verify', 'tls-server-name', 'extensions']);

interface Named<T> {
  readonly name?: unknown;
  readonly cluster?: T;
  readonly user?: T;
  readonly context?: T;
}

/**
 * Resolves a kubeconfig document (YAML or JSON) the way kubectl and @kubernetes/client-node do for
 * the common cases: the current (or the given) context's cluster and user; file paths relative to
 * the kubeconfig's folder; `*-data` fields base64. Reads the files the document names.
 *
 * Contract: returns UnsupportedKubeConfig, never a partial result, when the user or cluster uses
 * a key not handled here (exec, auth-provider, proxy-url, as, ...), so the caller can hand the
 * whole file to the client library. Throws an Error naming what is wrong with a broken document.
 */
export function resolveKubeConfigFile(file: string, context: string | undefined): KubeConfigTarget | UnsupportedKubeConfig {
  const doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown> | null;
  if (doc === null || typeof doc !== 'object') throw new Error(`kubeconfig ${file}: not a kubeconfig document`);
  const name = context ?? str(doc['current-context']);
  if (name === undefined || name === '') throw new Error(`kubeconfig ${file}: no current-context (set sinks.kubernetes.context)`);
  const ctx = pick<Record<string, unknown>>(doc['contexts'], name, 'context');
  if (ctx === undefined) throw new Error(`kubeconfig ${file}: context "${name}" not found`);
  const clusterName = str(ctx['cluster']);
  const cluster = clusterName === undefined ? undefined : pick<Record<string, unknown>>(doc['clusters'], clusterName, 'cluster');
  if (cluster === undefined) throw new Error(`kubeconfig ${file}: context "${name}" has no cluster ("${clusterName ?? ''}" not found)`);
  const userName = str(ctx['user']);
  const user = userName === undefined ? {} : (pick<Record<string, unknown>>(doc['users'], userName, 'user') ?? {});
  for (const k of Object.keys(cluster)) if (!CLUSTER_KEYS.has(k)) return { unsupported: `cluster key ${k}` };
  for (const k of Object.keys(user)) if (!USER_KEYS.has(k)) return { unsupported: `user key ${k}` };
  const server = str(cluster['server']);
  if (server === undefined || server === '') throw new Error(`kubeconfig ${file}: cluster "${clusterName ?? ''}" has no server`);
  const dir = dirname(resolve(file));
  const auth = userAuth(user, dir);
  return { server, options: { ...tlsOptions(cluster, user, dir), headers: auth.headers }, ...(auth.tokenFile !== undefined ? { tokenFile: auth.tokenFile } : {}) };
}

/** CA, client certificate and key, skip-verify and SNI name. */
function tlsOptions(cluster: Record<string, unknown>, user: Record<string, unknown>, dir: string): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  const ca = material(cluster, 'certificate-authority', dir);
  if (ca !== undefined) options['ca'] = ca;
  if (cluster['insecure-skip-tls-verify'] === true) options['rejectUnauthorized'] = false;
  const sni = str(cluster['tls-server-name']);
  if (sni !== undefined && sni !== '') options['servername'] = sni;
  const cert = material(user, 'client-certificate', dir);
  const key = material(user, 'client-key', dir);
  if (cert !== undefined) options['cert'] = cert;
  if (key !== undefined) options['key'] = key;
  return options;
}

/** A static token, else basic auth, else a token file (kubectl's precedence). */
function userAuth(user: Record<string, unknown>, dir: string): { headers: Record<string, string>; tokenFile?: string } {
  const token = str(user['token']);
  if (token !== undefined && token !== '') return { headers: { Authorization: `Bearer ${token}` } };
  const username = str(user['username']);
  if (username !== undefined) return { headers: { Authorization: `Basic ${Buffer.from(`${username}:${str(user['password']) ?? ''}`).toString('base64')}` } };
  const tokenFile = str(user['tokenFile']);
  return tokenFile !== undefined && tokenFile !== '' ? { headers: {}, tokenFile: absolute(tokenFile, dir) } : { headers: {} };
}

/** In-cluster: the pod's service account (token re-read as the kubelet rotates it) and the service env. */
export function inClusterTarget(env: NodeJS.ProcessEnv, serviceAccountDir: string): KubeConfigTarget {
  const host = env['KUBERNETES_SERVICE_HOST'] ?? '';
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '443';
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    server: `https://${h}:${port}`,
    options: { ca: readFileSync(`${serviceAccountDir}/ca.crt`), headers: {} },
    tokenFile: `${serviceAccountDir}/token`,
  };
}

function material(o: Record<string, unknown>, key: string, dir: string): Buffer | undefined {
  const data = str(o[`${key}-data`]);
  if (data !== undefined && data !== '') return Buffer.from(data, 'base64');
  const path = str(o[key]);
  return path === undefined || path === '' ? undefined : readFileSync(absolute(path, dir));
}

function absolute(path: string, dir: string): string {
  return isAbsolute(path) ? path : resolve(dir, path);
}

function pick<T>(list: unknown, name: string, field: 'cluster' | 'user' | 'context'): T | undefined {
  if (!Array.isArray(list)) return undefined;
  const hit = (list as Array<Named<T>>).find((e) => e !== null && typeof e === 'object' && e.name === name);
  return hit?.[field] ?? (hit !== undefined ? ({} as T) : undefined);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
