// Starts real peers for integration tests: etcd, kube-apiserver (with Istio's CRDs) and istiod.
// Plain ESM JavaScript, no build step. The binaries come from test-support/peers/build-peers.sh, which
// caches them in ${MESHBRIDGE_PEERS_CACHE:-$HOME/.cache/meshbridge-peers} by the versions pinned in
// test-support/peers/versions.env.
//
// Contracts:
// - Every peer binds and advertises 127.0.0.1 only, on ports picked free at start.
// - Every start function resolves once the peer answers its readiness check, or rejects after its
//   timeout (or when the process exits first) with an Error whose message ends with the log tail.
// - stop() kills the peer's whole process group (SIGTERM, then SIGKILL after 5 s), is idempotent,
//   and removes the peer's temp folder unless MESHBRIDGE_PEERS_KEEP is set. Peers still running
//   when the Node process exits are killed with SIGKILL.
// - A missing binary: start functions throw. Use peerAvailable()/peersSkipReason() to skip a
//   test; when process.env.CI === 'true', peersSkipReason() throws instead (a missing peer fails).

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import https from 'node:https';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** @returns {Record<string, string>} the KEY=value pairs of test-support/peers/versions.env */
export function peerVersions() {
  const text = fs.readFileSync(path.join(HERE, 'versions.env'), 'utf8');
  /** @type {Record<string, string>} */
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z0-9_]+)=(\S*)\s*$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** @returns {string} the cache root the binaries are built into */
export function peersCacheDir() {
  return process.env.MESHBRIDGE_PEERS_CACHE || path.join(os.homedir(), '.cache', 'meshbridge-peers');
}

const PEER_NAMES = ['etcd', 'kube-apiserver', 'istiod', 'istio-crds'];

/**
 * @param {'etcd'|'kube-apiserver'|'istiod'|'istio-crds'} name
 * @returns {string} absolute path of the peer's binary (or of crd-all.gen.yaml for istio-crds)
 */
export function peerPath(name) {
  const v = peerVersions();
  const root = peersCacheDir();
  switch (name) {
    case 'etcd': return path.join(root, `etcd-${v.ETCD_VERSION}`, 'etcd');
    case 'kube-apiserver': return path.join(root, `kube-apiserver-${v.KUBERNETES_VERSION}`, 'kube-apiserver');
    case 'istiod': return path.join(root, `istiod-${v.ISTIO_LABEL}`, 'pilot-discovery');
    case 'istio-crds': return path.join(root, `istio-crds-${v.ISTIO_LABEL}`, 'crd-all.gen.yaml');
    default: throw new Error(`unknown peer '${String(name)}' (one of ${PEER_NAMES.join(', ')})`);
  }
}

/** @param {'etcd'|'kube-apiserver'|'istiod'|'istio-crds'} name @returns {boolean} */
export function peerAvailable(name) {
  try {
    return fs.statSync(peerPath(name)).size > 0;
  } catch {
    return false;
  }
}

/**
 * For node:test's `skip` option: false when every named peer is built, else a reason string.
 * Throws instead when process.env.CI === 'true': in CI a missing peer is a failure.
 * @param {...('etcd'|'kube-apiserver'|'istiod'|'istio-crds')} names
 * @returns {false|string}
 */
export function peersSkipReason(...names) {
  const missing = names.filter((n) => !peerAvailable(n));
  if (missing.length === 0) return false;
  const msg = `peer(s) not built: ${missing.map((n) => `${n} (${peerPath(n)})`).join(', ')}; run test-support/peers/build-peers.sh`;
  if (process.env.CI === 'true') throw new Error(msg);
  return msg;
}

function requirePeer(name) {
  if (!peerAvailable(name)) {
    throw new Error(`peer '${name}' is not built: ${peerPath(name)} is missing; run test-support/peers/build-peers.sh ${name === 'istio-crds' ? 'istiod' : name}`);
  }
  return peerPath(name);
}

// ---------------------------------------------------------------------------------------------
// Ports, processes, waiting

/**
 * Picks `count` distinct free TCP ports on 127.0.0.1 (all held open until every one is chosen).
 * @param {number} [count]
 * @returns {Promise<number[]>}
 */
export async function freePorts(count = 1) {
  /** @type {net.Server[]} */
  const servers = [];
  try {
    for (let i = 0; i < count; i++) {
      const s = net.createServer();
      await new Promise((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve(undefined));
      });
      servers.push(s);
    }
    return servers.map((s) => /** @type {net.AddressInfo} */ (s.address()).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r(undefined)))));
  }
}

/**
 * Every peer process still running (the registry starters add theirs too): SIGKILLed, with its
 * process group, when Node exits.
 * @type {Set<import('node:child_process').ChildProcess>}
 */
