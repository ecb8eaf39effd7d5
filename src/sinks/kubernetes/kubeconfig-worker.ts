/**
 * Worker-thread entry of resolveKubeConfig (kubeconfig.ts): loads the kubeconfig with
 * @kubernetes/client-node and posts back the API server URL and the request options it applies
 * (TLS material, rejectUnauthorized, servername, headers). Runs in its own isolate so the
 * client's ~70 MB of generated API code is never loaded into Meshbridge's.
 *
 * Contract: posts exactly one message, a KubeConfigReply; never throws past the message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { KubeConfig } from '@kubernetes/client-node';
import { PLAIN_OPTION_KEYS, applyKubeConfig, type KubeConfigReply, type KubeConfigRequest } from './kubeconfig.js';

async function resolve(req: KubeConfigRequest): Promise<KubeConfigReply> {
  const { server, options } = await applyKubeConfig(new KubeConfig(), req);
  const plain: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined) continue;
    // An option that is not plain data (a proxy agent) cannot cross threads: resolve in process.
    if (!PLAIN_OPTION_KEYS.has(k)) return { ok: false, inProcess: true, error: `kubeconfig needs request option ${k}` };
    plain[k] = v;
  }
  return { ok: true, server, options: plain };
}

const port = parentPort;
if (port !== null) {
  resolve(workerData as KubeConfigRequest).then(
    (reply) => port.postMessage(reply),
    (e: unknown) => port.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e) } satisfies KubeConfigReply),
  );
}
