// Starts the real peers of test/zookeeper: a ZooKeeper server (Debian's zookeeper package, run by
// hand with java), a real Apache Dubbo 3.3 provider (test-support/peers/dubbo-provider, built by
// peers.d/dubbo-provider.sh), and a TCP proxy to cut one client off ZooKeeper (outages and session
// expiry of that client only). Plain ESM, no build step; typed by test-support/zookeeper.ts.
//
// Contracts:
// - ZooKeeper binds 127.0.0.1 on a free port (admin server off). Dubbo 3.3 refuses every 127.x
//   address for binding and registering (NetUtils.isInvalidLocalHost), so the provider binds and
//   registers the IPv6 loopback ::1 (DUBBO_IP_TO_BIND=::1): loopback only, never 0.0.0.0.
// - Start functions resolve once the peer is ready (ZooKeeper answers `ruok` with `imok`; the
//   provider printed MESHBRIDGE-PROVIDER-READY after registering) or reject with the log tail.
// - stop() is idempotent, SIGTERMs (then SIGKILLs after 10 s) and removes the temp folder unless
//   MESHBRIDGE_PEERS_KEEP is set. Peers still running when Node exits are SIGKILLed.

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts, logTail } from './peers.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CACHE = process.env.MESHBRIDGE_PEERS_CACHE || path.join(os.homedir(), '.cache', 'meshbridge-peers');
const live = new Set();
process.on('exit', () => {
  for (const child of live) try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
});

/** @returns {string | undefined} the ZooKeeper classpath written by peers.d/zookeeper.sh */
function zookeeperClasspath() {
  if (!fs.existsSync('/usr/share/java/zookeeper.jar')) return undefined;
  const dirs = fs.existsSync(CACHE) ? fs.readdirSync(CACHE).filter((d) => d.startsWith('zookeeper-')) : [];
  for (const d of dirs.sort().reverse()) {
    const f = path.join(CACHE, d, 'classpath.txt');
    if (fs.existsSync(f)) return fs.readFileSync(f, 'utf8').trim();
  }
  return undefined;
}

/** @returns {string | undefined} the folder of the provider build matching the current source */
export function dubboProviderDir() {
  const pom = fs.readFileSync(path.join(HERE, 'dubbo-provider', 'pom.xml'), 'utf8');
  const version = /<dubbo.version>(.*)<\/dubbo.version>/.exec(pom)?.[1];
  // Same label as peers.d/dubbo-provider.sh: dubbo<version>-<hash of the source files>.
  let hash;
  try {
    hash = execFileSync('bash', ['-c', "find . -type f ! -path './target/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-10"], {
      cwd: path.join(HERE, 'dubbo-provider'),
      encoding: 'utf8',
    }).trim();
  } catch {
    return undefined;
  }
  const dir = path.join(CACHE, `dubbo-provider-dubbo${version}-${hash}`);
  return fs.existsSync(path.join(dir, 'dubbo-provider.jar')) && fs.existsSync(path.join(dir, 'lib')) ? dir : undefined;
}

function ipv6Loopback() {
  try {
    return fs.readFileSync('/proc/net/if_inet6', 'utf8').split('\n').some((l) => l.startsWith('00000000000000000000000000000001'));
  } catch {
    return false;
  }
}

/**
 * @param {'zookeeper' | 'dubbo-provider'} name
 * @returns {string | undefined} why the peer cannot run here, or undefined when it can
 */
export function zookeeperPeerMissing(name) {
  if (name === 'zookeeper') return zookeeperClasspath() === undefined ? 'ZooKeeper not installed: run test-support/peers/peers.d/zookeeper.sh' : undefined;
  if (!ipv6Loopback()) return 'no IPv6 loopback (::1): the Dubbo provider binds ::1 because Dubbo refuses 127.x';
  return dubboProviderDir() === undefined ? 'Dubbo provider not built for the current source: run test-support/peers/peers.d/dubbo-provider.sh' : undefined;
}

function spawnLogged(cmd, args, opts) {
  const out = fs.openSync(opts.logFile, 'a');
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', out, out], detached: true });
  fs.closeSync(out);
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

async function kill(child, signal = 'SIGTERM', graceMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  try { process.kill(-child.pid, signal); } catch { return; }
  const t = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, graceMs);
  await exited;
  clearTimeout(t);
}

/** @returns {Promise<string>} the 4lw answer of ZooKeeper at port */
export function fourLetter(port, cmd) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.end(cmd));
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d) => { out += d; });
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.setTimeout(2000, () => { s.destroy(); reject(new Error('4lw timeout')); });
  });
}

/**
 * Starts ZooKeeper on a free loopback port. `restart()` stops it and starts it again on the same
 * port and data folder (sessions and ephemeral nodes survive, as after a real restart).
 */
