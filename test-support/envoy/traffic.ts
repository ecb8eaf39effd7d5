/**
 * Real traffic for the Envoy tests: loopback backends that say who they are, requests sent
 * through Envoy's outbound listeners, a steady load that records every outcome, and what Envoy's
 * admin API says of its clusters and config updates.
 */
import http from 'node:http';
import net from 'node:net';
import type { EnvoyProxy } from './proxy.js';

export interface Backend {
  readonly name: string;
  readonly ip: string;
  readonly port: number;
  /** Requests (HTTP) or connections (TCP) served. */
  served(): number;
  close(): Promise<void>;
}

function listen(server: net.Server, ip: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ip, () => resolve((server.address() as net.AddressInfo).port));
  });
}

function closer(server: net.Server): () => Promise<void> {
  return () => new Promise<void>((resolve) => {
    if ('closeAllConnections' in server) (server as http.Server).closeAllConnections();
    server.close(() => resolve());
  });
}

/** An HTTP server on ip:port (0: any) answering every request with `<name> <Host>`. */
export async function startHttpBackend(name: string, ip: string, port = 0): Promise<Backend> {
  let served = 0;
  const server = http.createServer((req, res) => {
    served++;
    res.setHeader('content-type', 'text/plain');
    res.end(`${name} ${req.headers.host ?? ''}`);
  });
  const bound = await listen(server, ip, port);
  return { name, ip, port: bound, served: () => served, close: closer(server) };
}

/** A TCP server on ip:port (0: any) that greets each connection with `<name>\n`, then echoes what it reads. */
export async function startTcpBackend(name: string, ip: string, port = 0): Promise<Backend> {
  let served = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    served++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.write(`${name}\n`);
    s.pipe(s);
  });
  const bound = await listen(server, ip, port);
  return {
    name, ip, port: bound, served: () => served,
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

export interface Reply {
  readonly status: number;
  readonly body: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

/** GET http://127.0.0.1:<port><path> with Host `host` (fetch cannot set Host: node:http can). */
export function httpVia(port: number, host: string, path = '/', timeoutMs = 3000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { host }, agent, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Opens a TCP connection to 127.0.0.1:<port>, sends `text`, resolves with the greeting and the echo. */
export function tcpVia(port: number, text: string, timeoutMs = 3000): Promise<{ greeting: string; echo: string }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let data = '';
    const t = setTimeout(() => { s.destroy(); reject(new Error(`no greeting and echo in ${timeoutMs} ms (got ${JSON.stringify(data)})`)); }, timeoutMs);
    s.setEncoding('utf8');
    s.on('connect', () => s.write(text));
    s.on('data', (d: string) => {
      data += d;
      const nl = data.indexOf('\n');
      if (nl >= 0 && data.length - nl - 1 >= text.length) {
        clearTimeout(t);
        s.end();
        resolve({ greeting: data.slice(0, nl), echo: data.slice(nl + 1) });
      }
    });
    s.on('error', (e) => { clearTimeout(t); reject(e); });
  });
}

export interface Outcome {
  /** ms since the load started. */
  readonly at: number;
  /** The backend that answered (first word of the body), or undefined on a failure. */
  readonly backend?: string;
  /** HTTP status, or the error, for a failure. */
  readonly failure?: string;
}

export interface Load {
  /** Outcomes so far. */
  readonly outcomes: readonly Outcome[];
  /** Stops sending, waits for the request in flight, resolves with every outcome. */
  stop(): Promise<readonly Outcome[]>;
}

/** One request after another (no overlap), `intervalMs` apart, to `host` through Envoy's `port`. */
export function startLoad(port: number, host: string, intervalMs = 20): Load {
  const outcomes: Outcome[] = [];
  const t0 = Date.now();
  let running = true;
  const loop = (async () => {
    while (running) {
      const at = Date.now() - t0;
      try {
        const r = await httpVia(port, host);
        if (r.status === 200) outcomes.push({ at, backend: r.body.split(' ')[0] ?? '' });
        else outcomes.push({ at, failure: `HTTP ${r.status} ${r.body.slice(0, 80)}` });
      } catch (e) {
        outcomes.push({ at, failure: (e as Error).message });
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    outcomes,
    stop: async () => {
      running = false;
      await loop;
      return outcomes;
    },
  };
}

/** Failures among `outcomes`, grouped: `<count> x <failure>`. */
export function failureSummary(outcomes: readonly Outcome[]): string[] {
  const by = new Map<string, number>();
  for (const o of outcomes) if (o.failure !== undefined) by.set(o.failure, (by.get(o.failure) ?? 0) + 1);
  return [...by].map(([f, n]) => `${n} x ${f}`);
}

/** Requests answered per backend. */
export function backendCounts(outcomes: readonly Outcome[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const o of outcomes) if (o.backend !== undefined) c[o.backend] = (c[o.backend] ?? 0) + 1;
  return c;
}

interface ClusterStatus {
  readonly name: string;
  readonly host_statuses?: ReadonlyArray<{ readonly address?: { readonly socket_address?: { readonly address: string; readonly port_value: number } } }>;
}

/** Envoy's clusters (/clusters?format=json): name -> the ip:port of every host it holds. */
export async function envoyHosts(proxy: EnvoyProxy): Promise<Map<string, string[]>> {
  const j = JSON.parse(await proxy.admin('/clusters?format=json')) as { cluster_statuses?: ClusterStatus[] };
  const m = new Map<string, string[]>();
  for (const c of j.cluster_statuses ?? []) {
    m.set(c.name, (c.host_statuses ?? []).map((h) => `${h.address?.socket_address?.address ?? '?'}:${h.address?.socket_address?.port_value ?? 0}`).sort());
  }
  return m;
}

/** Every config update Envoy rejected so far (stats ending in update_rejected, non-zero). */
export function rejections(stats: ReadonlyMap<string, number>): string[] {
  return [...stats].filter(([k, v]) => k.endsWith('update_rejected') && v > 0).map(([k, v]) => `${k}: ${v}`);
}

/** The dynamic listeners Envoy holds, by state (active, warming, error). */
export function listenerStates(dump: { configs: ReadonlyArray<Record<string, unknown>> }): { active: string[]; warming: string[]; errors: string[] } {
  const out = { active: [] as string[], warming: [] as string[], errors: [] as string[] };
  for (const c of dump.configs) {
    if (c['@type'] !== 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump') continue;
    for (const l of (c['dynamic_listeners'] ?? []) as Array<{ name: string; active_state?: unknown; warming_state?: unknown; error_state?: { details?: string } }>) {
      if (l.active_state !== undefined) out.active.push(l.name);
      if (l.warming_state !== undefined) out.warming.push(l.name);
      if (l.error_state !== undefined) out.errors.push(`${l.name}: ${l.error_state.details ?? '?'}`);
    }
  }
  return out;
}