export const running = new Set();
process.once('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

/** Sends `signal` to the process group of `child` (started detached), else to `child`. */
export function killGroup(child, signal) {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try { child.kill(signal); } catch { /* already gone */ }
  }
}

/** @param {string} file @param {number} [lines] @returns {string} */
export function logTail(file, lines = 60) {
  try {
    const text = fs.readFileSync(file, 'utf8');
    const all = text.split('\n');
    const tail = all.slice(-lines - 1);
    // The cause of an exit is often far above a long shutdown log: show the first errors too.
    const first = all.slice(0, -lines - 1).filter((l) => /\b(ERROR|FATAL|Exception|Caused by)\b/.test(l)).slice(0, 12);
    return first.length > 0 ? `first errors:\n${first.join('\n')}\n...\n${tail.join('\n')}` : tail.join('\n');
  } catch (e) {
    return `(no log at ${file}: ${e instanceof Error ? e.message : String(e)})`;
  }
}

/**
 * The TCP sockets a process holds (listening and connected), read from /proc: its fds' socket
 * inodes matched against /proc/<pid>/net/tcp and tcp6. Linux only. For checks that a peer binds
 * and dials only loopback addresses.
 * @param {number} pid
 * @returns {{local: string, remote: string, state: string}[]}
 */
export function peerSockets(pid) {
  const inodes = new Set();
  let fds = [];
  try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch { return []; }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch { /* closed meanwhile */ }
  }
  const states = { '01': 'ESTABLISHED', '02': 'SYN_SENT', '06': 'TIME_WAIT', '08': 'CLOSE_WAIT', '0A': 'LISTEN' };
  const out = [];
  for (const file of ['tcp', 'tcp6']) {
    let text = '';
    try { text = fs.readFileSync(`/proc/${pid}/net/${file}`, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9])) continue;
      out.push({ local: procAddr(f[1]), remote: procAddr(f[2]), state: states[f[3]] ?? f[3] });
    }
  }
  return out;
}

function procAddr(hexPort) {
  const [hex, portHex] = hexPort.split(':');
  const port = parseInt(portHex, 16);
  if (hex.length === 8) {
    const b = Buffer.from(hex, 'hex');
    return `${b[3]}.${b[2]}.${b[1]}.${b[0]}:${port}`;
  }
  // IPv6: four little-endian 32-bit words.
  const words = [];
  for (let i = 0; i < 32; i += 8) {
    const b = Buffer.from(hex.slice(i, i + 8), 'hex');
    words.push(Buffer.from([b[3], b[2], b[1], b[0]]).toString('hex'));
  }
  const full = words.join('');
  if (full === '00000000000000000000ffff' + full.slice(24)) {
    const v4 = Buffer.from(full.slice(24), 'hex');
    return `${v4[0]}.${v4[1]}.${v4[2]}.${v4[3]}:${port}`;
  }
  const groups = full.match(/.{4}/g).map((g) => g.replace(/^0+(?=.)/, ''));
  return `[${groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')}]:${port}`;
}

/**
 * Sockets of `pid` bound to or connected to anything but loopback (127.0.0.0/8, ::1). Empty
 * when the peer keeps to loopback.
 * @param {number} pid
 */
export function nonLoopbackSockets(pid) {
  const loop = (a) => a.startsWith('127.') || a.startsWith('[::1]:');
  return peerSockets(pid).filter((s) => !loop(s.local) || (s.state !== 'LISTEN' && !loop(s.remote)));
}

/**
 * Spawns `bin` in its own process group with stdout+stderr appended to `logFile`.
 * @returns {{child: import('node:child_process').ChildProcess, exited: Promise<{code: number|null, signal: string|null}>}}
 */
function spawnPeer(bin, args, { cwd, env, logFile }) {
  fs.appendFileSync(logFile, `# ${new Date().toISOString()} ${bin} ${args.join(' ')}\n`);
  const fd = fs.openSync(logFile, 'a');
  const child = spawn(bin, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', fd, fd],
    detached: true, // own process group: stop() kills the group
  });
  fs.closeSync(fd);
  running.add(child);
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      running.delete(child);
      fs.appendFileSync(logFile, `# spawn error: ${err.message}\n`);
      resolve({ code: -1, signal: null });
    });
  });
  child.unref();
  return { child, exited };
}

