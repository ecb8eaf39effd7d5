// The real Eureka server for test/eureka: a Spring Cloud Netflix Eureka server (source in
// test-support/peers/eureka-server/, built by test-support/peers/peers.d/eureka-server.sh into the peers
// cache), started on a free 127.0.0.1 port, plus the REST calls a Eureka client makes
// (register, heartbeat, status override, deregister) and a counting HTTP proxy.
//
// Contracts:
// - startEureka() resolves once GET /eureka/apps answers 200 (about 5-15 s), or rejects with the
//   log tail. The server binds 127.0.0.1 only. stop() kills its process group (SIGTERM, then
//   SIGKILL after 5 s) and removes its temp folder unless MESHBRIDGE_PEERS_KEEP is set.
// - The jar path is keyed by the Spring versions and a hash of the source, computed exactly as
//   the build script does, so a stale jar is never started.
// - eurekaSkipReason(): false when the jar is built, else a reason; throws when CI=true.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts, killGroup, logTail, peersCacheDir, running } from './peers.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SRC = path.join(HERE, 'eureka-server');

function listFiles(dir, rel, out) {
  for (const n of fs.readdirSync(dir)) {
    const p = path.join(dir, n);
    const r = `${rel}/${n}`;
    if (fs.statSync(p).isDirectory()) {
      if (r !== './target') listFiles(p, r, out);
    } else out.push(r);
  }
  return out;
}

/** The cache label of the current source: boot<v>-cloud<v>-<hash>, as peers.d/eureka-server.sh computes it. */
export function eurekaLabel() {
  const pom = fs.readFileSync(path.join(SRC, 'pom.xml'), 'utf8');
  const parent = /<parent>[\s\S]*?<version>([^<]+)<\/version>[\s\S]*?<\/parent>/.exec(pom);
  const cloud = /<spring-cloud.version>([^<]+)<\/spring-cloud.version>/.exec(pom);
  if (!parent || !cloud) throw new Error(`cannot read the versions from ${SRC}/pom.xml`);
  const files = listFiles(SRC, '.', []).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  let sums = '';
  for (const f of files) {
    const h = crypto.createHash('sha256').update(fs.readFileSync(path.join(SRC, f))).digest('hex');
    sums += `${h}  ${f}\n`;
  }
  const hash = crypto.createHash('sha256').update(sums).digest('hex').slice(0, 10);
  return `boot${parent[1]}-cloud${cloud[1]}-${hash}`;
}

export function eurekaJarPath() {
  return path.join(peersCacheDir(), `eureka-server-${eurekaLabel()}`, 'eureka-server.jar');
}

export function eurekaAvailable() {
  try {
    return fs.statSync(eurekaJarPath()).size > 0;
  } catch {
    return false;
  }
}

