import type { Built } from '../shared/parsed.js';
import { isIP } from 'node:net';
import { ErrorCode, MeshbridgeError } from '../../errors/index.js';
import { Health, Protocol, type Endpoint, type Locality, type Port, type Service } from '../../model/index.js';

export const NACOS_REGISTRY_KIND = 'nacos';

/** Where a service lives in Nacos. `namespace` is the namespace id ("public" for the default). */
export interface ServiceRef {
  readonly namespace: string;
  readonly group: string;
  readonly name: string;
}

export function refKey(r: ServiceRef): string {
  return `${r.namespace}@@${r.group}@@${r.name}`;
}

export interface MapOptions {
  /** Configured registry name: Service.registry and Endpoint.origin. */
  readonly registry: string;
  /** A short text naming the server in problem paths (`nacos://127.0.0.1:8848`). */
  readonly source: string;
  /** The instance's Nacos cluster becomes the endpoint's locality subzone (DEFAULT is none). */
  readonly clusterAsSubzone: boolean;
  /** Protocol of the service port when no instance states a known `protocol` metadata value. */
  readonly defaultProtocol: Protocol;
}


/** Nacos's own name for the cluster an instance is in when none was given. */
const DEFAULT_CLUSTER = 'DEFAULT';
/** Nacos weights are doubles (1.0 default); published weight = round(weight * 100), ratios kept. */
export const WEIGHT_SCALE = 100;
const MAX_WEIGHT = 4294967295;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** Values of instance metadata `protocol` that name an Istio protocol (Dubbo's "dubbo" is TCP). */
const PROTOCOLS: Readonly<Record<string, Protocol>> = {
  http: Protocol.HTTP,
  https: Protocol.HTTPS,
  grpc: Protocol.GRPC,
  http2: Protocol.HTTP2,
  h2c: Protocol.HTTP2,
  tcp: Protocol.TCP,
  tls: Protocol.TLS,
  dubbo: Protocol.TCP,
  tri: Protocol.GRPC,
};

function isRecord(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validAddress(ip: string): boolean {
  if (isIP(ip) !== 0) return true;
  if (ip.length === 0 || ip.length > 253) return false;
  const labels = ip.split('.');
  return labels.every((l) => DNS_LABEL.test(l)) && !/^[0-9]+$/.test(labels[labels.length - 1] ?? '');
}

/**
 * Turns one ServiceInfo (a subscription answer or a NotifySubscriberRequest push: always the full
 * instance list) into the neutral model.
 *
 * Contract: pure. Disabled instances (`enabled: false`) are left out silently (an operator's
 * choice, not a problem); unhealthy ones are kept with health `unhealthy` (conversion drops them
 * unless includeUnhealthy). Any malformed instance (not a mapping, bad ip, bad port, bad weight)
 * is skipped with one coded problem naming `hosts[i].<field>`; neighbours are kept. Metadata
 * becomes endpoint labels unchanged (conversion decides what survives); non-string values are
 * dropped with MB_ENTRY_INVALID. The service has one port, `<protocol lowercased>`, numbered with
 * the most common instance port; each endpoint carries its own port number.
 */
/** Problems: instances skipped or fields ignored, one coded problem each. */
export function mapServiceInfo(ref: ServiceRef, info: unknown, o: MapOptions): Built<Service> {
  const problems: MeshbridgeError[] = [];
  const at = `${o.source}/${ref.namespace}/${ref.group}/${ref.name}`;
  const problem = (code: ErrorCode, where: string, message: string) =>
    problems.push(
      new MeshbridgeError(code, message, {
        path: `${at}: ${where}`,
        details: { registry: o.registry, namespace: ref.namespace, group: ref.group, service: ref.name },
      }),
    );
  const hosts = isRecord(info) ? info['hosts'] : undefined;
  if (hosts !== undefined && hosts !== null && !Array.isArray(hosts)) problem(ErrorCode.ENTRY_INVALID, 'hosts', 'hosts is not a list; no instances');
  const list: readonly unknown[] = Array.isArray(hosts) ? hosts : [];

  interface Raw {
    readonly ip: string;
    readonly port: number;
    readonly weight: number;
    readonly healthy: boolean;
    readonly cluster: string;
    readonly labels: Record<string, string>;
    readonly instanceId: string | undefined;
    readonly protocol: Protocol | undefined;
  }
  const raws: Raw[] = [];
  list.forEach((h, i) => {
    const here = `hosts[${i}]`;
    if (!isRecord(h)) {
      problem(ErrorCode.ENTRY_INVALID, here, 'instance is not a mapping; skipped');
      return;
    }
    if (h['enabled'] === false) return;
    const ip = h['ip'];
    if (typeof ip !== 'string' || !validAddress(ip)) {
      problem(ErrorCode.ENTRY_BAD_ADDRESS, `${here}.ip`, `${JSON.stringify(ip)} is not an IP address or DNS name; instance skipped`);
      return;
    }
    const port = h['port'];
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      problem(ErrorCode.ENTRY_BAD_PORT, `${here}.port`, `port must be an integer 1-65535, got ${JSON.stringify(port)}; instance skipped`);
      return;
    }
    const w = h['weight'] ?? 1;
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0 || w * WEIGHT_SCALE > MAX_WEIGHT) {
      problem(ErrorCode.ENTRY_INVALID, `${here}.weight`, `weight must be a number >= 0, got ${JSON.stringify(w)}; instance skipped`);
      return;
    }
    const labels: Record<string, string> = {};
    const md = h['metadata'];
    if (isRecord(md)) {
      for (const [k, v] of Object.entries(md)) {
        if (typeof v === 'string') labels[k] = v;
        else problem(ErrorCode.ENTRY_INVALID, `${here}.metadata[${JSON.stringify(k)}]`, 'metadata value is not a string; label dropped');
      }
    }
    const cluster = typeof h['clusterName'] === 'string' ? h['clusterName'] : DEFAULT_CLUSTER;
    const id = h['instanceId'];
    raws.push({
      ip,
      port,
      weight: w,
      healthy: h['healthy'] !== false,
      cluster,
      labels,
      instanceId: typeof id === 'string' && id !== '' ? id : undefined,
      protocol: PROTOCOLS[(labels['protocol'] ?? '').toLowerCase()],
    });
  });

  const counts = new Map<number, number>();
  for (const r of raws) counts.set(r.port, (counts.get(r.port) ?? 0) + 1);
  let number = 0;
  let best = 0;
  for (const [p, c] of counts) if (c > best || (c === best && p < number)) [number, best] = [p, c];
  const protocol = raws.find((r) => r.protocol !== undefined)?.protocol ?? o.defaultProtocol;
  const portName = protocol.toLowerCase();
  const ports: Port[] = raws.length > 0 ? [{ number, name: portName, protocol }] : [];

  const endpoints: Endpoint[] = raws.map((r) => {
    const locality: Locality | undefined = o.clusterAsSubzone && r.cluster !== DEFAULT_CLUSTER && r.cluster !== '' ? { subzone: r.cluster } : undefined;
    return {
      address: r.ip,
      ports: { [portName]: r.port },
      labels: r.labels,
      weight: Math.round(r.weight * WEIGHT_SCALE),
      ...(locality !== undefined ? { locality } : {}),
      health: r.healthy ? Health.HEALTHY : Health.UNHEALTHY,
      origin: o.registry,
      ...(r.instanceId !== undefined ? { instanceId: r.instanceId } : {}),
    };
  });
  return {
    value: {
      registry: o.registry,
      registryKind: NACOS_REGISTRY_KIND,
      name: ref.name,
      namespace: ref.namespace,
      attributes: { group: ref.group },
      ports,
      endpoints,
    },
    problems,
  };
}

/** lastRefTime of a ServiceInfo (0 when absent): pushes older than what is held are ignored. */
export function lastRefTime(info: unknown): number {
  const t = isRecord(info) ? info['lastRefTime'] : undefined;
  return typeof t === 'number' && Number.isFinite(t) ? t : 0;
}

/** `ns@@group@@name` (fuzzy watch service keys) -> its parts, or undefined. */
export function parseServiceKey(key: unknown): ServiceRef | undefined {
  if (typeof key !== 'string') return undefined;
  const parts = key.split('@@');
  if (parts.length !== 3 || parts.some((p) => p === '')) return undefined;
  return { namespace: parts[0] ?? '', group: parts[1] ?? '', name: parts[2] ?? '' };
}
