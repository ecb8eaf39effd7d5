// Starts the test Nacos server (built by peers.d/nacos-server.sh) on free loopback ports, waits
// until it answers, and offers its HTTP admin API for registering test instances.
// Every bind is forced to loopback (bind-loopback.so: Nacos binds its gRPC and JRaft ports to the
// wildcard address and has no setting for it). Used by test/nacos/ through test-support/nacos.ts.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { logTail, nonLoopbackSockets } from './peers.mjs';

export const NACOS_VERSION = process.env.NACOS_VERSION ?? '3.1.0-bugfix';

export function nacosDir() {
  const cache = process.env.MESHBRIDGE_PEERS_CACHE ?? path.join(os.homedir(), '.cache', 'meshbridge-peers');
  return path.join(cache, `nacos-server-${NACOS_VERSION}`);
}

export function nacosAvailable() {
  const d = nacosDir();
  return ['classpath.txt', 'bind-loopback.so', 'nacos-test-server.jar'].every((f) => fs.existsSync(path.join(d, f)));
}

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** An HTTP port P whose P-1000 (JRaft), P+1000 (gRPC) and P+1001 (cluster gRPC) are free too. */
async function pickPorts() {
  for (let i = 0; i < 200; i++) {
    const p = 21000 + Math.floor(Math.random() * 8000);
    const all = [p, p - 1000, p + 1000, p + 1001];
    let ok = true;
    for (const q of all) if (!(await portFree(q))) { ok = false; break; }
    if (ok) return p;
  }
  throw new Error('no free port set for Nacos');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @param {{ auth?: {username: string, password: string}, timeoutMs?: number }} [opts]
 */
export async function startNacos(opts = {}) {
  if (!nacosAvailable()) throw new Error(`Nacos test server not built (${nacosDir()}): run test-support/peers/peers.d/nacos-server.sh`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-nacos-'));
  const httpPort = await pickPorts();
  const logFile = path.join(dir, 'server.log');
  const classpath = fs.readFileSync(path.join(nacosDir(), 'classpath.txt'), 'utf8').trim();
  const auth = opts.auth;
  const args = [
    '-Xms128m', '-Xmx512m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC',
    '-Dnacos.standalone=true', `-Dnacos.home=${dir}`, '-Dnacos.server.ip=127.0.0.1', '-Dserver.address=127.0.0.1',
    `-Dserver.port=${httpPort}`, `-Dnacos.server.main.port=${httpPort}`, '-Dnacos.deployment.type=server',
    `-Dnacos.core.auth.enabled=${auth !== undefined}`, `-Dnacos.core.auth.admin.enabled=${auth !== undefined}`,
    '-cp', classpath, 'io.meshbridge.testpeer.NacosTestServer',
  ];
  let child;
  const state = { child: undefined };
  const launch = async () => {
    const out = fs.openSync(logFile, 'a');
    child = spawn('java', args, { cwd: dir, detached: true, stdio: ['ignore', out, out], env: { ...process.env, LD_PRELOAD: path.join(nacosDir(), 'bind-loopback.so') } });
    fs.closeSync(out);
    state.child = child;
    const deadline = Date.now() + (opts.timeoutMs ?? 120000);
    for (;;) {
      if (child.exitCode !== null) throw new Error(`Nacos exited (${child.exitCode}):\n${logTail(logFile)}`);
      if (Date.now() > deadline) throw new Error(`Nacos not ready in time:\n${logTail(logFile)}`);
      try {
        const r = await fetch(`http://127.0.0.1:${httpPort}/nacos/v3/admin/ns/service/list?namespaceId=public&groupNameParam=&pageNo=1&pageSize=1`, { signal: AbortSignal.timeout(2000) });
        if ((r.status === 200 || r.status === 403 || r.status === 401) && (await grpcOpen(httpPort + 1000))) break;
      } catch { /* not yet */ }
      await sleep(300);
    }
  };
  const kill = async () => {
    const c = state.child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ }
    await gone;
  };
  process.once('exit', () => { try { process.kill(-state.child.pid, 'SIGKILL'); } catch { /* gone */ } });
  if (auth !== undefined) {
    // First start with auth: the admin user is created through the API before anyone logs in.
    fs.writeFileSync(path.join(dir, 'auth.txt'), `${auth.username}\n`);
  }
  try {
    await launch();
  } catch (e) {
    await kill();
    throw e;
  }
  const nacos = {
    httpPort,
    grpcPort: httpPort + 1000,
    serverAddr: `127.0.0.1:${httpPort}`,
    dir,
    logFile,
    get pid() { return state.child.pid; },
    logTail: (n) => logTail(logFile, n),
    nonLoopbackSockets: () => nonLoopbackSockets(state.child.pid),
    token: undefined,
    /** Kills the server (its data stays); `start()` brings it back on the same ports and data. */
    kill,
    start: launch,
    async stop() {
      await kill();
      if (process.env.MESHBRIDGE_PEERS_KEEP !== '1') fs.rmSync(dir, { recursive: true, force: true });
    },
    /** Calls the v3 admin API (form body); resolves with `data`, rejects unless code 0. */
    async admin(method, apiPath, params = {}) {
      const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
      const url = `http://127.0.0.1:${httpPort}/nacos/v3/admin/${apiPath}`;
      const headers = nacos.token !== undefined ? { accessToken: nacos.token } : {};
      const r = method === 'GET' || method === 'DELETE'
        ? await fetch(`${url}?${q}`, { method, headers })
        : await fetch(url, { method, headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: q.toString() });
      const text = await r.text();
      let body;
      try { body = JSON.parse(text); } catch { throw new Error(`${method} ${apiPath}: HTTP ${r.status} ${text.slice(0, 300)}`); }
      if (body.code !== 0) throw new Error(`${method} ${apiPath}: ${text.slice(0, 300)}`);
      return body.data;
    },
  };
  return nacos;
}

function grpcOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/**
 * Creates a persistent service whose DEFAULT cluster is not health-checked (so instances stay as
 * registered), unless `healthCheck` is true (then Nacos probes each instance's TCP port).
 */
export async function createService(nacos, { service, group = 'DEFAULT_GROUP', namespace = 'public', healthCheck = false, clusters = ['DEFAULT'] }) {
  await nacos.admin('POST', 'ns/service', { serviceName: service, groupName: group, namespaceId: namespace, protectThreshold: '0', ephemeral: 'false' });
  if (!healthCheck) {
    for (const clusterName of clusters) {
      await nacos.admin('PUT', 'ns/cluster', { serviceName: service, groupName: group, namespaceId: namespace, clusterName, checkPort: '80', useInstancePort4Check: 'true', healthChecker: { type: 'NONE' } });
    }
  }
}

/**
 * Registers (POST) or updates (PUT) one instance: persistent by default (it survives a restart).
 * `ephemeral: true` registers it the way a Nacos client's instance lives: in the server's memory
 * only, so a restart loses it until it is registered again. No heartbeats are sent, so its
 * metadata sets Nacos's heartbeat and delete timeouts to an hour.
 */
export async function putInstance(nacos, inst, method = 'POST') {
  const { service, ip, port, group = 'DEFAULT_GROUP', namespace = 'public', weight = 1, metadata = {}, cluster = 'DEFAULT', enabled = true, ephemeral = false } = inst;
  const keepAlive = ephemeral ? { 'preserved.heart.beat.timeout': '3600000', 'preserved.ip.delete.timeout': '3600000' } : {};
  await nacos.admin(method, 'ns/instance', {
    serviceName: service, groupName: group, namespaceId: namespace, ip, port: String(port), ephemeral: String(ephemeral),
    weight: String(weight), metadata: { ...keepAlive, ...metadata }, clusterName: cluster, enabled: String(enabled),
  });
}

export async function deleteInstance(nacos, { service, ip, port, group = 'DEFAULT_GROUP', namespace = 'public', cluster = 'DEFAULT', ephemeral = false }) {
  await nacos.admin('DELETE', 'ns/instance', { serviceName: service, groupName: group, namespaceId: namespace, ip, port: String(port), ephemeral: String(ephemeral), clusterName: cluster });
}

export async function createNamespace(nacos, id) {
  await nacos.admin('POST', 'core/namespace', { customNamespaceId: id, namespaceId: id, namespaceName: id, namespaceDesc: id });
}