/** False when the server can be started, else why not. With CI=true a missing jar throws. */
export function eurekaSkipReason() {
  if (eurekaAvailable()) return false;
  const msg = `Eureka server not built (${eurekaJarPath()}); run bash test-support/peers/peers.d/eureka-server.sh`;
  if (process.env.CI === 'true') throw new Error(msg);
  return msg;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the Eureka server.
 * @param {{port?: number, timeoutMs?: number, waitTimeInMsWhenSyncEmpty?: number, extraArgs?: string[]}} [opts]
 *   port: reuse a port (a restart); waitTimeInMsWhenSyncEmpty: how long a freshly started, empty
 *   server refuses registry reads with 403 (Eureka's default is 5 min; 0 here unless given).
 */
export async function startEureka(opts = {}) {
  const jar = eurekaJarPath();
  if (!eurekaAvailable()) throw new Error(`Eureka server not built: ${jar}`);
  const port = opts.port ?? (await freePorts(1))[0];
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mb-eureka-'));
  const logFile = path.join(dir, 'eureka.log');
  const args = [
    '-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xss512k',
    `-Djava.io.tmpdir=${dir}`,
    '-jar', jar,
    `--server.port=${port}`,
    '--server.address=127.0.0.1',
    `--eureka.server.wait-time-in-ms-when-sync-empty=${opts.waitTimeInMsWhenSyncEmpty ?? 0}`,
    ...(opts.extraArgs ?? []),
  ];
  fs.appendFileSync(logFile, `# ${new Date().toISOString()} java ${args.join(' ')}\n`);
  const fd = fs.openSync(logFile, 'a');
  const child = spawn('java', args, { cwd: dir, stdio: ['ignore', fd, fd], detached: true });
  fs.closeSync(fd);
  running.add(child);
  let exit = null;
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => { running.delete(child); exit = { code, signal }; resolve(exit); });
    child.once('error', (err) => { running.delete(child); exit = { code: -1, signal: null }; fs.appendFileSync(logFile, `# ${err.message}\n`); resolve(exit); });
  });
  child.unref();
  let stopping;
  const stop = () => {
    stopping ??= (async () => {
      child.ref(); // its exit must keep the loop alive while awaited (see peers.mjs makeStop)
      killGroup(child, 'SIGTERM');
      const t = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
      if (!process.env.MESHBRIDGE_PEERS_KEEP) await fsp.rm(dir, { recursive: true, force: true, maxRetries: 3 });
    })();
    return stopping;
  };
  const url = `http://127.0.0.1:${port}/eureka`;
  const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
  let last = '';
  for (;;) {
    if (exit) break;
    try {
      const r = await eurekaRequest(url, 'GET', '/apps');
      // 403: up but refusing reads while waiting for peers (waitTimeInMsWhenSyncEmpty): also up.
      if (r.status === 200 || r.status === 403) {
        return { url, port, pid: child.pid, dir, logFile, logTail: (n) => logTail(logFile, n), stop };
      }
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() > deadline) break;
    await sleep(250);
  }
  const why = exit ? `exited (${JSON.stringify(exit)}) before it was ready` : `not ready (last probe: ${last})`;
  const tail = logTail(logFile);
  await stop();
  throw new Error(`Eureka server ${why}; log:\n${tail}`);
}

/**
 * One JSON request to the server (what a Eureka client sends).
 * @returns {Promise<{status: number, text: string, json: any}>}
 */