export async function startZookeeper(opts = {}) {
  const cp = zookeeperClasspath();
  if (cp === undefined) throw new Error('ZooKeeper is not installed: run test-support/peers/peers.d/zookeeper.sh');
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mb-zk-'));
  const [port] = await freePorts(1);
  const logFile = path.join(dir, 'zookeeper.log');
  const cfg = path.join(dir, 'zoo.cfg');
  await fsp.mkdir(path.join(dir, 'data'));
  await fsp.writeFile(cfg, [
    `dataDir=${path.join(dir, 'data')}`,
    `clientPort=${port}`,
    'clientPortAddress=127.0.0.1',
    'admin.enableServer=false',
    '4lw.commands.whitelist=ruok,srvr,stat,mntr,cons,wchs',
    `tickTime=${opts.tickTime ?? 500}`,
    'minSessionTimeout=1000',
    'maxSessionTimeout=60000',
    'maxClientCnxns=0',
    ...(opts.superDigest ? [] : []),
    '',
  ].join('\n'));
  const extra = opts.superDigest ? [`-Dzookeeper.DigestAuthenticationProvider.superDigest=${opts.superDigest}`] : [];
  let child;
  const launch = async () => {
    child = spawnLogged('java', ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-Dzookeeper.root.logger=INFO,CONSOLE', '-Dzookeeper.jmx.log4j.disable=true', ...extra, '-cp', cp, 'org.apache.zookeeper.server.ZooKeeperServerMain', cfg], {
      cwd: dir,
      env: { ...process.env },
      logFile,
    });
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    for (;;) {
      if (child.exitCode !== null) throw new Error(`ZooKeeper exited with ${child.exitCode}:\n${logTail(logFile)}`);
      try {
        if ((await fourLetter(port, 'ruok')) === 'imok') return;
      } catch { /* not yet */ }
      if (Date.now() > deadline) throw new Error(`ZooKeeper not ready on 127.0.0.1:${port}:\n${logTail(logFile)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await launch();
  let stopped = false;
  return {
    port,
    connectString: `127.0.0.1:${port}`,
    get pid() { return child.pid; },
    dir,
    logFile,
    logTail: (n) => logTail(logFile, n),
    fourLetter: (cmd) => fourLetter(port, cmd),
    /** Stops the server, keeping its data. */
    async halt() { await kill(child); },
    /** Starts a halted server again on the same port and data. */
    async resume() { await launch(); },
    async restart() { await kill(child); await launch(); },
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill(child);
      if (!process.env.MESHBRIDGE_PEERS_KEEP) await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts the real Dubbo provider: `services` are `interface[:group[:version]]`; `triPort` 0 = dubbo
 * only; `references` (same form) are consumed by the application (Dubbo registers them under
 * /dubbo/<interface>/consumers). Resolves once every service is exported and registered
 * (interface and application level) and every reference is referred.
 */
export async function startDubboProvider(opts) {
  const home = dubboProviderDir();
  if (home === undefined) throw new Error('Dubbo provider not built: run test-support/peers/peers.d/dubbo-provider.sh');
  try {
    return await startDubboProviderOnce(opts, home);
  } catch (e) {
    // Ports come from freePorts(): on a busy machine another process can take one before the JVM
    // binds it, and the provider exits 1. With ports of our own choosing, try once more.
    const msg = e instanceof Error ? e.message : String(e);
    if (opts.dubboPort !== undefined || opts.triPort !== undefined || !msg.startsWith('Dubbo provider exited')) throw e;
    process.stderr.write(`startDubboProvider: retrying once after: ${msg.split('\n')[0]}\n`);
    return startDubboProviderOnce(opts, home);
  }
}

async function startDubboProviderOnce(opts, home) {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mb-dubbo-'));
  const [p1, p2] = await freePorts(2);
  const dubboPort = opts.dubboPort ?? p1;
  const triPort = opts.triPort ?? p2;
  const logFile = path.join(dir, 'provider.log');
  const services = (opts.services ?? ['org.apache.dubbo.demo.DemoService']).join(',');
  const references = (opts.references ?? []).join(',');
  const child = spawnLogged('java', [
    '-Xmx200m', '-XX:TieredStopAtLevel=1', `-Duser.home=${dir}`,
    `-Dzk=${opts.zk}`, `-Dapp=${opts.app ?? 'meshbridge-demo-provider'}`, `-DdubboPort=${dubboPort}`, `-DtriPort=${triPort}`, `-Dservices=${services}`, `-Dreferences=${references}`,
    '-Ddubbo.application.qos-enable=false',
    '-cp', `${path.join(home, 'dubbo-provider.jar')}:${path.join(home, 'lib')}/*`, 'io.meshbridge.testpeer.DubboProvider',
  ], { cwd: dir, env: { ...process.env, DUBBO_IP_TO_BIND: '::1' }, logFile });
  const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
  for (;;) {
    const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
    if (log.includes('MESHBRIDGE-PROVIDER-READY')) break;
    if (child.exitCode !== null) throw new Error(`Dubbo provider exited with ${child.exitCode}:\n${logTail(logFile)}`);
    if (Date.now() > deadline) { await kill(child, 'SIGKILL'); throw new Error(`Dubbo provider not ready:\n${logTail(logFile)}`); }
    await new Promise((r) => setTimeout(r, 200));
  }
  let stopped = false;
  return {
    pid: child.pid,
    dubboPort,
    triPort,
    address: '::1',
    dir,
    logFile,
    logTail: (n) => logTail(logFile, n),
    /** SIGTERM: Dubbo unregisters, then exits; SIGKILL leaves the ephemeral nodes to session expiry. */
    async stop(signal = 'SIGTERM') {
      if (stopped) return;
      stopped = true;
      await kill(child, signal);
      if (!process.env.MESHBRIDGE_PEERS_KEEP) await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A TCP proxy on a free loopback port to `target` port. `block()` drops every connection and
 * blackholes new ones (accepted, never forwarded) until `unblock()`: the client behind it sees an
 * outage while everyone else keeps talking to the server.
 */
export async function startTcpProxy(targetPort) {
  const sockets = new Set();
  let blocked = false;
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    if (blocked) return; // held open, nothing forwarded: like a partition
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    sockets.add(upstream);
    upstream.on('close', () => { sockets.delete(upstream); client.destroy(); });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    port,
    connectString: `127.0.0.1:${port}`,
    block() {
      blocked = true;
      for (const s of sockets) s.destroy();
    },
    unblock() {
      blocked = false;
      for (const s of sockets) s.destroy(); // held connections reset, as when a partition heals
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
