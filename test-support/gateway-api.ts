/**
 * Gateway API's CRDs (standard channel) for the istiod tests: fetched by
 * test-support/peers/peers.d/gateway-api-crds.sh into
 * ${MESHBRIDGE_PEERS_CACHE:-~/.cache/meshbridge-peers}/gateway-api-crds-<version>/standard.yaml,
 * the version being the GATEWAY_API_VERSION default in that script (the one place it is pinned:
 * the version the pinned Istio release requires).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { PEERS_DIR } from './paths.js';
import { loadPeers, type KubeApi } from './peers.js';

export const GATEWAY_API_SCRIPT = join(PEERS_DIR, 'peers.d', 'gateway-api-crds.sh');

/** The Gateway API version pinned in peers.d/gateway-api-crds.sh. */
export function gatewayApiVersion(): string {
  const m = /^GATEWAY_API_VERSION=\$\{GATEWAY_API_VERSION:-(v[0-9][^}\s]*)\}/m.exec(readFileSync(GATEWAY_API_SCRIPT, 'utf8'));
  if (m?.[1] === undefined) throw new Error(`no GATEWAY_API_VERSION default in ${GATEWAY_API_SCRIPT}`);
  return m[1];
}

export function gatewayApiCrdsPath(): string {
  const cache = process.env['MESHBRIDGE_PEERS_CACHE'] || join(homedir(), '.cache', 'meshbridge-peers');
  return join(cache, `gateway-api-crds-${gatewayApiVersion()}`, 'standard.yaml');
}

/** undefined when the CRDs are fetched; else the reason to skip. With CI=true a missing file throws. */
export function requireGatewayApi(): string | undefined {
  const file = gatewayApiCrdsPath();
  if (existsSync(file)) return undefined;
  const msg = `Gateway API CRDs are missing: ${file}; run bash ${GATEWAY_API_SCRIPT}`;
  if (process.env['CI'] === 'true') throw new Error(msg);
  return msg;
}

/** Applies the Gateway API CRDs to `api` and waits until they are established. */
export async function applyGatewayApiCrds(api: KubeApi): Promise<void> {
  const peers = await loadPeers();
  await peers.applyIstioCrds(api, { file: gatewayApiCrdsPath() });
}