export function eurekaRequest(baseUrl, method, p, body, headers = {}) {
  const u = new URL(baseUrl.replace(/\/$/, '') + p);
  const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(u, {
      method,
      headers: {
        Accept: 'application/json',
        ...(data ? { 'Content-Type': 'application/json', 'Content-Length': String(data.length) } : {}),
        ...headers,
      },
      timeout: 10_000,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, text, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${u.href}`)));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

/**
 * An instance as a Eureka client registers it (InstanceInfo JSON).
 * @param {{app: string, id: string, ip?: string|null, port?: number, portEnabled?: boolean, securePort?: number, securePortEnabled?: boolean, status?: string, metadata?: Record<string,string>, vipAddress?: string, dataCenterInfo?: object, hostName?: string}} o
 */
export function instanceJson(o) {
  const inst = {
    instanceId: o.id,
    hostName: o.hostName ?? 'localhost',
    app: o.app.toUpperCase(),
    status: o.status ?? 'UP',
    overriddenstatus: 'UNKNOWN',
    port: { $: o.port ?? 8080, '@enabled': String(o.portEnabled ?? true) },
    securePort: { $: o.securePort ?? 443, '@enabled': String(o.securePortEnabled ?? false) },
    countryId: 1,
    dataCenterInfo: o.dataCenterInfo ?? { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
    leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 90 },
    metadata: o.metadata ?? {},
    vipAddress: o.vipAddress ?? o.app.toLowerCase(),
    secureVipAddress: o.vipAddress ?? o.app.toLowerCase(),
    homePageUrl: `http://${o.ip ?? 'localhost'}:${o.port ?? 8080}/`,
  };
  if (o.ip !== null) inst.ipAddr = o.ip ?? '127.0.0.1';
  return { instance: inst };
}

/** POST /apps/<APP>: 204 on success. */
export async function register(baseUrl, o) {
  const r = await eurekaRequest(baseUrl, 'POST', `/apps/${o.app.toUpperCase()}`, instanceJson(o));
  if (r.status !== 204) throw new Error(`register ${o.app}/${o.id}: HTTP ${r.status} ${r.text}`);
}

/** PUT /apps/<APP>/<id>: a heartbeat (lease renewal). */
export async function heartbeat(baseUrl, app, id) {
  return (await eurekaRequest(baseUrl, 'PUT', `/apps/${app.toUpperCase()}/${encodeURIComponent(id)}`)).status;
}

/** PUT /apps/<APP>/<id>/status?value=<STATUS>: an operator's status override. */
export async function setStatus(baseUrl, app, id, status) {
  const r = await eurekaRequest(baseUrl, 'PUT', `/apps/${app.toUpperCase()}/${encodeURIComponent(id)}/status?value=${status}`);
  if (r.status !== 200) throw new Error(`status ${app}/${id}=${status}: HTTP ${r.status} ${r.text}`);
}

/** DELETE /apps/<APP>/<id>/status?value=UP: removes the override. */
export async function clearStatus(baseUrl, app, id) {
  const r = await eurekaRequest(baseUrl, 'DELETE', `/apps/${app.toUpperCase()}/${encodeURIComponent(id)}/status?value=UP`);
  if (r.status !== 200) throw new Error(`clear status ${app}/${id}: HTTP ${r.status} ${r.text}`);
}

/** PUT /apps/<APP>/<id>/metadata?k=v: updates instance metadata. */
export async function setMetadata(baseUrl, app, id, metadata) {
  const q = new URLSearchParams(metadata).toString();
  const r = await eurekaRequest(baseUrl, 'PUT', `/apps/${app.toUpperCase()}/${encodeURIComponent(id)}/metadata?${q}`);
  if (r.status !== 200) throw new Error(`metadata ${app}/${id}: HTTP ${r.status} ${r.text}`);
}

/** DELETE /apps/<APP>/<id>: deregistration. */
export async function deregister(baseUrl, app, id) {
  const r = await eurekaRequest(baseUrl, 'DELETE', `/apps/${app.toUpperCase()}/${encodeURIComponent(id)}`);
  if (r.status !== 200) throw new Error(`deregister ${app}/${id}: HTTP ${r.status} ${r.text}`);
}

/**
 * A plain HTTP forwarding proxy on 127.0.0.1 that records every request (method, path, auth and
 * accept headers), can fail every request (`state.down = true` answers 503 at once) and can
 * rewrite 200 answers (`state.rewrite = (path, body) => body`), to count and shape what a
 * client sees.
 * @param {string} target e.g. http://127.0.0.1:PORT
 */
export async function startCountingProxy(target) {
  const t = new URL(target);
  const state = { requests: [], down: false, target: t, rewrite: undefined };
  const server = http.createServer((req, res) => {
    state.requests.push({ method: req.method, path: req.url, at: Date.now(), auth: req.headers.authorization, accept: req.headers.accept });
    if (state.down) {
      res.writeHead(503).end();
      return;
    }
    const headers = { ...req.headers, host: state.target.host };
    if (state.rewrite) delete headers['accept-encoding'];
    const up = http.request({ host: state.target.hostname, port: state.target.port, method: req.method, path: req.url, headers }, (ur) => {
      if (!state.rewrite || ur.statusCode !== 200) {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
        return;
      }
      const chunks = [];
      ur.on('data', (c) => chunks.push(c));
      ur.on('end', () => {
        const body = Buffer.from(state.rewrite(req.url, Buffer.concat(chunks).toString('utf8')));
        const h = { ...ur.headers, 'content-length': String(body.length) };
        delete h['transfer-encoding'];
        delete h['content-encoding'];
        res.writeHead(200, h).end(body);
      });
    });
    up.on('error', () => { if (!res.headersSent) res.writeHead(502); res.end(); });
    req.pipe(up);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    setTarget(u) { state.target = new URL(u); },
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve(undefined)); }),
  };
}
