import { request } from 'node:https';
import { loadPeers, type Etcd, type KubeApi } from './peers.js';

/** A bare HTTPS call to the test API server with the admin token (test helper, no retries). */
export function kube<T = unknown>(api: KubeApi, method: string, path: string, body?: unknown, contentType = 'application/json', token = api.token): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      new URL(path, api.url),
      {
        method,
        rejectUnauthorized: false,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(data !== undefined ? { 'content-type': contentType, 'content-length': Buffer.byteLength(data) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            /* keep text */
          }
          resolve({ status: res.statusCode ?? 0, body: parsed as T });
        });
      },
    );
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

export async function ensureNamespace(api: KubeApi, name: string): Promise<void> {
  const r = await kube(api, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  if (r.status !== 201 && r.status !== 409) throw new Error(`create namespace ${name}: ${r.status} ${JSON.stringify(r.body)}`);
}

export interface ListedObject {
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion: string; generation?: number };
  spec: Record<string, unknown>;
}

export async function listIstio(api: KubeApi, plural: 'serviceentries' | 'workloadentries', namespace: string): Promise<ListedObject[]> {
  const r = await kube<{ items: ListedObject[] }>(api, 'GET', `/apis/networking.istio.io/v1/namespaces/${namespace}/${plural}`);
  if (r.status !== 200) throw new Error(`list ${plural}: ${r.status}`);
  return r.body.items;
}

/** Polls `fn` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15000,
  what = 'condition',
  intervalMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** An etcd and a kube-apiserver on it, as most Kubernetes tests and benches start them. */
export interface KubeCluster {
  readonly etcd: Etcd;
  readonly api: KubeApi;
  /** Stops the API server, then the etcd. */
  readonly stop: () => Promise<void>;
}

/**
 * Starts an etcd and a kube-apiserver on it (`authorization` default AlwaysAllow), applies Istio's
 * CRDs (unless `crds: false`) and creates `namespaces`, in that order. When a step fails, what
 * started is stopped before the error is thrown.
 */
export async function startKubeCluster(
  options: { readonly namespaces?: readonly string[]; readonly crds?: boolean; readonly authorization?: 'AlwaysAllow' | 'RBAC' } = {},
): Promise<KubeCluster> {
  const peers = await loadPeers();
  const etcd = await peers.startEtcd();
  let api: KubeApi | undefined;
  const stop = async (): Promise<void> => {
    await api?.stop();
    await etcd.stop();
  };
  try {
    api = await peers.startKubeApiserver({ etcd, authorization: options.authorization ?? 'AlwaysAllow' });
    if (options.crds !== false) await peers.applyIstioCrds(api);
    for (const ns of options.namespaces ?? []) await peers.ensureNamespace(api, ns);
  } catch (e) {
    await stop();
    throw e;
  }
  return { etcd, api, stop };
}
