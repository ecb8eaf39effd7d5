// The real Consul agent for test/consul (built by test-support/peers/peers.d/consul.sh into the peers
// cache), started as a single-server cluster on free 127.0.0.1 ports, plus the agent API calls a
// service makes (register with TTL checks, pass/warn/fail, deregister) and a counting HTTP proxy.
//
// Contracts:
// - startConsul() resolves once the server has elected itself leader and the catalog answers
//   (about 2-5 s), or rejects with the log tail. Every listener binds 127.0.0.1; DNS and gRPC are
//   off. It is a real server (`-server -bootstrap-expect=1`) with its data in a temp folder, not
//   `-dev`: kill() + restart() keep the data and ports, so a restart is an outage, not a wipe.
// - stop() kills its process group (SIGTERM, then SIGKILL after 5 s) and removes the temp folder
//   unless MESHBRIDGE_PEERS_KEEP is set. kill() stops the process but keeps folder and ports.
// - consulSkipReason(): false when the binary is built, else a reason; throws when CI=true.
// - startCountingProxy(target) forwards every request to `target` and records, per request,
//   its path+query, status, start and end time, so a test can tell blocking calls from polls.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts, logTail, peersCacheDir } from './peers.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The version peers.d/consul.sh builds (its CONSUL_VERSION default, or MESHBRIDGE_CONSUL_VERSION). */
export function consulVersion() {
  if (process.env.MESHBRIDGE_CONSUL_VERSION) return process.env.MESHBRIDGE_CONSUL_VERSION;
  const text = fs.readFileSync(path.join(HERE, 'peers.d', 'consul.sh'), 'utf8');
  const m = /^CONSUL_VERSION=\$\{MESHBRIDGE_CONSUL_VERSION:-([^}]+)\}/m.exec(text);
  if (!m) throw new Error('cannot read CONSUL_VERSION from test-support/peers/peers.d/consul.sh');
  return m[1];
}

export function consulBinary() {
  return path.join(peersCacheDir(), `consul-${consulVersion()}`, 'consul');
}

export function consulAvailable() {
  try {
    return fs.statSync(consulBinary()).size > 0;
  } catch {
    return false;
  }
}