function makeStop(name, child, exited, dir, extra) {
  let stopping;
  return function stop() {
    stopping ??= (async () => {
      // Referenced again while it stops: an unreferenced child whose exit is awaited lets Node's
      // loop run dry once the SIGKILL timer has fired (exit 13, a top-level await never settled).
      child.ref();
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      // The group may hold children that outlived the leader.
      killGroup(child, 'SIGKILL');
      if (extra) await extra();
      if (!process.env.MESHBRIDGE_PEERS_KEEP) {
        await fsp.rm(dir, { recursive: true, force: true, maxRetries: 3 });
      } else {
        process.stderr.write(`[peers] kept ${name} folder ${dir}\n`);
      }
    })();
    return stopping;
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `probe` (resolving truthy when ready) until it succeeds, the process exits, or timeout.
 * On failure rejects with the log tail in the message (and prints it to stderr).
 */
async function waitReady(name, probe, { exited, logFile, timeoutMs, intervalMs = 200 }) {
  const deadline = Date.now() + timeoutMs;
  let exit = null;
  void exited.then((e) => { exit = e; });
  let lastError = '';
  while (Date.now() < deadline) {
    if (exit) break;
    try {
      const r = await probe();
      if (r) return;
      lastError = 'not ready';
    } catch (e) {
      lastError = e instanceof Error ? e.message : String(e);
    }
    await sleep(intervalMs);
  }
  const why = exit
    ? `exited (code ${exit.code}, signal ${exit.signal}) before it was ready`
    : `not ready after ${timeoutMs} ms (last probe: ${lastError})`;
  const tail = logTail(logFile);
  process.stderr.write(`[peers] ${name} ${why}; log ${logFile}:\n${tail}\n`);
  throw new Error(`${name} ${why}; last lines of ${logFile}:\n${tail}`);
}

/**
 * Plain HTTP(S) request. Resolves with status, headers and the body as text.
 * @param {string} url
 * @param {{method?: string, headers?: Record<string,string>, body?: string|Buffer, ca?: string, timeoutMs?: number}} [opts]
 * @returns {Promise<{status: number, headers: import('node:http').IncomingHttpHeaders, text: string}>}
 */
export function httpRequest(url, opts = {}) {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(u, {
      method: opts.method ?? 'GET',
      headers: opts.headers ?? {},
      ...(u.protocol === 'https:' ? (opts.ca ? { ca: opts.ca } : { rejectUnauthorized: false }) : {}),
      timeout: opts.timeoutMs ?? 10000,
      agent: false,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${opts.timeoutMs ?? 10000} ms: ${opts.method ?? 'GET'} ${url}`)));
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

async function newPeerDir(name) {
  return fsp.mkdtemp(path.join(os.tmpdir(), `meshbridge-${name}-`));
}

// ---------------------------------------------------------------------------------------------
// etcd

/**
 * Starts a single-member etcd on 127.0.0.1 with its data in a temp folder.
 * @param {{timeoutMs?: number}} [opts]
 * @returns {Promise<{name: 'etcd', endpoint: string, dir: string, logFile: string, pid: number, logTail: (lines?: number) => string, stop: () => Promise<void>}>}
 */
export async function startEtcd(opts = {}) {
  const bin = requirePeer('etcd');
  const dir = await newPeerDir('etcd');
  const logFile = path.join(dir, 'etcd.log');
  const [clientPort, peerPort] = await freePorts(2);
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const { child, exited } = spawnPeer(bin, [
    '--name=meshbridge-test',
    `--data-dir=${path.join(dir, 'data')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=meshbridge-test=${peer}`,
    '--initial-cluster-state=new',
    '--unsafe-no-fsync=true',
    '--log-level=info',
  ], { cwd: dir, env: {}, logFile });
  const stop = makeStop('etcd', child, exited, dir);
  try {
    await waitReady('etcd', async () => {
      const r = await httpRequest(`${client}/health`, { timeoutMs: 2000 });
      return r.status === 200 && /"health":\s*"true"/.test(r.text);
    }, { exited, logFile, timeoutMs: opts.timeoutMs ?? 30000 });
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    name: 'etcd', endpoint: client, dir, logFile, pid: /** @type {number} */ (child.pid),
    logTail: (lines) => logTail(logFile, lines), stop,
  };
}

// ---------------------------------------------------------------------------------------------
// kube-apiserver

/**
 * @typedef {object} KubeApi
 * @property {string} url          https://127.0.0.1:PORT
 * @property {string} token        bearer token of user 'admin' (group system:masters)
 * @property {{name: string, token: string}} limitedUser  user 'limited' (no groups: RBAC decides)
 * @property {string} ca           PEM of the API server's self-signed serving CA
 * @property {string} caPath
 * @property {string} kubeconfigPath  kubeconfig (JSON) for 'admin' with the CA
 * @property {string} dir
 * @property {string} logFile
 * @property {{endpoint: string, stop: () => Promise<void>}} etcd
 * @property {(lines?: number) => string} logTail
 * @property {() => Promise<void>} stop  stops the API server, then the etcd it started (if any)
 */

/**
 * Starts kube-apiserver on 127.0.0.1 against `opts.etcd` (or an etcd it starts and stops itself).
 * No controllers run (see README). Anonymous requests are refused (401).
 * @param {{authorization?: 'AlwaysAllow'|'RBAC', etcd?: {endpoint: string}, timeoutMs?: number, extraArgs?: string[]}} [opts]
 * @returns {Promise<KubeApi>}
 */
export async function startKubeApiserver(opts = {}) {
  const authorization = opts.authorization ?? 'AlwaysAllow';
  if (authorization !== 'AlwaysAllow' && authorization !== 'RBAC') {
    throw new Error(`authorization must be 'AlwaysAllow' or 'RBAC', not '${authorization}'`);
  }
  const bin = requirePeer('kube-apiserver');
  /** @type {{endpoint: string, stop: () => Promise<void>}} */
  let etcd;
  let ownEtcd = false;
  if (opts.etcd) {
    etcd = { endpoint: opts.etcd.endpoint, pid: opts.etcd.pid, stop: async () => {} };
  } else {
    etcd = await startEtcd();
    ownEtcd = true;
  }
  const dir = await newPeerDir('kube-apiserver');
  const certDir = path.join(dir, 'certs');
  await fsp.mkdir(certDir, { recursive: true });
  const logFile = path.join(dir, 'kube-apiserver.log');

  const { privateKey } = crypto.generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const saKey = path.join(dir, 'sa.key');
  await fsp.writeFile(saKey, privateKey, { mode: 0o600 });
  const token = crypto.randomBytes(24).toString('hex');
  const limitedToken = crypto.randomBytes(24).toString('hex');
  const tokenFile = path.join(dir, 'tokens.csv');
  await fsp.writeFile(tokenFile, `${token},admin,admin,"system:masters"\n${limitedToken},limited,limited\n`, { mode: 0o600 });

  const [port] = await freePorts(1);
  const url = `https://127.0.0.1:${port}`;
  const { child, exited } = spawnPeer(bin, [
    `--etcd-servers=${etcd.endpoint}`,
    `--etcd-prefix=/registry-${crypto.randomBytes(4).toString('hex')}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${certDir}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${saKey}`,
    `--service-account-signing-key-file=${saKey}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    `--authorization-mode=${authorization}`,
    `--token-auth-file=${tokenFile}`,
    '--anonymous-auth=false',
    '--endpoint-reconciler-type=none',
    '--enable-priority-and-fairness=false',
    // No token controller runs, so the ServiceAccount admission plugin would refuse every pod.
    '--disable-admission-plugins=ServiceAccount',
    ...(opts.extraArgs ?? []),
  ], { cwd: dir, env: {}, logFile });

  const stopApi = makeStop('kube-apiserver', child, exited, dir);
  const stop = async () => {
    await stopApi();
    if (ownEtcd) await etcd.stop();
  };
  try {
    await waitReady('kube-apiserver', async () => {
      const r = await httpRequest(`${url}/readyz`, { headers: { Authorization: `Bearer ${token}` }, timeoutMs: 3000 });
      return r.status === 200;
    }, { exited, logFile, timeoutMs: opts.timeoutMs ?? 90000, intervalMs: 300 });
  } catch (e) {
    await stop();
    throw e;
  }

  // The self-signed serving certificate (generated into --cert-dir) chains to a CA written into
  // the same file: that file is the CA bundle to trust.
  const caPath = path.join(certDir, 'apiserver.crt');
  const ca = await fsp.readFile(caPath, 'utf8');
  const kubeconfigPath = path.join(dir, 'kubeconfig');
  await writeKubeconfig({ url, ca }, { token, file: kubeconfigPath, user: 'admin' });

  return {
    url, token, limitedUser: { name: 'limited', token: limitedToken }, ca, caPath, kubeconfigPath,
    authorization, pid: /** @type {number} */ (child.pid),
    dir, logFile, etcd, logTail: (lines) => logTail(logFile, lines), stop,
  };
}

/**
 * A request to the API server as admin (or with `opts.token`). JSON bodies are stringified.
 * @param {{url: string, token: string, ca?: string}} api
 * @param {string} method
 * @param {string} apiPath   e.g. /api/v1/namespaces
 * @param {unknown} [body]
 * @param {{token?: string, contentType?: string}} [opts]
 * @returns {Promise<{status: number, body: any, text: string}>}
 */
export async function kubeRequest(api, method, apiPath, body, opts = {}) {
  /** @type {Record<string,string>} */
  const headers = { Authorization: `Bearer ${opts.token ?? api.token}`, Accept: 'application/json' };
  let payload;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    headers['Content-Type'] = opts.contentType ?? 'application/json';
  }
  const r = await httpRequest(`${api.url}${apiPath}`, {
    method, headers, ...(payload !== undefined ? { body: payload } : {}), ...(api.ca ? { ca: api.ca } : {}),
    timeoutMs: 30000,
  });
  let parsed;
  try { parsed = JSON.parse(r.text); } catch { parsed = undefined; }
  return { status: r.status, body: parsed, text: r.text };
}

/**
 * Writes a kubeconfig (JSON, which every YAML reader accepts) for the API server with a bearer
 * token, trusting the server's CA. Resolves with the file's path.
 * @param {{url: string, ca?: string}} api
 * @param {{token: string, file: string, user?: string}} opts
 * @returns {Promise<string>}
 */
export async function writeKubeconfig(api, opts) {
  const user = opts.user ?? 'user';
  await fsp.writeFile(opts.file, JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: { server: api.url, ...(api.ca ? { 'certificate-authority-data': Buffer.from(api.ca).toString('base64') } : { 'insecure-skip-tls-verify': true }) } }],
    users: [{ name: user, user: { token: opts.token } }],
    contexts: [{ name: 'test', context: { cluster: 'test', user } }],
    'current-context': 'test',
  }, null, 2), { mode: 0o600 });
  return opts.file;
}

/**
 * A real ServiceAccount token from the TokenRequest API (the API server signs it with its
 * --service-account-signing-key-file; no controller is needed). The ServiceAccount must exist.
 * Requests go as admin. The token authenticates as system:serviceaccount:<ns>:<name> with groups
 * system:serviceaccounts and system:serviceaccounts:<ns>.
 * @param {{url: string, token: string, ca?: string}} api
 * @param {string} namespace
 * @param {string} name
 * @param {{expirationSeconds?: number}} [opts]
 * @returns {Promise<string>}
 */
export async function serviceAccountToken(api, namespace, name, opts = {}) {
  const r = await kubeRequest(api, 'POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
    apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: opts.expirationSeconds ?? 3600 },
  });
  if (r.status !== 201 || typeof r.body?.status?.token !== 'string') {
    throw new Error(`TokenRequest for ${namespace}/${name}: HTTP ${r.status}: ${r.text}`);
  }
  return r.body.status.token;
}

/** REST paths of the kinds the tests apply (group/version, plural, namespaced). */
const KIND_PATHS = {
  'v1/Namespace': ['/api/v1', 'namespaces', false],
  'v1/ServiceAccount': ['/api/v1', 'serviceaccounts', true],
  'v1/ConfigMap': ['/api/v1', 'configmaps', true],
  'v1/Secret': ['/api/v1', 'secrets', true],
  'v1/Service': ['/api/v1', 'services', true],
  'rbac.authorization.k8s.io/v1/ClusterRole': ['/apis/rbac.authorization.k8s.io/v1', 'clusterroles', false],
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ['/apis/rbac.authorization.k8s.io/v1', 'clusterrolebindings', false],
  'rbac.authorization.k8s.io/v1/Role': ['/apis/rbac.authorization.k8s.io/v1', 'roles', true],
  'rbac.authorization.k8s.io/v1/RoleBinding': ['/apis/rbac.authorization.k8s.io/v1', 'rolebindings', true],
  'coordination.k8s.io/v1/Lease': ['/apis/coordination.k8s.io/v1', 'leases', true],
  'apiextensions.k8s.io/v1/CustomResourceDefinition': ['/apis/apiextensions.k8s.io/v1', 'customresourcedefinitions', false],
};

/**
 * The REST path of an object: a known core/RBAC kind, or any networking.istio.io/security.istio.io
 * /... kind by its lower-case plural (kind + 's', 'ies' for a trailing 'y').
 * @param {{apiVersion: string, kind: string, metadata: {name: string, namespace?: string}}} obj
 * @param {{withName?: boolean}} [opts]
 */
export function objectPath(obj, opts = {}) {
  const known = KIND_PATHS[`${obj.apiVersion}/${obj.kind}`];
  let base, plural, namespaced;
  if (known) [base, plural, namespaced] = known;
  else {
    const k = obj.kind.toLowerCase();
    base = `/apis/${obj.apiVersion}`;
    plural = k.endsWith('y') ? `${k.slice(0, -1)}ies` : `${k}s`;
    namespaced = true;
  }
  const ns = obj.metadata.namespace;
  if (namespaced && !ns) throw new Error(`${obj.kind}/${obj.metadata.name} needs metadata.namespace`);
  const prefix = namespaced ? `${base}/namespaces/${ns}/${plural}` : `${base}/${plural}`;
  return opts.withName === false ? prefix : `${prefix}/${obj.metadata.name}`;
}

/**
 * Server-side applies every object of a manifest (YAML text with '---' separators, or objects)
 * as admin (or `opts.token`), in order. Resolves with the applied objects as the server returned
 * them; rejects on the first refusal.
 * @param {{url: string, token: string, ca?: string}} api
 * @param {string | object[]} manifest
 * @param {{token?: string, fieldManager?: string}} [opts]
 * @returns {Promise<any[]>}
 */
export async function applyManifest(api, manifest, opts = {}) {
  let objects = manifest;
  if (typeof manifest === 'string') {
    const { parseAllDocuments } = await import('yaml');
    objects = parseAllDocuments(manifest).map((d) => d.toJSON()).filter((o) => o && typeof o === 'object' && o.kind);
  }
  const out = [];
  for (const obj of /** @type {any[]} */ (objects)) {
    const r = await kubeRequest(api, 'PATCH', `${objectPath(obj)}?fieldManager=${opts.fieldManager ?? 'meshbridge-tests'}&force=true`,
      obj, { contentType: 'application/apply-patch+yaml', ...(opts.token ? { token: opts.token } : {}) });
    if (r.status !== 200 && r.status !== 201) throw new Error(`applying ${obj.kind} ${obj.metadata?.namespace ?? ''}/${obj.metadata?.name}: HTTP ${r.status}: ${r.text}`);
    out.push(r.body);
  }
  return out;
}

/**
 * Creates a namespace unless it exists.
 * @param {{url: string, token: string, ca?: string}} api
 * @param {string} name
 */
export async function ensureNamespace(api, name) {
  const r = await kubeRequest(api, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  if (r.status !== 201 && r.status !== 409) throw new Error(`creating namespace ${name}: HTTP ${r.status}: ${r.text}`);
}

/**
 * Applies Istio's CRDs of the pinned release (server-side apply) and waits until each is
 * Established. Resolves with the CRD names.
 * @param {{url: string, token: string, ca?: string}} api
 * @param {{file?: string, timeoutMs?: number}} [opts]
 * @returns {Promise<string[]>}
 */
export async function applyIstioCrds(api, opts = {}) {
  const file = opts.file ?? requirePeer('istio-crds');
  const { parseAllDocuments } = await import('yaml');
  const docs = parseAllDocuments(await fsp.readFile(file, 'utf8'))
    .map((d) => d.toJSON())
    .filter((o) => o && o.kind === 'CustomResourceDefinition');
  if (docs.length === 0) throw new Error(`no CustomResourceDefinition in ${file}`);
  const names = [];
  for (const crd of docs) {
    const name = crd.metadata.name;
    const r = await kubeRequest(api, 'PATCH',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}?fieldManager=meshbridge-tests&force=true`,
      crd, { contentType: 'application/apply-patch+yaml' });
    if (r.status !== 200 && r.status !== 201) throw new Error(`applying CRD ${name}: HTTP ${r.status}: ${r.text}`);
    names.push(name);
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 60000);
  let pending = [...names];
  while (pending.length > 0) {
    const still = [];
    for (const name of pending) {
      const r = await kubeRequest(api, 'GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
      const conds = r.body?.status?.conditions ?? [];
      if (!conds.some((c) => c.type === 'Established' && c.status === 'True')) still.push(name);
    }
    pending = still;
    if (pending.length === 0) break;
    if (Date.now() > deadline) throw new Error(`CRDs not Established in time: ${pending.join(', ')}`);
    await sleep(250);
  }
  return names;
}

// ---------------------------------------------------------------------------------------------
// istiod

/**
 * @typedef {object} Istiod
 * @property {string} httpUrl        http://127.0.0.1:P (--httpAddr): /ready, /debug/registryz, ...
 * @property {string} monitoringUrl  http://127.0.0.1:P (--monitoringAddr): /metrics, /debug/...
 * @property {string} grpcAddress    127.0.0.1:P plaintext xDS (--grpcAddr)
 * @property {Record<string, number>} ports
 * @property {string} meshConfigPath
 * @property {string} dir
 * @property {string} logFile
 * @property {(lines?: number) => string} logTail
 * @property {() => boolean} running
 * @property {() => Promise<void>} stop
 */

/**
 * Starts pilot-discovery.
 * - {mode: 'kubernetes', kubeconfig}: reads Kubernetes (and Istio CRDs) through the kubeconfig;
 *   creates the istio-system namespace first when the kubeconfig is one startKubeApiserver wrote
 *   (or pass `api`).
 * - {mode: 'mcp', xdsAddress: 'host:port'}: no Kubernetes (--registries= empty), config from an
 *   MCP-over-xDS server through meshConfig.configSources. Istio 1.30+/1.31-dev panics in this mode
 *   (nil multicluster controller, see README); add `kubeconfig` (and `api`) for the hybrid: config
 *   only from MCP (configSources has no k8s://), services and pods from that API server.
 * waitReady (default true): resolve only when /ready answers 200. With false, resolve once the
 * HTTP port answers at all (istiod in MCP mode is not ready before its MCP server answered).
 * @param {({mode: 'kubernetes', kubeconfig: string, api?: {url: string, token: string, ca?: string}} | {mode: 'mcp', xdsAddress: string, kubeconfig?: string, api?: {url: string, token: string, ca?: string}}) & {waitReady?: boolean, timeoutMs?: number, logLevel?: string, extraArgs?: string[], env?: Record<string,string>, meshConfig?: string}} opts
 * @returns {Promise<Istiod>}
 */
export async function startIstiod(opts) {
  const bin = requirePeer('istiod');
  if (!opts || (opts.mode !== 'kubernetes' && opts.mode !== 'mcp')) {
    throw new Error("startIstiod: opts.mode must be 'kubernetes' or 'mcp'");
  }
  const dir = await newPeerDir('istiod');
  const logFile = path.join(dir, 'istiod.log');
  const [grpc, http_, monitoring, secureGrpc, https_, ctrlz] = await freePorts(6);
  const ports = { grpc, http: http_, monitoring, secureGrpc, https: https_, ctrlz };

  let mesh;
  const args = ['discovery'];
  if (opts.mode === 'kubernetes' && !opts.kubeconfig) throw new Error("startIstiod: mode 'kubernetes' needs kubeconfig");
  if (opts.mode === 'mcp' && !opts.xdsAddress) throw new Error("startIstiod: mode 'mcp' needs xdsAddress (host:port)");
  if (opts.kubeconfig) {
    let api = opts.api;
    if (!api) {
      try {
        const kc = JSON.parse(await fsp.readFile(opts.kubeconfig, 'utf8'));
        const c = kc.clusters?.[0]?.cluster;
        const u = kc.users?.[0]?.user;
        if (c?.server && u?.token) {
          api = { url: c.server, token: u.token, ...(c['certificate-authority-data'] ? { ca: Buffer.from(c['certificate-authority-data'], 'base64').toString('utf8') } : {}) };
        }
      } catch { /* not one of ours (YAML): the caller creates istio-system */ }
    }
    if (api) await ensureNamespace(api, 'istio-system');
    args.push(`--kubeconfig=${opts.kubeconfig}`, '--registries=Kubernetes');
  } else {
    args.push('--registries=');
  }
  mesh = opts.meshConfig ?? (opts.mode === 'kubernetes'
    ? 'configSources:\n- address: k8s://\n'
    : `configSources:\n- address: xds://${opts.xdsAddress}\n`);
  const meshConfigPath = path.join(dir, 'mesh.yaml');
  await fsp.writeFile(meshConfigPath, mesh);
  args.push(
    `--meshConfig=${meshConfigPath}`,
    `--networksConfig=${path.join(dir, 'meshNetworks.yaml')}`,
    `--grpcAddr=127.0.0.1:${grpc}`,
    `--httpAddr=127.0.0.1:${http_}`,
    `--monitoringAddr=127.0.0.1:${monitoring}`,
    `--secureGRPCAddr=127.0.0.1:${secureGrpc}`,
    `--httpsAddr=127.0.0.1:${https_}`,
    `--ctrlz_port=${ctrlz}`,
    '--ctrlz_address=127.0.0.1',
    '--domain=cluster.local',
    `--log_output_level=${opts.logLevel ?? 'default:info'}`,
    ...(opts.extraArgs ?? []),
  );
  await fsp.writeFile(path.join(dir, 'meshNetworks.yaml'), 'networks: {}\n');

  const env = {
    POD_NAMESPACE: 'istio-system',
    POD_NAME: 'istiod-test',
    REVISION: 'default',
    CLUSTER_ID: 'Kubernetes',
    JWT_POLICY: 'first-party-jwt',
    PILOT_CERT_PROVIDER: 'istiod',
    // No webhooks to patch in these tests.
    INJECTION_WEBHOOK_CONFIG_NAME: '',
    VALIDATION_WEBHOOK_CONFIG_NAME: '',
    ISTIOD_CUSTOM_HOST: '127.0.0.1',
    ...(opts.env ?? {}),
  };
  const { child, exited } = spawnPeer(bin, args, { cwd: dir, env, logFile });
  let alive = true;
  void exited.then(() => { alive = false; });
  const stop = makeStop('istiod', child, exited, dir);
  const httpUrl = `http://127.0.0.1:${http_}`;
  try {
    const needReady = opts.waitReady ?? true;
    await waitReady('istiod', async () => {
      const r = await httpRequest(`${httpUrl}/ready`, { timeoutMs: 2000 });
      return needReady ? r.status === 200 : r.status > 0;
    }, { exited, logFile, timeoutMs: opts.timeoutMs ?? 90000, intervalMs: 300 });
  } catch (e) {
    await stop();
    throw e;
  }
  const istiod = {
    mode: opts.mode, kubernetes: Boolean(opts.kubeconfig),
    httpUrl, monitoringUrl: `http://127.0.0.1:${monitoring}`, grpcAddress: `127.0.0.1:${grpc}`, ports,
    pid: /** @type {number} */ (child.pid),
    meshConfigPath, dir, logFile, logTail: (lines) => logTail(logFile, lines), running: () => alive, stop,
    /** @param {string} what e.g. 'configz', 'registryz' */
    debug: (what) => istiodDebug(istiod, what),
  };
  return istiod;
}

/**
 * Reads one of istiod's debug endpoints (/debug/configz, /debug/registryz, /debug/endpointz, ...)
 * from its HTTP port and parses the JSON. Rejects on a non-200 answer or a body that is not JSON.
 * @param {{httpUrl: string}} istiod
 * @param {string} what
 * @returns {Promise<any>}
 */
export async function istiodDebug(istiod, what) {
  const r = await httpRequest(`${istiod.httpUrl}/debug/${what.replace(/^\/?(debug\/)?/, '')}`, { timeoutMs: 10000 });
  if (r.status !== 200) throw new Error(`istiod /debug/${what}: HTTP ${r.status}: ${r.text.slice(0, 500)}`);
  try {
    return JSON.parse(r.text);
  } catch {
    throw new Error(`istiod /debug/${what}: not JSON: ${r.text.slice(0, 500)}`);
  }
}

/** configz: the Istio config istiod holds (each with kind, name, namespace, spec, ...). */
export const istiodConfigz = (istiod) => istiodDebug(istiod, 'configz');
/** registryz: the services istiod's registries hold (each with hostname, ports, ...). */
export const istiodRegistryz = (istiod) => istiodDebug(istiod, 'registryz');

// ---------------------------------------------------------------------------------------------
// A stand-in MCP server

/**
 * A stand-in MCP-over-xDS server that holds no config: it answers the first request of every type
 * on each ADS stream with an empty state-of-the-world DiscoveryResponse{version_info, type_url,
 * nonce} (so istiod can finish starting) and records what istiod asked for. Hand-encoded with
 * protobufjs, no .proto files. For checking istiod's MCP client; Meshbridge's real server is
 * src/sinks/xds. Binds 127.0.0.1 on a free port.
 * `withhold(typeUrl)` true: that type is not answered until `answerWithheld()` (istiod is not
 * ready before every requested type was answered once).
 * @param {{withhold?: (typeUrl: string) => boolean}} [opts]
 * @returns {Promise<{address: string, requests: {typeUrl: string, nonce: string, versionInfo: string}[], streams: () => number, answerWithheld: () => number, stop: () => Promise<void>}>}
 */
export async function startEmptyMcpServer(opts = {}) {
  const grpc = await import('@grpc/grpc-js');
  const { default: protobuf } = await import('protobufjs');
  const server = new grpc.Server();
  const requests = [];
  let streams = 0;
  let released = false;
  /** @type {(() => void)[]} */
  const withheld = [];
  // envoy.service.discovery.v3.DiscoveryRequest: version_info 1, type_url 4, response_nonce 5.
  const decodeRequest = (buf) => {
    const r = protobuf.Reader.create(buf);
    const out = { typeUrl: '', nonce: '', versionInfo: '' };
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag >>> 3 === 1) out.versionInfo = r.string();
      else if (tag >>> 3 === 4) out.typeUrl = r.string();
      else if (tag >>> 3 === 5) out.nonce = r.string();
      else r.skipType(tag & 7);
    }
    return out;
  };
  // DiscoveryResponse: version_info 1, type_url 4, nonce 5.
  const encodeResponse = (res) => {
    const w = protobuf.Writer.create();
    w.uint32((1 << 3) | 2).string(res.version);
    w.uint32((4 << 3) | 2).string(res.typeUrl);
    w.uint32((5 << 3) | 2).string(res.nonce);
    return Buffer.from(w.finish());
  };
  let n = 0;
  server.register('/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources', (call) => {
    streams++;
    const answered = new Set();
    call.on('data', (req) => {
      requests.push(req);
      if (answered.has(req.typeUrl)) return; // an ACK
      answered.add(req.typeUrl);
      if (opts.withhold?.(req.typeUrl) && !released) {
        withheld.push(() => call.write({ version: 'empty', typeUrl: req.typeUrl, nonce: String(++n) }));
        return;
      }
      call.write({ version: 'empty', typeUrl: req.typeUrl, nonce: String(++n) });
    });
    call.on('end', () => call.end());
    call.on('error', () => {});
  }, encodeResponse, decodeRequest, 'bidi');
  const port = await new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return {
    address: `127.0.0.1:${port}`, requests, streams: () => streams,
    answerWithheld: () => {
      released = true;
      const k = withheld.length;
      for (const answer of withheld.splice(0)) answer();
      return k;
    },
    stop: () => new Promise((r) => server.tryShutdown(() => r(undefined))).then(() => server.forceShutdown()),
  };
}