/** false when Consul is built; else the reason to skip. Throws when CI=true (a missing peer fails). */
export function consulSkipReason() {
  if (consulAvailable()) return false;
  const msg = `consul is not built (${consulBinary()}); run bash test-support/peers/peers.d/consul.sh`;
  if (process.env.CI === 'true') throw new Error(msg);
  return msg;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One HTTP call to Consul; resolves {status, headers, text}. */
export function consulRequest(base, method, apiPath, body, opts = {}) {
  const u = new URL(apiPath, base);
  return new Promise((resolve, reject) => {
    const req = http.request(u, { method, agent: false, timeout: opts.timeoutMs ?? 10_000, headers: { 'content-type': 'application/json', ...(opts.token ? { 'x-consul-token': opts.token } : {}) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${apiPath}`)));
    req.on('error', reject);
    if (body !== undefined) req.write(typeof body === 'string' ? body : JSON.stringify(body));
    req.end();
  });
}

async function ok(base, method, apiPath, body, token) {
  const r = await consulRequest(base, method, apiPath, body, { token });
  if (r.status !== 200) throw new Error(`${method} ${apiPath}: HTTP ${r.status}: ${r.text}`);
  return r.text.length > 0 ? JSON.parse(r.text) : undefined;
}

/**
 * Writes a throw-away CA, a server certificate (server.dc1.consul, IP 127.0.0.1) and a client
 * certificate into `dir` with the openssl CLI. Returns the PEM file paths.
 * @param {string} dir
 */
export function makeTlsFiles(dir) {
  const run = (args) => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed (${r.error?.message ?? r.status}): ${r.stderr}`);
  };
  const key = (name) => run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', `${name}.key`]);
  key('ca');
  run(['req', '-x509', '-new', '-key', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=meshbridge-test-ca']);
  const leaf = (name, cn, ext) => {
    key(name);
    run(['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
    fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
    run(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
  };
  leaf('server', 'server.dc1.consul', 'subjectAltName=DNS:server.dc1.consul,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  leaf('client', 'meshbridge', 'extendedKeyUsage=clientAuth\n');
  const p = (f) => path.join(dir, f);
  return { caFile: p('ca.pem'), certFile: p('server.pem'), keyFile: p('server.key'), clientCertFile: p('client.pem'), clientKeyFile: p('client.key') };
}

/**
 * Starts a single Consul server on 127.0.0.1.
 * - `tls: true`: also serves HTTPS (`httpsAddress`) with a throw-away CA (`tls` files), verifying
 *   client certificates there; plain HTTP stays on for the helpers.
 * - `aclToken`: ACLs on with default deny; the token is the initial management token, used by
 *   every helper call. Anonymous calls see nothing.
 * @param {{timeoutMs?: number, tls?: boolean, aclToken?: string}} [opts]
 */
export async function startConsul(opts = {}) {
  const bin = consulBinary();
  if (!consulAvailable()) throw new Error(`consul is not built: ${bin} is missing; run bash test-support/peers/peers.d/consul.sh`);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'meshbridge-consul-'));
  const logFile = path.join(dir, 'consul.log');
  const [httpPort, serfLan, serfWan, serverPort, httpsPort] = await freePorts(5);
  const address = `http://127.0.0.1:${httpPort}`;
  const token = opts.aclToken;
  const tls = opts.tls ? makeTlsFiles(dir) : undefined;
  const hcl = [];
  if (tls) {
    hcl.push(`-hcl=tls { defaults { ca_file = "${tls.caFile}" cert_file = "${tls.certFile}" key_file = "${tls.keyFile}" } https { verify_incoming = true } }`);
  }
  if (token) {
    hcl.push(`-hcl=acl { enabled = true default_policy = "deny" enable_token_persistence = true tokens { initial_management = "${token}" agent = "${token}" } }`);
  }
  const args = [
    'agent', '-server', '-bootstrap-expect=1', `-data-dir=${path.join(dir, 'data')}`, '-node=meshbridge-test', '-datacenter=dc1',
    '-bind=127.0.0.1', '-advertise=127.0.0.1', '-client=127.0.0.1',
    `-http-port=${httpPort}`, `-https-port=${tls ? httpsPort : -1}`, '-dns-port=-1', '-grpc-port=-1', '-grpc-tls-port=-1',
    `-serf-lan-port=${serfLan}`, `-serf-wan-port=${serfWan}`, `-server-port=${serverPort}`,
    '-ui=false', '-log-level=info', '-disable-host-node-id=true',
    '-hcl=performance { raft_multiplier = 1 }',
    '-hcl=limits { http_max_conns_per_client = 400 }',
    ...hcl,
  ];
  /** @type {{child: import('node:child_process').ChildProcess, exited: Promise<unknown>} | undefined} */
  let proc;
  const spawnIt = () => {
    fs.appendFileSync(logFile, `# ${new Date().toISOString()} ${bin} ${args.join(' ')}\n`);
    const fd = fs.openSync(logFile, 'a');
    const child = spawn(bin, args, { cwd: dir, stdio: ['ignore', fd, fd], detached: true, env: { ...process.env, CONSUL_HTTP_ADDR: address } });
    fs.closeSync(fd);
    child.unref();
    const exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (err) => resolve({ code: -1, signal: String(err) }));
    });
    proc = { child, exited };
    return proc;
  };
  const killIt = async () => {
    const p = proc;
    if (p === undefined) return;
    proc = undefined;
    p.child.ref(); // its exit must keep the loop alive while awaited (see peers.mjs makeStop)
    const kill = (sig) => {
      try {
        process.kill(-(p.child.pid ?? 0), sig);
      } catch {
        /* gone */
      }
    };
    if (p.child.exitCode === null && p.child.signalCode === null) kill('SIGTERM');
    const timer = setTimeout(() => kill('SIGKILL'), 5000);
    await p.exited;
    clearTimeout(timer);
  };
  process.once('exit', () => {
    if (proc?.child.pid) try { process.kill(-proc.child.pid, 'SIGKILL'); } catch { /* gone */ }
  });
  const waitUp = async () => {
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    let exit = null;
    void proc?.exited.then((e) => { exit = e; });
    let last = '';
    while (Date.now() < deadline && !exit) {
      try {
        const leader = await consulRequest(address, 'GET', '/v1/status/leader', undefined, { timeoutMs: 2000, token });
        const services = await consulRequest(address, 'GET', '/v1/catalog/services', undefined, { timeoutMs: 2000, token });
        if (leader.status === 200 && /"[^"]+"/.test(leader.text) && services.status === 200 && services.text.includes('"consul"')) return;
        last = `leader ${leader.status} ${leader.text.trim()}, services ${services.status}`;
      } catch (e) {
        last = e instanceof Error ? e.message : String(e);
      }
      await sleep(150);
    }
    const why = exit ? `exited ${JSON.stringify(exit)}` : `not ready (${last})`;
    throw new Error(`consul ${why}; last lines of ${logFile}:\n${logTail(logFile)}`);
  };
  spawnIt();
  try {
    await waitUp();
  } catch (e) {
    await killIt();
    throw e;
  }
  let stopped = false;
  return {
    name: 'consul',
    version: consulVersion(),
    address,
    httpPort,
    /** https://127.0.0.1:PORT when started with tls (client certificate required), else undefined. */
    httpsAddress: tls ? `https://127.0.0.1:${httpsPort}` : undefined,
    tls,
    aclToken: token,
    dir,
    logFile,
    get pid() {
      return proc?.child.pid;
    },
    logTail: (lines) => logTail(logFile, lines),
    /** Stops the process; data folder and ports are kept for restart(). */
    kill: killIt,
    /**
     * Starts it again on the same ports; resolves when it is ready. `wipe: true` starts from an
     * empty data folder (a rebuilt cluster: its X-Consul-Index starts low again).
     * @param {{wipe?: boolean}} [o]
     */
    async restart(o = {}) {
      await killIt();
      if (o.wipe) await fsp.rm(path.join(dir, 'data'), { recursive: true, force: true });
      spawnIt();
      await waitUp();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await killIt();
      if (!process.env.MESHBRIDGE_PEERS_KEEP) await fsp.rm(dir, { recursive: true, force: true, maxRetries: 3 });
      else process.stderr.write(`[consul] kept ${dir}\n`);
    },
    /** PUT /v1/agent/service/register (a Consul service definition, e.g. with Check: {TTL, Status}). */
    register: (def) => ok(address, 'PUT', '/v1/agent/service/register', def, token),
    deregister: (id) => ok(address, 'PUT', `/v1/agent/service/deregister/${encodeURIComponent(id)}`, undefined, token),
    /** PUT /v1/agent/check/{pass,warn,fail}/<check id> (TTL checks). */
    check: (state, checkId) => ok(address, 'PUT', `/v1/agent/check/${state}/${encodeURIComponent(checkId)}`, undefined, token),
    /** GET an API path as JSON. */
    get: (apiPath) => ok(address, 'GET', apiPath, undefined, token),
  };
}

/**
 * A counting HTTP proxy in front of `target` (http://host:port) on a free 127.0.0.1 port.
 * `requests` lists every request: {path, status, start, end} (ms since epoch; end undefined
 * while it is in flight). `paused` = true answers 503 without forwarding (a fake outage).
 */
export async function startCountingProxy(target) {
  const [port] = await freePorts(1);
  /** @type {{path: string, status: number|undefined, start: number, end: number|undefined}[]} */
  const requests = [];
  const state = { paused: false };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1000 });
  const server = http.createServer((req, res) => {
    const rec = { path: req.url ?? '', status: undefined, start: Date.now(), end: undefined };
    requests.push(rec);
    const done = (status) => {
      rec.status = status;
      rec.end = Date.now();
    };
    if (state.paused) {
      res.writeHead(503).end('paused');
      done(503);
      return;
    }
    const u = new URL(req.url ?? '/', target);
    const up = http.request(u, { method: req.method, headers: { ...req.headers, host: u.host }, agent }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
      ur.on('end', () => done(ur.statusCode));
    });
    up.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(e));
      done(502);
    });
    // The client went away before the answer (an aborted blocking call): drop the upstream call.
    res.on('close', () => {
      if (rec.end === undefined) {
        up.destroy();
        done(499);
      }
    });
    req.pipe(up);
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(undefined)));
  return {
    address: `http://127.0.0.1:${port}`,
    requests,
    state,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve(undefined)));
      agent.destroy();
    },
  };
}
